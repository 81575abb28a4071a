#include "manifest/loader.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/escape.h"
#include "core/names.h"
#include "manifest/duration.h"
#include "manifest/limits.h"
#include "manifest/rules.h"
#include "manifest/scalar.h"
#include "manifest/syntax.h"

namespace otaroll::manifest {
using core::Diagnostic;

namespace {

constexpr const char* kTargets = "a stage takes exactly one of gray, group, devices, all";

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
  bool ReadMap(const YAML::Node& node, const YAML::Mark& at, const std::string& path,
               std::initializer_list<const char*> allowed, Entries& out, const char* what) {
    if (!node.IsMap()) {
      Report(at, path, fmt::format("found {}; expected {}", Describe(node), what));
      return false;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = Key(it->first);
      std::string field = path.empty() ? key : path + "." + key;
      if (out.count(key)) {
        Report(it->first.Mark(), field,
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
        Report(it->first.Mark(), field,
               suggestion.empty()
                   ? fmt::format("unknown key; allowed here: {}", list)
                   : fmt::format("unknown key (did you mean {}?); allowed here: {}", Quote(suggestion), list));
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

  void ReadUpgrade(const Entry& e, const std::string& path, Upgrade& up) {
    Entries m;
    if (!ReadMap(
            e.value, MarkOf(e), path,
            {"retryIntervalMinutes", "retryCount", "timeoutMinutes", "needPush", "needConfirm", "downloadProtocol"}, m,
            "a mapping of job options")) {
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
      Report(*count, Join(path, "retryCount"),
             "given without retryIntervalMinutes; set both in this block, or neither");
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
          Report(*x, p,
                 fmt::format("{} {}; expected <integer><unit>... with units s, m, h, d (e.g. 24h, 1h30m)", Quote(*text),
                             d.error));
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
          Report(*x, p, fmt::format("{} is not a valid group id; allowed: {}", Quote(*g), kTokenRule));
        }
      }
    }
    if (auto* x = Find(m, "devices")) {
      stage.target = Target::kSpecific;
      stage.devices = StringList(*x, Join(path, "devices"), "device name", ValidDevice,
                                 "1-64 letters, digits and _ . : @ -", "each device may be listed once", kMaxDevices)
                          .value_or(std::vector<std::string>{});
    }
    if (auto* x = Find(m, "all")) {
      stage.target = Target::kAll;
      if (auto v = Bool(*x, Join(path, "all")); v && !*v) {
        Report(*x, Join(path, "all"),
               "false is not allowed; write all: true, or target the stage with gray, group or devices");
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
          } else if (x->value.size() > kMaxLabels) {
            Report(*x, "metadata.labels",
                   fmt::format("{} labels, more than the limit of {}", x->value.size(), kMaxLabels));
          } else {
            ReadLabels(x->value, r);
          }
        }
      }
    }
    auto* spec = Require(top, "spec", doc.Mark(), "", "a spec mapping");
    if (spec) ReadSpec(*spec, r);
    if (failed_) return std::nullopt;
    return r;
  }

  void ReadLabels(const YAML::Node& labels, Rollout& r) {
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      const std::string field = "metadata.labels." + Key(it->first);
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      Entry label{it->first, it->second};
      if (key.empty() || key.size() > kMaxLabelKey || !core::IsPrintable(key)) {
        Report(it->first.Mark(), field,
               fmt::format("not a valid label key; allowed: 1-{} printable characters", kMaxLabelKey));
      } else if (r.labels.count(key)) {
        Report(it->first.Mark(), field, "duplicate key; each label may be given once");
      } else if (auto v = String(label, field, "a string")) {
        if (v->size() > kMaxLabelValue || !core::IsPrintable(*v)) {
          Report(label, field,
                 fmt::format("{} is not a valid label value; allowed: up to {} printable characters", Quote(*v),
                             kMaxLabelValue));
        } else {
          r.labels[key] = *v;
        }
      }
    }
  }

  void ReadSpec(const Entry& spec, Rollout& r) {
    Entries m;
    if (!ReadMap(
            spec.value, MarkOf(spec), "spec",
            {"productKey", "firmwareId", "srcVersions", "paused", "cancelSuperseded", "onHalt", "upgrade", "stages"}, m,
            "a mapping")) {
      return;
    }
    const YAML::Mark at = MarkOf(spec);
    if (auto* x = Require(m, "productKey", at, "spec", "a product key")) {
      if (auto v = String(*x, "spec.productKey", "a product key")) {
        if (IsWord(*v, "_.-")) {
          r.product_key = *v;
        } else {
          Report(
              *x, "spec.productKey",
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
               fmt::format("{} is not a valid firmware id; allowed: {}", Quote(s.text), kTokenRule));
      } else {
        Report(*x, "spec.firmwareId",
               fmt::format("found {}; expected a firmware id string (or a non-negative integer)", Describe(x->value)));
      }
    }
    if (auto* x = Find(m, "srcVersions")) {
      r.src_versions = StringList(*x, "spec.srcVersions", "version", ValidToken, kTokenRule,
                                  "each version may be listed once", kMaxSrcVersions)
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
      } else if (x->value.size() > kMaxStages) {
        Report(*x, "spec.stages",
               fmt::format("{} stages, more than the limit of {}; split the rollout", x->value.size(), kMaxStages));
      } else {
        std::map<std::string, size_t> names;
        for (size_t i = 0; i < x->value.size(); ++i) {
          std::string path = fmt::format("spec.stages[{}]", i);
          Stage stage;
          ReadStage(x->value[i], path, i == 0, stage);
          if (!stage.name.empty()) {
            auto [it, inserted] = names.emplace(stage.name, i);
            if (!inserted) {
              Report(
                  stage.position, path + ".name",
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

}  // namespace

void ParseText(std::string_view text, const std::string& display_name, std::vector<Rollout>& out,
               std::vector<Diagnostic>& errors) {
  if (text.size() > kMaxFileBytes) {
    errors.push_back(Diagnostic{display_name, 0, 0, "",
                                fmt::format("larger than {} MiB, the limit for one manifest file; split it into "
                                            "several files",
                                            kMaxFileBytes / (1024 * 1024))});
    return;
  }
  if (auto bad = CheckText(text, display_name)) {
    errors.push_back(*bad);
    return;
  }
  if (auto problem = CheckStructure(text)) {
    errors.push_back(DiagnosticAt(PositionOf(display_name, problem->mark), "", problem->message));
    return;
  }
  std::vector<YAML::Node> docs;
  auto at = [&](const YAML::Mark& m, std::string message) {
    errors.push_back(DiagnosticAt(PositionOf(display_name, m), "", std::move(message)));
  };
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    at(e.mark, fmt::format("nested more than {} levels deep; manifests need far fewer: flatten it", kMaxDepth));
    return;
  } catch (const YAML::Exception& e) {
    std::string why = e.msg.size() > 200 ? e.msg.substr(0, 200) + "…" : e.msg;
    at(e.mark, "invalid YAML: " + core::Printable(why));
    return;
  }
  for (const YAML::Node& doc : docs) {
    if (doc.IsNull()) continue;  // an empty document (e.g. a trailing ---)
    size_t before = errors.size();
    if (!CheckTags(doc, display_name, errors) || errors.size() != before) continue;
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
          fmt::format("\"{}\" is already defined at {}:{}:{}; rollout names must be unique across the tree", first.name,
                      first.name_position.file, first.name_position.line, first.name_position.column)});
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

}  // namespace otaroll::manifest
