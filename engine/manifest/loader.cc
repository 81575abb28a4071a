#include "manifest/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "manifest/duration.h"
#include "manifest/scalar.h"

namespace otaroll::manifest {
namespace fs = std::filesystem;
using core::Diagnostic;

namespace {

constexpr const char* kTargets = "a stage takes exactly one of gray, group, devices, all";

size_t CodePoints(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool IsNameChar(char c, bool edge) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!edge && (c == '-' || c == '.'));
}
// [a-z0-9]([-a-z0-9.]*[a-z0-9])?, at most 63 characters
bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsNameChar(s[i], i == 0 || i + 1 == s.size())) return false;
  }
  return true;
}
bool IsWordChar(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}
bool IsWord(const std::string& s, std::string_view extra) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [&](char c) { return IsWordChar(c, extra); });
}
// 1..64 characters, none of them white space.
bool IsToken(const std::string& s) {
  size_t n = CodePoints(s);
  return n >= 1 && n <= 64 && std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         prev + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }


// One mapping's entries, keyed by name, after unknown and duplicate keys
// have been reported.
struct Entry {
  YAML::Node key;
  YAML::Node value;
};
using Entries = std::map<std::string, Entry>;

// Reads one YAML document into a Rollout, reporting every problem.
class DocReader {
 public:
  DocReader(const std::string& file, std::vector<Diagnostic>& errors) : file_(file), errors_(errors) {}

  bool failed() const { return failed_; }

  void Report(const YAML::Mark& mark, const std::string& field, std::string message) {
    failed_ = true;
    errors_.push_back(Diagnostic{file_, mark.is_null() ? 0 : mark.line + 1,
                                 mark.is_null() ? 0 : mark.column + 1, field, std::move(message)});
  }
  void Report(const Position& p, const std::string& field, std::string message) {
    failed_ = true;
    errors_.push_back(Diagnostic{p.file, p.line, p.column, field, std::move(message)});
  }
  void Report(const Entry& e, const std::string& field, std::string message) {
    Report(MarkOf(e), field, std::move(message));
  }

  static YAML::Mark MarkOf(const Entry& e) {
    YAML::Mark m = e.value.Mark();
    return m.is_null() || (e.value.IsNull() && m.line < e.key.Mark().line) ? e.key.Mark() : m;
  }
  Position PositionOf(const YAML::Mark& m) const {
    return Position{file_, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1};
  }

  // Checks that node is a mapping with only allowed keys, none repeated.
  bool ReadMap(const YAML::Node& node, const YAML::Mark& at, const std::string& path,
               std::initializer_list<const char*> allowed, Entries& out, const char* what) {
    if (!node.IsMap()) {
      Report(at, path, fmt::format("found {}; expected {}", Describe(node), what));
      return false;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
      std::string field = path.empty() ? key : path + "." + key;
      if (out.count(key)) {
        Report(it->first.Mark(), field,
               fmt::format("duplicate key; it is already given at line {}", out[key].key.Mark().line + 1));
        continue;
      }
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) ==
          allowed.end()) {
        std::string list, suggestion;
        size_t best = 3;
        for (const char* a : allowed) {
          list += (list.empty() ? "" : ", ") + std::string(a);
          size_t d = EditDistance(key, a);
          if (d < best) best = d, suggestion = a;
        }
        Report(it->first.Mark(), field,
               suggestion.empty() ? fmt::format("unknown key; allowed here: {}", list)
                                  : fmt::format("unknown key (did you mean {}?); allowed here: {}",
                                                Quote(suggestion), list));
        continue;
      }
      out[key] = Entry{it->first, it->second};
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
                           ? fmt::format(" (quote it: \"{}\")", s.text)
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
               s.kind == Kind::kInt ? fmt::format("{} is out of range; allowed: {}..{}", s.text, lo, hi)
                                    : fmt::format("{} is not a whole number; allowed: {}..{}", s.text, lo, hi));
        return std::nullopt;
      }
      if (s.integer < lo || s.integer > hi) {
        Report(e, path, fmt::format("{} is out of range; allowed: {}..{}", s.text, lo, hi));
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
      Report(e, path, fmt::format("{} is not allowed; allowed: {}", s.text, list));
      return std::nullopt;
    }
    Report(e, path, fmt::format("found {}; expected one of {}", Describe(e.value), list));
    return std::nullopt;
  }

  std::optional<double> Percent(const Entry& e, const std::string& path) {
    Scalar s = Classify(e.value);
    if (s.kind == Kind::kInt || s.kind == Kind::kFloat) {
      if (!(s.number >= 0 && s.number <= 100)) {
        Report(e, path, fmt::format("{} is out of range; allowed: 0..100", s.text));
        return std::nullopt;
      }
      return s.number;
    }
    Report(e, path, fmt::format("found {}; expected a percentage 0..100", Describe(e.value)));
    return std::nullopt;
  }

  // A list of unique strings, each checked by valid(); nullopt on any error.
  std::optional<std::vector<std::string>> StringList(const Entry& e, const std::string& path,
                                                     const char* item_what, bool (*valid)(const std::string&),
                                                     const char* allowed, const char* unique_note) {
    if (!e.value.IsSequence()) {
      Report(e, path, fmt::format("found {}; expected a list of {}", Describe(e.value), item_what));
      return std::nullopt;
    }
    if (e.value.size() == 0) {
      Report(e, path, fmt::format("empty list; give at least one {} or remove the key", item_what));
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

  void ReadUpgrade(const Entry& e, const std::string& path, Upgrade& up) {
    Entries m;
    if (!ReadMap(e.value, MarkOf(e), path,
                 {"retryIntervalMinutes", "retryCount", "timeoutMinutes", "needPush", "needConfirm",
                  "downloadProtocol"},
                 m, "a mapping of job options")) {
      return;
    }
    for (const auto& [key, entry] : m) up.positions[key] = PositionOf(MarkOf(entry));
    if (auto* x = Find(m, "retryIntervalMinutes")) {
      up.retry_interval_minutes = OneOfInts(*x, Join(path, "retryIntervalMinutes"), {0, 10, 30, 60, 1440});
    }
    if (auto* x = Find(m, "retryCount")) up.retry_count = OneOfInts(*x, Join(path, "retryCount"), {1, 2, 5});
    if (auto* x = Find(m, "timeoutMinutes")) {
      if (auto v = Integer(*x, Join(path, "timeoutMinutes"), 1, 1440)) up.timeout_minutes = static_cast<int>(*v);
    }
    if (auto* x = Find(m, "needPush")) up.need_push = Bool(*x, Join(path, "needPush"));
    if (auto* x = Find(m, "needConfirm")) up.need_confirm = Bool(*x, Join(path, "needConfirm"));
    if (auto* x = Find(m, "downloadProtocol")) {
      if (auto v = String(*x, Join(path, "downloadProtocol"), "HTTPS")) {
        if (*v == "HTTPS") {
          up.download_protocol = *v;
        } else {
          Report(*x, Join(path, "downloadProtocol"), fmt::format("{} is not allowed; allowed: HTTPS", Quote(*v)));
        }
      }
    }
    // Retries are configured as a pair, in the same block.
    auto* interval = Find(m, "retryIntervalMinutes");
    auto* count = Find(m, "retryCount");
    if (count && !interval) {
      Report(*count, Join(path, "retryCount"), "given without retryIntervalMinutes; set both in this block, or neither");
    }
    if (interval && !count) {
      Report(*interval, Join(path, "retryIntervalMinutes"),
             "given without retryCount; set both in this block, or neither");
    }
  }

  void ReadGate(const Entry& e, const std::string& path, bool first, Gate& gate) {
    Entries m;
    if (!ReadMap(e.value, MarkOf(e), path, {"soak", "hold", "notBefore", "health"}, m,
                 "a mapping of gate conditions")) {
      return;
    }
    const char* first_note = "the first stage has no previous stage; allowed on the first stage: hold, notBefore";
    if (auto* x = Find(m, "soak")) {
      std::string p = Join(path, "soak");
      if (first) {
        Report(*x, p, first_note);
      } else if (auto text = String(*x, p, "a duration like 24h, 30m or 1h30m")) {
        DurationParse d = ParseDuration(*text);
        if (d.error.empty()) {
          gate.soak = d.value;
          gate.soak_text = *text;
        } else {
          Report(*x, p, fmt::format("{} {}; expected <integer><unit>... with units s, m, h, d (e.g. 24h, 1h30m)",
                                    Quote(*text), d.error));
        }
      }
    }
    if (auto* x = Find(m, "hold")) gate.hold = Bool(*x, Join(path, "hold")).value_or(false);
    if (auto* x = Find(m, "notBefore")) {
      std::string p = Join(path, "notBefore");
      if (auto text = String(*x, p, "an RFC 3339 time like 2026-12-01T02:00:00Z")) {
        gate.not_before = core::ParseRfc3339(*text);
        if (!gate.not_before) {
          Report(*x, p, fmt::format("{} is not an RFC 3339 time; expected e.g. 2026-12-01T02:00:00Z", Quote(*text)));
        }
      }
    }
    if (auto* x = Find(m, "health")) {
      std::string p = Join(path, "health");
      if (first) {
        Report(*x, p, first_note);
        return;
      }
      Entries h;
      if (!ReadMap(x->value, MarkOf(*x), p, {"minTasks", "maxFailedPercent", "minSucceededPercent"}, h,
                   "a mapping of health conditions")) {
        return;
      }
      Health health;
      if (auto* y = Find(h, "minTasks")) {
        health.min_tasks = Integer(*y, Join(p, "minTasks"), 1, 1000000000).value_or(1);
      }
      if (auto* y = Find(h, "maxFailedPercent")) health.max_failed_percent = Percent(*y, Join(p, "maxFailedPercent"));
      if (auto* y = Find(h, "minSucceededPercent")) {
        health.min_succeeded_percent = Percent(*y, Join(p, "minSucceededPercent"));
      }
      if (!Find(h, "maxFailedPercent") && !Find(h, "minSucceededPercent")) {
        Report(MarkOf(*x), p, "neither maxFailedPercent nor minSucceededPercent is given; set at least one");
      }
      gate.health = health;
    }
  }

  void ReadGray(const Entry& e, const std::string& path, Stage& stage) {
    Scalar s = Classify(e.value);
    const char* allowed = "allowed: an integer 1..100 or a percentage \"1%\"..\"100%\"";
    if (s.kind == Kind::kString) {
      const std::string& t = s.text;
      bool ok = t.size() >= 2 && t.size() <= 4 && t.back() == '%' && t[0] != '0' &&
                std::all_of(t.begin(), t.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
      int v = ok ? std::stoi(t.substr(0, t.size() - 1)) : 0;
      if (ok && v >= 1 && v <= 100) {
        stage.gray_percent = v;
      } else {
        Report(e, path, fmt::format("{} is not a percentage from 1% to 100%; {}", Quote(t), allowed));
      }
      return;
    }
    if (auto v = Integer(e, path, 1, 100)) stage.gray_percent = static_cast<int>(*v);
  }

  static bool ValidDevice(const std::string& s) { return IsWord(s, "_.:@-"); }
  static bool ValidToken(const std::string& s) { return IsToken(s); }

  void ReadStage(const YAML::Node& node, const std::string& path, bool first, Stage& stage) {
    Entries m;
    if (!ReadMap(node, node.Mark(), path, {"name", "gray", "group", "devices", "all", "gate", "upgrade"}, m,
                 "a stage mapping")) {
      return;
    }
    stage.position = PositionOf(node.Mark());
    if (auto* x = Require(m, "name", node.Mark(), path, "a stage name")) {
      std::string p = Join(path, "name");
      if (auto name = String(*x, p, "a stage name")) {
        if (IsName(*name)) {
          stage.name = *name;
          stage.position = PositionOf(MarkOf(*x));
        } else {
          Report(*x, p, NameError(*name));
        }
      }
    }
    std::vector<const char*> targets;
    for (const char* t : {"gray", "group", "devices", "all"}) {
      if (m.count(t)) targets.push_back(t);
    }
    if (targets.empty()) {
      Report(node.Mark(), path, fmt::format("no target; {}", kTargets));
    } else if (targets.size() > 1) {
      Report(MarkOf(m.at(targets[1])), path,
             fmt::format("both {} and {} are given; {}", targets[0], targets[1], kTargets));
    }
    if (auto* x = Find(m, "gray")) {
      stage.target = Target::kGray;
      ReadGray(*x, Join(path, "gray"), stage);
    }
    if (auto* x = Find(m, "group")) {
      stage.target = Target::kGroup;
      std::string p = Join(path, "group");
      if (auto g = String(*x, p, "a group id")) {
        if (IsToken(*g)) {
          stage.group_id = *g;
        } else {
          Report(*x, p, fmt::format("{} is not a valid group id; allowed: 1-64 characters without spaces", Quote(*g)));
        }
      }
    }
    if (auto* x = Find(m, "devices")) {
      stage.target = Target::kSpecific;
      stage.devices = StringList(*x, Join(path, "devices"), "device name", ValidDevice,
                                 "1-64 letters, digits and _ . : @ -", "each device may be listed once")
                          .value_or(std::vector<std::string>{});
    }
    if (auto* x = Find(m, "all")) {
      stage.target = Target::kAll;
      if (auto v = Bool(*x, Join(path, "all")); v && !*v) {
        Report(*x, Join(path, "all"), "false is not allowed; write all: true, or target the stage with gray, group or devices");
      }
    }
    if (auto* x = Find(m, "gate")) ReadGate(*x, Join(path, "gate"), first, stage.gate);
    if (auto* x = Find(m, "upgrade")) ReadUpgrade(*x, Join(path, "upgrade"), stage.upgrade);
  }

  static std::string NameError(const std::string& name) {
    return fmt::format(
        "{} is not a valid name; allowed: 1-63 lower-case letters, digits, '-' and '.', beginning and ending "
        "with a letter or digit",
        Quote(name));
  }

  // The retry interval must be below the timeout once a stage's options are
  // resolved. A conflict within spec.upgrade alone is reported once, there.
  void CheckRetryWithinTimeout(const Rollout& r, const std::string& stage_path, const Upgrade& own) {
    const bool at_spec = stage_path.empty();
    auto interval = own.retry_interval_minutes ? own.retry_interval_minutes : r.upgrade.retry_interval_minutes;
    auto timeout = own.timeout_minutes ? own.timeout_minutes : r.upgrade.timeout_minutes;
    if (!interval || !timeout || *interval < *timeout) return;
    if (!at_spec && !own.retry_interval_minutes && !own.timeout_minutes) return;
    const std::string own_path = at_spec ? "spec.upgrade" : stage_path + ".upgrade";
    const char* rule = "the retry interval must be below the timeout";
    if (own.timeout_minutes) {
      Report(own.positions.at("timeoutMinutes"), own_path + ".timeoutMinutes",
             fmt::format("{} is not above retryIntervalMinutes {} ({}.retryIntervalMinutes); {}", *timeout, *interval,
                         own.retry_interval_minutes ? own_path : "spec.upgrade", rule));
    } else {
      Report(own.positions.at("retryIntervalMinutes"), own_path + ".retryIntervalMinutes",
             fmt::format("{} is not below timeoutMinutes {} (spec.upgrade.timeoutMinutes); {}", *interval, *timeout,
                         rule));
    }
  }

  std::optional<Rollout> Read(const YAML::Node& doc) {
    Entries top;
    if (!ReadMap(doc, doc.Mark(), "", {"apiVersion", "kind", "metadata", "spec"}, top,
                 "a Rollout mapping (apiVersion, kind, metadata, spec)")) {
      return std::nullopt;
    }
    Rollout r;
    r.position = PositionOf(doc.Mark());
    if (auto* x = Require(top, "apiVersion", doc.Mark(), "", "apiVersion: otaroll/v1")) {
      if (auto v = String(*x, "apiVersion", "otaroll/v1"); v && *v != "otaroll/v1") {
        Report(*x, "apiVersion", fmt::format("{} is not supported; allowed: otaroll/v1", Quote(*v)));
      }
    }
    if (auto* x = Require(top, "kind", doc.Mark(), "", "kind: Rollout")) {
      if (auto v = String(*x, "kind", "Rollout"); v && *v != "Rollout") {
        Report(*x, "kind", fmt::format("{} is not supported; allowed: Rollout", Quote(*v)));
      }
    }
    if (auto* meta = Require(top, "metadata", doc.Mark(), "", "a metadata mapping with a name")) {
      Entries m;
      if (ReadMap(meta->value, MarkOf(*meta), "metadata", {"name", "labels"}, m, "a mapping with name and labels")) {
        if (auto* x = Require(m, "name", MarkOf(*meta), "metadata", "a rollout name")) {
          if (auto name = String(*x, "metadata.name", "a rollout name")) {
            if (IsName(*name)) {
              r.name = *name;
              r.name_position = PositionOf(MarkOf(*x));
            } else {
              Report(*x, "metadata.name", NameError(*name));
            }
          }
        }
        if (auto* x = Find(m, "labels")) {
          if (!x->value.IsMap()) {
            Report(*x, "metadata.labels", fmt::format("found {}; expected a mapping of strings", Describe(x->value)));
          } else {
            for (auto it = x->value.begin(); it != x->value.end(); ++it) {
              std::string key = it->first.Scalar();
              Entry label{it->first, it->second};
              if (r.labels.count(key)) {
                Report(it->first.Mark(), "metadata.labels." + key, "duplicate key; each label may be given once");
              } else if (auto v = String(label, "metadata.labels." + key, "a string")) {
                r.labels[key] = *v;
              }
            }
          }
        }
      }
    }
    auto* spec = Require(top, "spec", doc.Mark(), "", "a spec mapping");
    if (spec) ReadSpec(*spec, r);
    if (failed_) return std::nullopt;
    return r;
  }

  void ReadSpec(const Entry& spec, Rollout& r) {
    Entries m;
    if (!ReadMap(spec.value, MarkOf(spec), "spec",
                 {"productKey", "firmwareId", "srcVersions", "paused", "cancelSuperseded", "onHalt", "upgrade",
                  "stages"},
                 m, "a mapping")) {
      return;
    }
    const YAML::Mark at = MarkOf(spec);
    if (auto* x = Require(m, "productKey", at, "spec", "a product key")) {
      if (auto v = String(*x, "spec.productKey", "a product key")) {
        if (IsWord(*v, "_.-")) {
          r.product_key = *v;
        } else {
          Report(*x, "spec.productKey",
                 fmt::format("{} is not a valid product key; allowed: 1-64 letters, digits, '_', '.' and '-'", Quote(*v)));
        }
      }
    }
    if (auto* x = Require(m, "firmwareId", at, "spec", "a firmware id")) {
      Scalar s = Classify(x->value);
      if ((s.kind == Kind::kInt || s.kind == Kind::kFloat) && s.exact_int && s.integer >= 0) {
        r.firmware_id = std::to_string(s.integer);
      } else if (s.kind == Kind::kString && IsToken(s.text)) {
        r.firmware_id = s.text;
      } else if (s.kind == Kind::kString) {
        Report(*x, "spec.firmwareId",
               fmt::format("{} is not a valid firmware id; allowed: 1-64 characters without spaces", Quote(s.text)));
      } else {
        Report(*x, "spec.firmwareId",
               fmt::format("found {}; expected a firmware id string (or a non-negative integer)", Describe(x->value)));
      }
    }
    if (auto* x = Find(m, "srcVersions")) {
      r.src_versions = StringList(*x, "spec.srcVersions", "version", ValidToken,
                                  "1-64 characters without spaces", "each version may be listed once")
                           .value_or(std::vector<std::string>{});
    }
    if (auto* x = Find(m, "paused")) r.paused = Bool(*x, "spec.paused").value_or(false);
    if (auto* x = Find(m, "cancelSuperseded")) r.cancel_superseded = Bool(*x, "spec.cancelSuperseded").value_or(false);
    if (auto* x = Find(m, "onHalt")) {
      if (auto v = String(*x, "spec.onHalt", "stop or cancel")) {
        if (*v == "stop" || *v == "cancel") {
          r.on_halt = *v == "stop" ? OnHalt::kStop : OnHalt::kCancel;
        } else {
          Report(*x, "spec.onHalt", fmt::format("{} is not allowed; allowed: stop, cancel", Quote(*v)));
        }
      }
    }
    if (auto* x = Find(m, "upgrade")) {
      ReadUpgrade(*x, "spec.upgrade", r.upgrade);
      CheckRetryWithinTimeout(r, "", r.upgrade);
    }
    if (auto* x = Require(m, "stages", at, "spec", "a list of stages")) {
      if (!x->value.IsSequence()) {
        Report(*x, "spec.stages", fmt::format("found {}; expected a list of stages", Describe(x->value)));
      } else if (x->value.size() == 0) {
        Report(*x, "spec.stages", "empty list; a rollout needs at least one stage");
      } else {
        std::map<std::string, size_t> names;
        for (size_t i = 0; i < x->value.size(); ++i) {
          std::string path = fmt::format("spec.stages[{}]", i);
          Stage stage;
          ReadStage(x->value[i], path, i == 0, stage);
          if (!stage.name.empty()) {
            auto [it, inserted] = names.emplace(stage.name, i);
            if (!inserted) {
              Report(stage.position, path + ".name",
                     fmt::format("{} is already the name of spec.stages[{}]; stage names must be unique within a rollout",
                                 Quote(stage.name), it->second));
            }
          }
          if (!stage.upgrade.positions.empty()) CheckRetryWithinTimeout(r, path, stage.upgrade);
          r.stages.push_back(std::move(stage));
        }
      }
    }
  }

 private:
  const std::string& file_;
  std::vector<Diagnostic>& errors_;
  bool failed_ = false;
};

bool IsManifestFile(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

bool IsHidden(const fs::path& p) {
  auto name = p.filename().string();
  return !name.empty() && name[0] == '.' && name != "." && name != "..";
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
void CheckTags(const YAML::Node& node, const std::string& file, std::vector<Diagnostic>& errors) {
  const std::string& tag = node.Tag();
  const std::string core = "tag:yaml.org,2002:";
  auto report = [&](const std::string& why) {
    YAML::Mark m = node.Mark();
    errors.push_back(Diagnostic{file, m.line + 1, m.column + 1, "", why});
  };
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
      return;
    }
  }
  if (node.IsSequence()) {
    for (const auto& item : node) CheckTags(item, file, errors);
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      CheckTags(it->first, file, errors);
      CheckTags(it->second, file, errors);
    }
  }
}

}  // namespace

void ParseText(std::string_view text, const std::string& display_name, std::vector<Rollout>& out,
               std::vector<Diagnostic>& errors) {
  if (auto bad = CheckText(text, display_name)) {
    errors.push_back(*bad);
    return;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    errors.push_back(Diagnostic{display_name, e.mark.is_null() ? 0 : e.mark.line + 1,
                                e.mark.is_null() ? 0 : e.mark.column + 1, "", "invalid YAML: " + e.msg});
    return;
  }
  for (const YAML::Node& doc : docs) {
    if (doc.IsNull()) continue;  // an empty document (e.g. a trailing ---)
    size_t before = errors.size();
    CheckTags(doc, display_name, errors);
    if (errors.size() != before) continue;
    DocReader reader(display_name, errors);
    if (auto r = reader.Read(doc)) out.push_back(std::move(*r));
  }
}

void FinishSet(std::vector<Rollout> rollouts, LoadResult& result) {
  // The first occurrence in (file, line) order keeps the name; later ones are errors.
  std::stable_sort(rollouts.begin(), rollouts.end(), [](const Rollout& a, const Rollout& b) {
    return std::tie(a.name, a.name_position.file, a.name_position.line) <
           std::tie(b.name, b.name_position.file, b.name_position.line);
  });
  for (size_t i = 1; i < rollouts.size(); ++i) {
    const Rollout& first = rollouts[i - 1];
    if (rollouts[i].name != first.name) continue;
    size_t j = i;
    while (j < rollouts.size() && rollouts[j].name == first.name) {
      const Position& p = rollouts[j].name_position;
      result.errors.push_back(Diagnostic{
          p.file, p.line, p.column, "metadata.name",
          fmt::format("\"{}\" is already defined at {}:{}:{}; rollout names must be unique across the tree",
                      first.name, first.name_position.file, first.name_position.line, first.name_position.column)});
      ++j;
    }
    i = j - 1;
  }
  rollouts.erase(std::unique(rollouts.begin(), rollouts.end(),
                             [](const Rollout& a, const Rollout& b) { return a.name == b.name; }),
                 rollouts.end());
  result.set.rollouts = std::move(rollouts);
  core::SortDiagnostics(result.errors);
}

core::Result<LoadResult> LoadTree(const std::string& dir) {
  std::error_code ec;
  fs::path root(dir);
  auto status = fs::status(root, ec);
  if (ec || !fs::exists(status)) {
    return core::Status::NotFound(fmt::format("{}: no such file or directory; name a manifest directory", dir));
  }
  std::vector<std::pair<std::string, fs::path>> files;  // display name, path
  if (fs::is_regular_file(status)) {
    files.emplace_back(dir, root);
  } else {
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    if (ec) return core::Status::IOError(fmt::format("{}: cannot read the directory: {}", dir, ec.message()));
    for (; it != end; it.increment(ec)) {
      if (ec) return core::Status::IOError(fmt::format("{}: cannot read the directory: {}", dir, ec.message()));
      const fs::path& p = it->path();
      if (IsHidden(p)) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && IsManifestFile(p)) {
        std::string display = (root / p.lexically_relative(root)).lexically_normal().generic_string();
        files.emplace_back(display, p);
      }
    }
    std::sort(files.begin(), files.end());
  }
  LoadResult result;
  std::vector<Rollout> rollouts;
  for (const auto& [display, path] : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    if (!in) {
      result.errors.push_back(Diagnostic{display, 0, 0, "", "cannot read the file; check its permissions"});
      continue;
    }
    ParseText(buf.str(), display, rollouts, result.errors);
  }
  result.set.files = files.size();
  FinishSet(std::move(rollouts), result);
  return result;
}

}  // namespace otaroll::manifest
