// Reading the fields of a YAML document (manifest-internal: loader.cc and
// freeze.cc derive their document readers from FieldReader).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "core/escape.h"
#include "core/names.h"
#include "manifest/limits.h"
#include "manifest/model.h"
#include "manifest/rules.h"
#include "manifest/scalar.h"
#include "manifest/syntax.h"

namespace otaroll::manifest {

using core::Diagnostic;

// One mapping's entries, keyed by name, after unknown and duplicate keys
// have been reported.
struct Entry {
  Node key;
  Node value;
};
using Entries = std::map<std::string, Entry>;

// The field-level reading every document kind shares: typed values, maps
// with only known keys, and every problem reported with its place and field
// path (then failed() is true). Document readers derive from it.
class FieldReader {
 public:
  FieldReader(const FileName& file, std::vector<Diagnostic>& errors) : file_(file), errors_(errors) {}

  bool failed() const { return failed_; }

  void Report(const YAML::Mark& mark, const std::string& field, std::string message) {
    failed_ = true;
    errors_.push_back(DiagnosticAt(manifest::PositionOf(file_, mark), field, std::move(message)));
  }
  void Report(const Position& p, const std::string& field, std::string message) {
    failed_ = true;
    errors_.push_back(DiagnosticAt(p, field, std::move(message)));
  }
  void Report(const Entry& e, const std::string& field, std::string message) {
    Report(MarkOf(e), field, std::move(message));
  }

  static YAML::Mark MarkOf(const Entry& e) {
    YAML::Mark m = e.value.Mark();
    return m.is_null() || (e.value.IsNull() && m.line < e.key.Mark().line) ? e.key.Mark() : m;
  }
  Position PositionOf(const YAML::Mark& m) const { return manifest::PositionOf(file_, m); }

  // Checks that node is a mapping with only allowed keys, none repeated.
  bool ReadMap(const Node& node, const YAML::Mark& at, const std::string& path,
               std::initializer_list<const char*> allowed, Entries& out, const char* what) {
    if (!node.IsMap()) {
      Report(at, path, fmt::format("found {}; expected {}", Describe(node), what));
      return false;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const Node key_node = node.KeyAt(i);
      std::string key = Key(key_node);
      std::string field = path.empty() ? key : path + "." + key;
      if (out.count(key)) {
        Report(key_node.Mark(), field,
               fmt::format("duplicate key; it is already given at line {}", PositionOf(out[key].key.Mark()).line));
        continue;
      }
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
        std::string list, suggestion;
        size_t best = 3;
        for (const char* a : allowed) {
          list += (list.empty() ? "" : ", ") + std::string(a);
          size_t d = EditDistance(key, a);
          if (d < best) best = d, suggestion = a;
        }
        Report(key_node.Mark(), field,
               suggestion.empty()
                   ? fmt::format("unknown key; allowed here: {}", list)
                   : fmt::format("unknown key (did you mean {}?); allowed here: {}", Quote(suggestion), list));
        continue;
      }
      out[key] = Entry{key_node, node.ValueAt(i)};
    }
    return true;
  }

  const Entry* Require(const Entries& m, const char* key, const YAML::Mark& at, const std::string& path,
                       const char* what) {
    auto it = m.find(key);
    if (it != m.end()) return &it->second;
    Report(at, Join(path, key), fmt::format("missing; {} is required", what));
    return nullptr;
  }
  static const Entry* Find(const Entries& m, const char* key) {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
  }
  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  std::optional<std::string> String(const Entry& e, const std::string& path, const char* expected) {
    Scalar s = Classify(e.value);
    if (s.kind == Kind::kString) return s.text;
    std::string hint = (s.kind == Kind::kInt || s.kind == Kind::kFloat || s.kind == Kind::kBool)
                           ? fmt::format(" (quote it: {})", Quote(s.text))
                           : "";
    Report(e, path, fmt::format("found {}; expected {}{}", Describe(e.value), expected, hint));
    return std::nullopt;
  }

  std::optional<bool> Bool(const Entry& e, const std::string& path) {
    Scalar s = Classify(e.value);
    if (s.kind == Kind::kBool) return s.boolean;
    Report(e, path, fmt::format("found {}; expected true or false", Describe(e.value)));
    return std::nullopt;
  }

  std::optional<long long> Integer(const Entry& e, const std::string& path, long long lo, long long hi) {
    Scalar s = Classify(e.value);
    if (s.kind == Kind::kInt || s.kind == Kind::kFloat) {
      if (!s.exact_int) {
        Report(e, path,
               s.kind == Kind::kInt ? fmt::format("{} is out of range; allowed: {}..{}", Raw(s.text), lo, hi)
                                    : fmt::format("{} is not a whole number; allowed: {}..{}", Raw(s.text), lo, hi));
        return std::nullopt;
      }
      if (s.integer < lo || s.integer > hi) {
        Report(e, path, fmt::format("{} is out of range; allowed: {}..{}", Raw(s.text), lo, hi));
        return std::nullopt;
      }
      return s.integer;
    }
    Report(e, path, fmt::format("found {}; expected an integer {}..{}", Describe(e.value), lo, hi));
    return std::nullopt;
  }

  std::optional<int> OneOfInts(const Entry& e, const std::string& path, std::initializer_list<int> allowed) {
    Scalar s = Classify(e.value);
    std::string list;
    for (int a : allowed) list += (list.empty() ? "" : ", ") + std::to_string(a);
    if (s.kind == Kind::kInt || s.kind == Kind::kFloat) {
      if (s.exact_int && std::find(allowed.begin(), allowed.end(), s.integer) != allowed.end()) {
        return static_cast<int>(s.integer);
      }
      Report(e, path, fmt::format("{} is not allowed; allowed: {}", Raw(s.text), list));
      return std::nullopt;
    }
    Report(e, path, fmt::format("found {}; expected one of {}", Describe(e.value), list));
    return std::nullopt;
  }

  std::optional<double> Percent(const Entry& e, const std::string& path) {
    Scalar s = Classify(e.value);
    if (s.kind == Kind::kInt || s.kind == Kind::kFloat) {
      if (!(s.number >= 0 && s.number <= 100)) {
        Report(e, path, fmt::format("{} is out of range; allowed: 0..100", Raw(s.text)));
        return std::nullopt;
      }
      return s.number;
    }
    Report(e, path, fmt::format("found {}; expected a percentage 0..100", Describe(e.value)));
    return std::nullopt;
  }

  // A list of unique strings, each checked by valid(); nullopt on any error.
  std::optional<std::vector<std::string>> StringList(const Entry& e, const std::string& path, const char* item_what,
                                                     bool (*valid)(const std::string&), const char* allowed,
                                                     const char* unique_note, size_t max_items) {
    if (!e.value.IsSequence()) {
      Report(e, path, fmt::format("found {}; expected a list of {}", Describe(e.value), item_what));
      return std::nullopt;
    }
    if (e.value.size() == 0) {
      Report(e, path, fmt::format("empty list; give at least one {} or remove the key", item_what));
      return std::nullopt;
    }
    if (e.value.size() > max_items) {
      Report(e, path, fmt::format("{} items, more than the limit of {}; split the list", e.value.size(), max_items));
      return std::nullopt;
    }
    std::vector<std::string> out;
    std::map<std::string, size_t> seen;
    bool ok = true;
    for (size_t i = 0; i < e.value.size(); ++i) {
      Entry item{e.value[i], e.value[i]};
      std::string item_path = fmt::format("{}[{}]", path, i);
      auto text = String(item, item_path, item_what);
      if (!text) {
        ok = false;
        continue;
      }
      if (!valid(*text)) {
        Report(item, item_path, fmt::format("{} is not a valid {}; allowed: {}", Quote(*text), item_what, allowed));
        ok = false;
        continue;
      }
      auto [it, inserted] = seen.emplace(*text, i);
      if (!inserted) {
        Report(item, item_path, fmt::format("{} repeats [{}]; {}", Quote(*text), it->second, unique_note));
        ok = false;
        continue;
      }
      out.push_back(*text);
    }
    if (!ok) return std::nullopt;
    return out;
  }

  static std::string NameError(const std::string& name) {
    return fmt::format(
        "{} is not a valid name; allowed: 1-63 lower-case letters, digits, '-' and '.', beginning and ending "
        "with a letter or digit",
        Quote(name));
  }

  // apiVersion (otaroll/v1) and metadata (name, labels) of a document whose
  // top-level keys are `top`.
  void ReadIdentity(const Entries& top, const Node& doc, const char* name_what, std::string& name,
                    Position& name_position, std::map<std::string, std::string>& labels) {
    if (auto* x = Require(top, "apiVersion", doc.Mark(), "", "apiVersion: otaroll/v1")) {
      if (auto v = String(*x, "apiVersion", "otaroll/v1"); v && *v != "otaroll/v1") {
        Report(*x, "apiVersion", fmt::format("{} is not supported; allowed: otaroll/v1", Quote(*v)));
      }
    }
    auto* meta = Require(top, "metadata", doc.Mark(), "", "a metadata mapping with a name");
    Entries m;
    if (meta == nullptr ||
        !ReadMap(meta->value, MarkOf(*meta), "metadata", {"name", "labels"}, m, "a mapping with name and labels")) {
      return;
    }
    if (auto* x = Require(m, "name", MarkOf(*meta), "metadata", name_what)) {
      if (auto text = String(*x, "metadata.name", name_what)) {
        if (core::IsName(*text)) {
          name = *text;
          name_position = PositionOf(MarkOf(*x));
        } else {
          Report(*x, "metadata.name", NameError(*text));
        }
      }
    }
    if (auto* x = Find(m, "labels")) ReadLabels(*x, "metadata.labels", labels);
  }

  // A mapping of label keys to string values (metadata.labels, a freeze's
  // selector).
  void ReadLabels(const Entry& e, const std::string& path, std::map<std::string, std::string>& out) {
    if (!e.value.IsMap()) {
      Report(e, path, fmt::format("found {}; expected a mapping of strings", Describe(e.value)));
      return;
    }
    if (e.value.size() > kMaxLabels) {
      Report(e, path, fmt::format("{} labels, more than the limit of {}", e.value.size(), kMaxLabels));
      return;
    }
    for (size_t i = 0; i < e.value.size(); ++i) {
      const Entry label{e.value.KeyAt(i), e.value.ValueAt(i)};
      const std::string field = path + "." + Key(label.key);
      const std::string key = label.key.IsScalar() ? label.key.Scalar() : "";
      if (key.empty() || key.size() > kMaxLabelKey || !core::IsPrintable(key)) {
        Report(label.key.Mark(), field,
               fmt::format("not a valid label key; allowed: 1-{} printable characters", kMaxLabelKey));
      } else if (out.count(key)) {
        Report(label.key.Mark(), field, "duplicate key; each label may be given once");
      } else if (auto v = String(label, field, "a string")) {
        if (v->size() > kMaxLabelValue || !core::IsPrintable(*v)) {
          Report(label, field,
                 fmt::format("{} is not a valid label value; allowed: up to {} printable characters", Quote(*v),
                             kMaxLabelValue));
        } else {
          out[key] = *v;
        }
      }
    }
  }

 protected:
  const FileName& file_;  // shared by every position read
  std::vector<Diagnostic>& errors_;
  bool failed_ = false;
};

}  // namespace otaroll::manifest
