#include "manifest/syntax.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <cstdint>
#include <sstream>
#include <string>

#include "core/escape.h"
#include "manifest/limits.h"
#include "manifest/scalar.h"

namespace otaroll::manifest {
using core::Diagnostic;

namespace {

std::string TooDeep() {
  return fmt::format("nested more than {} levels deep; manifests need far fewer: flatten it", kMaxDepth);
}

// One pass over a file's YAML events that builds its documents (node.h)
// and stops at the first of:
//   - more values than kMaxExpandedValues once every alias (*name) is
//     expanded (a few hundred bytes of nested aliases expand to billions);
//   - a list or mapping of more than kMaxCollectionItems items;
//   - more than kMaxDocuments documents;
//   - a parser that makes no progress: yaml-cpp 0.7 yields empty documents
//     at the same place forever on a ',' outside [...] or {...} (upstream
//     issue 1040), and would allocate until memory runs out.
// The nodes are the ones yaml-cpp's own NodeBuilder would make of the same
// events: an anchor names its node from the moment the node opens.
class Builder : public YAML::EventHandler {
 public:
  explicit Builder(YamlFile& out) : out_(out) {}
  std::optional<YamlProblem> problem;
  struct Stop {};

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > kMaxDocuments) {
      Fail(mark, fmt::format("more than {} YAML documents in one file; split it into several files", kMaxDocuments));
    }
    events_ = 0;
    null_at_.reset();
    anchors_.clear();
    root_ = nullptr;
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
    out_.documents.emplace_back(root_);
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (events_ == 0) null_at_ = mark;
    Count(mark, 1);
    Place(New(NodeType::kNull, mark, anchor, {}), 1);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const NodeData* node = anchor < anchors_.size() ? anchors_[anchor].node : nullptr;
    const uint64_t size = anchor < anchors_.size() ? anchors_[anchor].size : 1;
    Count(mark, size);
    if (node != nullptr) Place(node, size);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Count(mark, 1);
    NodeData* node = New(NodeType::kScalar, mark, anchor, tag);
    node->scalar = value;
    Place(node, 1);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, NodeType::kSequence);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, NodeType::kMap);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    NodeData* node;
    YAML::anchor_t anchor;
    uint64_t size;  // values inside, aliases expanded, itself included
  };
  struct Anchored {
    const NodeData* node = nullptr;
    uint64_t size = 1;
  };

  void Fail(const YAML::Mark& mark, std::string message) {
    problem = YamlProblem{mark, std::move(message)};
    throw Stop{};
  }
  NodeData* New(NodeType type, const YAML::Mark& mark, YAML::anchor_t anchor, const std::string& tag) {
    NodeData& node = out_.nodes.emplace_back();
    node.type = type;
    node.mark = mark;
    node.tag = tag;
    if (anchor != 0) {
      if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
      anchors_[anchor] = Anchored{&node, 1};
    }
    return &node;
  }
  // One more value (of `size` values once expanded) in the document.
  void Count(const YAML::Mark& mark, uint64_t size) {
    ++events_;
    total_ += size;
    if (total_ > kMaxExpandedValues) {
      Fail(mark, fmt::format("with its aliases (*name) expanded, the file holds more than {} values; write the values "
                             "out instead of nesting aliases",
                             kMaxExpandedValues));
    }
  }
  // Puts a finished value into the open collection (or makes it the root).
  void Place(const NodeData* node, uint64_t size) {
    if (open_.empty()) {
      root_ = node;
      return;
    }
    Frame& f = open_.back();
    f.size += size;
    f.node->items.push_back(node);
    // No list or mapping of a manifest may be longer than the longest one
    // allowed (devices); found here, before it is held whole.
    const size_t n = f.node->items.size();
    const uint64_t items = f.node->type == NodeType::kMap ? (n + 1) / 2 : n;
    if (items > kMaxCollectionItems) {
      const bool map = f.node->type == NodeType::kMap;
      Fail(f.node->mark,
           fmt::format("a {} of more than {} items; no list or mapping of a manifest may be that long "
                       "(devices: {}, stages: {}, labels: {})",
                       map ? "mapping" : "list", kMaxCollectionItems, kMaxDevices, kMaxStages, kMaxLabels));
    }
  }
  // A collection is placed when it opens (its items follow) and counted
  // whole, with what it holds, when it closes.
  void Open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, NodeType type) {
    Count(mark, 1);
    NodeData* node = New(type, mark, anchor, tag);
    Place(node, 1);
    open_.push_back(Frame{node, anchor, 1});
  }
  void Close() {
    if (open_.empty()) return;
    const Frame f = open_.back();
    open_.pop_back();
    if (f.anchor != 0) anchors_[f.anchor].size = f.size;
    if (!open_.empty()) open_.back().size += f.size - 1;  // its own 1 was added when it opened
  }

  YamlFile& out_;
  std::vector<Anchored> anchors_;  // by anchor number, this document's
  std::vector<Frame> open_;
  const NodeData* root_ = nullptr;
  uint64_t total_ = 0;
  size_t documents_ = 0;
  size_t events_ = 0;                     // values and collections of the current document
  std::optional<YAML::Mark> null_at_;     // the current document is a lone null here
  std::optional<YAML::Mark> last_empty_;  // the previous document was a lone null here
};

}  // namespace

Position PositionOf(const FileName& file, const YAML::Mark& mark) {
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
bool CheckTags(const Node& node, const std::string& file, std::vector<Diagnostic>& errors, size_t depth) {
  const std::string& tag = node.Tag();
  const std::string core = "tag:yaml.org,2002:";
  auto report = [&](const std::string& why) {
    errors.push_back(DiagnosticAt(PositionOf(file, node.Mark()), "", why));
    return false;
  };
  if (depth > kMaxDepth && (node.IsMap() || node.IsSequence())) {
    return report(TooDeep());
  }
  if (!tag.empty() && tag != "?" && tag != "!") {
    std::string shown = tag.rfind(core, 0) == 0 ? "!!" + tag.substr(core.size()) : tag;
    std::string name = tag.rfind(core, 0) == 0 ? tag.substr(core.size()) : "";
    bool fits = false;
    if (node.IsScalar()) {
      Kind k = ClassifyPlain(node.Scalar()).kind;  // the value typed as if untagged
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
    for (size_t i = 0; i < node.size(); ++i) {
      if (!CheckTags(node[i], file, errors, depth + 1)) return false;
    }
  } else if (node.IsMap()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (!CheckTags(node.KeyAt(i), file, errors, depth + 1) || !CheckTags(node.ValueAt(i), file, errors, depth + 1)) {
        return false;
      }
    }
  }
  return true;
}

std::optional<YamlProblem> ParseYaml(std::string_view text, YamlFile& out) {
  std::istringstream in{std::string(text)};
  Builder builder(out);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const Builder::Stop&) {
  } catch (const YAML::DeepRecursion& e) {
    return YamlProblem{e.mark, TooDeep()};
  } catch (const YAML::Exception& e) {
    std::string why = e.msg.size() > 200 ? e.msg.substr(0, 200) + "…" : e.msg;
    return YamlProblem{e.mark, "invalid YAML: " + core::Printable(why)};
  }
  return builder.problem;
}

}  // namespace otaroll::manifest
