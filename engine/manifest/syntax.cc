#include "manifest/syntax.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include <cstdint>
#include <map>
#include <sstream>

#include "manifest/limits.h"
#include "manifest/scalar.h"

namespace otaroll::manifest {
using core::Diagnostic;

namespace {

// One pass over a file's YAML events, before any node is built, that stops at
// the first of:
//   - more values than kMaxExpandedValues once every alias (*name) is
//     expanded (a few hundred bytes of nested aliases expand to billions);
//   - more than kMaxDocuments documents;
//   - a parser that makes no progress: yaml-cpp 0.7 yields empty documents
//     at the same place forever on a ',' outside [...] or {...} (upstream
//     issue 1040), and YAML::LoadAll then allocates until memory runs out.
class StructureCheck : public YAML::EventHandler {
 public:
  std::optional<StructureProblem> problem;
  struct Stop {};

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > kMaxDocuments) {
      Fail(mark, fmt::format("more than {} YAML documents in one file; split it into several files", kMaxDocuments));
    }
    events_ = 0;
    null_at_.reset();
  }
  void OnDocumentEnd() override {
    if (events_ == 1 && null_at_) {
      if (last_empty_ && last_empty_->pos == null_at_->pos) {
        Fail(*null_at_, "invalid YAML: unexpected ',' (commas separate items only inside [...] or {...})");
      }
      last_empty_ = null_at_;
    } else {
      last_empty_.reset();
    }
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (events_ == 0) null_at_ = mark;
    Value(mark, anchor, 1);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = sizes_.find(anchor);
    Value(mark, 0, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string&) override {
    Value(mark, anchor, 1);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor, false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor, true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    uint64_t size;
    bool map;
    YAML::Mark mark;
    uint64_t children = 0;  // direct children (a mapping counts keys and values)
  };
  void Fail(const YAML::Mark& mark, std::string message) {
    problem = StructureProblem{mark, std::move(message)};
    throw Stop{};
  }
  void Value(const YAML::Mark& mark, YAML::anchor_t anchor, uint64_t size) {
    if (anchor != 0) sizes_[anchor] = size;
    Add(mark, size);
  }
  void Add(const YAML::Mark& mark, uint64_t size) {
    ++events_;
    total_ += size;
    if (!open_.empty()) {
      Frame& f = open_.back();
      f.size += size;
      // No list or mapping of a manifest may be longer than the longest one
      // allowed (devices); found here, before any node is built.
      const uint64_t items = f.map ? (++f.children + 1) / 2 : ++f.children;
      if (items > kMaxCollectionItems) {
        Fail(f.mark, fmt::format("a {} of more than {} items; no list or mapping of a manifest may be that long "
                                 "(devices: {}, stages: {}, labels: {})",
                                 f.map ? "mapping" : "list", kMaxCollectionItems, kMaxDevices, kMaxStages, kMaxLabels));
      }
    }
    if (total_ > kMaxExpandedValues) {
      Fail(mark, fmt::format("with its aliases (*name) expanded, the file holds more than {} values; write the values "
                             "out instead of nesting aliases",
                             kMaxExpandedValues));
    }
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor, bool map) {
    Add(mark, 1);
    open_.push_back(Frame{anchor, 1, map, mark});
  }
  void Close() {
    if (open_.empty()) return;
    Frame f = open_.back();
    open_.pop_back();
    if (f.anchor != 0) sizes_[f.anchor] = f.size;
    if (!open_.empty()) open_.back().size += f.size - 1;  // its own 1 was added when it opened
  }

  std::map<YAML::anchor_t, uint64_t> sizes_;
  std::vector<Frame> open_;
  uint64_t total_ = 0;
  size_t documents_ = 0;
  size_t events_ = 0;                     // values and collections of the current document
  std::optional<YAML::Mark> null_at_;     // the current document is a lone null here
  std::optional<YAML::Mark> last_empty_;  // the previous document was a lone null here
};

}  // namespace

Position PositionOf(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return Position{file, 0, 0};
  return Position{file, mark.line + 1, mark.column + 1};
}

Diagnostic DiagnosticAt(const Position& p, std::string field, std::string message) {
  return Diagnostic{p.file, p.line, p.column, std::move(field), std::move(message)};
}

// Manifests are UTF-8 text: no invalid byte sequences and no control
// characters but tab, line feed and carriage return (comments included).
// Returns the first offending place, if any.
std::optional<Diagnostic> CheckText(std::string_view text, const std::string& file) {
  int line = 1, column = 1;
  size_t i = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // a byte-order mark is fine
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0x80) {
      len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      bool ok = len != 0 && i + len <= text.size();
      cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
      for (size_t k = 1; ok && k < len; ++k) {
        unsigned char cc = static_cast<unsigned char>(text[i + k]);
        ok = (cc & 0xC0) == 0x80;
        cp = (cp << 6) | (cc & 0x3F);
      }
      // no overlong forms, surrogates or values past U+10FFFF
      ok = ok && !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
           !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
      if (!ok) {
        return Diagnostic{file, line, column, "",
                          fmt::format("invalid UTF-8 (byte 0x{:02X}); save the manifest as UTF-8 text", c)};
      }
    }
    bool control = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7F && cp <= 0x9F) ||
                   cp == 0xFFFE || cp == 0xFFFF;
    if (control) {
      return Diagnostic{file, line, column, "",
                        fmt::format("control character U+{:04X}; remove it (only tab, line feed and carriage "
                                    "return are allowed)",
                                    cp)};
    }
    if (cp == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return std::nullopt;
}

// Only the YAML core schema's tags are understood; any other tag (!env,
// !!binary, ...) would change meaning in a way otaroll cannot honour.
// Also bounds the nesting: no manifest needs more than a few levels. Returns
// false when the nesting is too deep (nothing more is looked at).
bool CheckTags(const YAML::Node& node, const std::string& file, std::vector<Diagnostic>& errors, size_t depth) {
  const std::string& tag = node.Tag();
  const std::string core = "tag:yaml.org,2002:";
  auto report = [&](const std::string& why) {
    errors.push_back(DiagnosticAt(PositionOf(file, node.Mark()), "", why));
    return false;
  };
  if (depth > kMaxDepth && (node.IsMap() || node.IsSequence())) {
    return report(fmt::format("nested more than {} levels deep; manifests need far fewer: flatten it", kMaxDepth));
  }
  if (!tag.empty() && tag != "?" && tag != "!") {
    std::string shown = tag.rfind(core, 0) == 0 ? "!!" + tag.substr(core.size()) : tag;
    std::string name = tag.rfind(core, 0) == 0 ? tag.substr(core.size()) : "";
    bool fits = false;
    if (node.IsScalar()) {
      YAML::Node plain(node.Scalar());  // the value typed as if untagged
      plain.SetTag("?");
      Kind k = Classify(plain).kind;
      fits = name == "str" || (name == "int" && k == Kind::kInt) ||
             (name == "float" && (k == Kind::kInt || k == Kind::kFloat)) || (name == "bool" && k == Kind::kBool) ||
             (name == "null" && k == Kind::kNull);
    } else if (node.IsSequence()) {
      fits = name == "seq";
    } else if (node.IsMap()) {
      fits = name == "map";
    }
    if (!fits) {
      report(name.empty() || name == "binary" || name == "set" || name == "omap" || name == "timestamp"
                 ? fmt::format("unsupported YAML tag {}; remove it (manifests use plain YAML values)", shown)
                 : fmt::format("the value does not fit its tag {}; remove the tag or fix the value", shown));
      return true;  // its children are not looked at; the siblings are
    }
  }
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!CheckTags(item, file, errors, depth + 1)) return false;
    }
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!CheckTags(it->first, file, errors, depth + 1) || !CheckTags(it->second, file, errors, depth + 1)) {
        return false;
      }
    }
  }
  return true;
}

std::optional<StructureProblem> CheckStructure(std::string_view text) {
  std::istringstream in{std::string(text)};
  StructureCheck check;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(check)) {
    }
  } catch (const StructureCheck::Stop&) {
  } catch (const YAML::DeepRecursion& e) {
    return StructureProblem{
        e.mark, fmt::format("nested more than {} levels deep; manifests need far fewer: flatten it", kMaxDepth)};
  } catch (const YAML::Exception&) {
    // A syntax error is reported by the real parse, with its position.
  }
  return check.problem;
}

}  // namespace otaroll::manifest
