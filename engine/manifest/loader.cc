#include "manifest/loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/escape.h"
#include "core/names.h"
#include "manifest/duration.h"
#include "manifest/fields.h"
#include "manifest/freeze.h"
#include "manifest/limits.h"
#include "manifest/rules.h"
#include "manifest/scalar.h"
#include "manifest/syntax.h"
#include "manifest/window.h"

namespace otaroll::manifest {
using core::Diagnostic;

namespace {

constexpr const char* kTargets = "a stage takes exactly one of gray, group, devices, all";

constexpr const char* kDayNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
bool IsDayName(const std::string& s) {
  return std::find_if(std::begin(kDayNames), std::end(kDayNames), [&](const char* d) { return s == d; }) !=
         std::end(kDayNames);
}
bool IsRolloutName(const std::string& s) {
  return IsName(s);
}
int DayIndex(const std::string& s) {
  return static_cast<int>(
      std::find_if(std::begin(kDayNames), std::end(kDayNames), [&](const char* d) { return s == d; }) - kDayNames);
}

// Reads one YAML document into a Rollout, reporting every problem.
class DocReader : public FieldReader {
 public:
  using FieldReader::FieldReader;

  void ReadUpgrade(const Entry& e, const std::string& path, Upgrade& up) {
    Entries m;
    if (!ReadMap(
            e.value, MarkOf(e), path,
            {"retryIntervalMinutes", "retryCount", "timeoutMinutes", "needPush", "needConfirm", "downloadProtocol"}, m,
            "a mapping of job options")) {
      return;
    }
    auto place = [&](const Entry& x) {
      const Position at = PositionOf(MarkOf(x));
      return Upgrade::Place{at.line, at.column};
    };
    if (auto* x = Find(m, "retryIntervalMinutes")) up.retry_interval_at = place(*x);
    if (auto* x = Find(m, "timeoutMinutes")) up.timeout_at = place(*x);
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
    if (!ReadMap(e.value, MarkOf(e), path, {"soak", "hold", "notBefore", "health", "window"}, m,
                 "a mapping of gate conditions")) {
      return;
    }
    if (auto* x = Find(m, "window")) ReadWindows(*x, Join(path, "window"), gate.windows);
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

  // gate.window: a list of {days, hours, timeZone} (manifest/window.h).
  void ReadWindows(const Entry& e, const std::string& path, std::vector<Window>& out) {
    if (!e.value.IsSequence()) {
      Report(
          e, path,
          fmt::format("found {}; expected a list of windows, each with days, hours and timeZone", Describe(e.value)));
      return;
    }
    if (e.value.size() == 0) {
      Report(e, path, "empty list; give at least one window or remove the key");
      return;
    }
    if (e.value.size() > kMaxWindows) {
      Report(e, path, fmt::format("{} windows, more than the limit of {}", e.value.size(), kMaxWindows));
      return;
    }
    for (size_t i = 0; i < e.value.size(); ++i) {
      const Entry item{e.value[i], e.value[i]};
      const std::string p = fmt::format("{}[{}]", path, i);
      Entries m;
      if (!ReadMap(item.value, MarkOf(item), p, {"days", "hours", "timeZone"}, m,
                   "a window mapping (days, hours, timeZone)")) {
        continue;
      }
      Window w;
      w.position = PositionOf(MarkOf(item));
      if (auto* x = Find(m, "days")) {
        auto days = StringList(*x, Join(p, "days"), "day", IsDayName, "Mon, Tue, Wed, Thu, Fri, Sat, Sun",
                               "each day may be given once", 7);
        for (const auto& d : days.value_or(std::vector<std::string>{})) w.days.push_back(DayIndex(d));
        std::sort(w.days.begin(), w.days.end());
      }
      if (auto* x = Require(m, "hours", MarkOf(item), p, "a range of hours like \"02:00-05:00\"")) {
        ReadHours(*x, Join(p, "hours"), w);
      }
      if (auto* x = Find(m, "timeZone")) {
        const std::string zp = Join(p, "timeZone");
        if (auto zone = String(*x, zp, "an IANA time zone name like Europe/Berlin")) {
          if (KnownTimeZone(*zone)) {
            w.time_zone = *zone;
          } else {
            Report(*x, zp,
                   fmt::format("{} is not a time zone of the tz database; expected an IANA name like Europe/Berlin, "
                               "America/New_York or UTC",
                               Quote(*zone)));
          }
        }
      }
      out.push_back(std::move(w));
    }
  }

  // "HH:MM-HH:MM" on a 24-hour clock; 24:00 only as an end; a start after
  // the end wraps midnight.
  void ReadHours(const Entry& e, const std::string& path, Window& w) {
    auto text = String(e, path, "a range of hours like \"02:00-05:00\"");
    if (!text) return;
    auto minute = [](const std::string& t, bool end) -> int {
      if (t.size() != 5 || t[2] != ':' || !std::isdigit(static_cast<unsigned char>(t[0])) ||
          !std::isdigit(static_cast<unsigned char>(t[1])) || !std::isdigit(static_cast<unsigned char>(t[3])) ||
          !std::isdigit(static_cast<unsigned char>(t[4]))) {
        return -1;
      }
      const int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
      if (end && h == 24 && m == 0) return 1440;
      return h < 24 && m < 60 ? h * 60 + m : -1;
    };
    const size_t dash = text->find('-');
    const int start = dash == std::string::npos ? -1 : minute(text->substr(0, dash), false);
    const int end = dash == std::string::npos ? -1 : minute(text->substr(dash + 1), true);
    if (start < 0 || end < 0) {
      Report(e, path,
             fmt::format("{} is not a range of hours; expected HH:MM-HH:MM on a 24-hour clock, e.g. \"02:00-05:00\" "
                         "(24:00 only as an end; \"22:00-02:00\" wraps midnight)",
                         Quote(*text)));
      return;
    }
    if (start == end) {
      Report(e, path,
             fmt::format("{} is empty: it ends where it starts; use \"00:00-24:00\" for the whole day", Quote(*text)));
      return;
    }
    w.start_minute = start;
    w.end_minute = end;
    w.hours = *text;
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

  void ReadStage(const Node& node, const std::string& path, bool first, Stage& stage) {
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
      Report(Position{file_, own.timeout_at.line, own.timeout_at.column}, own_path + ".timeoutMinutes",
             fmt::format("{} is not above retryIntervalMinutes {} ({}.retryIntervalMinutes); {}", *timeout, *interval,
                         own.retry_interval_minutes ? own_path : "spec.upgrade", rule));
    } else {
      Report(Position{file_, own.retry_interval_at.line, own.retry_interval_at.column},
             own_path + ".retryIntervalMinutes",
             fmt::format("{} is not below timeoutMinutes {} (spec.upgrade.timeoutMinutes); {}", *interval, *timeout,
                         rule));
    }
  }

  std::optional<Rollout> Read(const Node& doc) {
    Entries top;
    if (!ReadMap(doc, doc.Mark(), "", {"apiVersion", "kind", "metadata", "spec"}, top,
                 "a Rollout mapping (apiVersion, kind, metadata, spec)")) {
      return std::nullopt;
    }
    Rollout r;
    r.position = PositionOf(doc.Mark());
    if (auto* x = Require(top, "kind", doc.Mark(), "", "kind: Rollout")) {
      if (auto v = String(*x, "kind", "Rollout"); v && *v != "Rollout") {
        Report(*x, "kind", fmt::format("{} is not supported; allowed: Rollout, Freeze", Quote(*v)));
      }
    }
    ReadIdentity(top, doc, "a rollout name", r.name, r.name_position, r.labels);
    auto* spec = Require(top, "spec", doc.Mark(), "", "a spec mapping");
    if (spec) ReadSpec(*spec, r);
    if (failed_) return std::nullopt;
    return r;
  }

  // spec.supersedes: names of other rollouts (they need not be in the tree:
  // one that finished may have been removed).
  void ReadSupersedes(const Entry& e, Rollout& r) {
    auto names = StringList(e, "spec.supersedes", "rollout name", IsRolloutName,
                            "1-63 lower-case letters, digits, '-' and '.', beginning and ending with a letter or digit",
                            "each rollout may be listed once", kMaxStages);
    if (!names) return;
    for (size_t i = 0; i < names->size(); ++i) {
      if ((*names)[i] == r.name) {
        Report(Entry{e.value[i], e.value[i]}, fmt::format("spec.supersedes[{}]", i),
               fmt::format("{} is this rollout; list the other rollouts of the same product it may overlap",
                           Quote(r.name)));
        return;
      }
    }
    r.supersedes = std::move(*names);
  }

  void ReadSpec(const Entry& spec, Rollout& r) {
    Entries m;
    if (!ReadMap(spec.value, MarkOf(spec), "spec",
                 {"productKey", "firmwareId", "srcVersions", "paused", "cancelSuperseded", "onHalt", "supersedes",
                  "upgrade", "stages"},
                 m, "a mapping")) {
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
    if (auto* x = Find(m, "supersedes")) ReadSupersedes(*x, r);
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
        r.stages.reserve(x->value.size());
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
          CheckRetryWithinTimeout(r, path, stage.upgrade);
          r.stages.push_back(std::move(stage));
        }
      }
    }
  }
};

}  // namespace

Diagnostic FileTooLarge(const std::string& display_name) {
  return Diagnostic{display_name, 0, 0, "",
                    fmt::format("larger than {} MiB, the limit for one manifest file; split it into several files",
                                kMaxFileBytes / (1024 * 1024))};
}

void ParseText(std::string_view text, const std::string& display_name, Documents& out,
               std::vector<Diagnostic>& errors) {
  if (text.size() > kMaxFileBytes) {
    errors.push_back(FileTooLarge(display_name));
    return;
  }
  if (auto bad = CheckText(text, display_name)) {
    errors.push_back(*bad);
    return;
  }
  YamlFile yaml;
  if (auto problem = ParseYaml(text, yaml)) {
    errors.push_back(DiagnosticAt(PositionOf(display_name, problem->mark), "", problem->message));
    return;
  }
  const FileName shown(display_name);  // one copy for every position of the file
  for (const Node& doc : yaml.documents) {
    if (doc.IsNull()) continue;  // an empty document (e.g. a trailing ---)
    size_t before = errors.size();
    if (!CheckTags(doc, display_name, errors) || errors.size() != before) continue;
    if (IsFreeze(doc)) {
      if (auto f = ReadFreeze(doc, shown, errors)) out.freezes.push_back(std::move(*f));
      continue;
    }
    DocReader reader(shown, errors);
    if (auto r = reader.Read(doc)) out.rollouts.push_back(std::move(*r));
  }
}

void FinishSet(Documents docs, LoadResult& result) {
  // The first occurrence in (file, line) order keeps the name; later ones are errors.
  struct Named {
    const std::string* name;
    const Position* at;
    bool freeze;
    size_t index;
  };
  std::vector<Named> all;
  for (size_t i = 0; i < docs.rollouts.size(); ++i) {
    all.push_back({&docs.rollouts[i].name, &docs.rollouts[i].name_position, false, i});
  }
  for (size_t i = 0; i < docs.freezes.size(); ++i) {
    all.push_back({&docs.freezes[i].name, &docs.freezes[i].name_position, true, i});
  }
  std::stable_sort(all.begin(), all.end(), [](const Named& a, const Named& b) {
    return std::tie(*a.name, a.at->file, a.at->line) < std::tie(*b.name, b.at->file, b.at->line);
  });
  std::set<size_t> dropped_rollouts, dropped_freezes;
  for (size_t i = 1; i < all.size(); ++i) {
    const Named& first = all[i - 1];
    if (*all[i].name != *first.name) continue;
    size_t j = i;
    while (j < all.size() && *all[j].name == *first.name) {
      const Position& p = *all[j].at;
      result.errors.push_back(Diagnostic{
          p.file, p.line, p.column, "metadata.name",
          fmt::format("\"{}\" is already defined at {}:{}:{}; names must be unique across the tree (rollouts and "
                      "freezes)",
                      *first.name, first.at->file, first.at->line, first.at->column)});
      (all[j].freeze ? dropped_freezes : dropped_rollouts).insert(all[j].index);
      ++j;
    }
    i = j - 1;
  }
  // Each document let go as it is moved: a large tree's model is most of
  // what plan holds.
  result.set.freezes.reserve(docs.freezes.size() - dropped_freezes.size());
  for (size_t i = 0; !docs.rollouts.empty(); ++i, docs.rollouts.pop_front()) {
    if (!dropped_rollouts.count(i)) result.set.rollouts.push_back(std::move(docs.rollouts.front()));
  }
  for (size_t i = 0; !docs.freezes.empty(); ++i, docs.freezes.pop_front()) {
    if (!dropped_freezes.count(i)) result.set.freezes.push_back(std::move(docs.freezes.front()));
  }
  std::sort(result.set.rollouts.begin(), result.set.rollouts.end(),
            [](const Rollout& a, const Rollout& b) { return a.name < b.name; });
  std::sort(result.set.freezes.begin(), result.set.freezes.end(),
            [](const Freeze& a, const Freeze& b) { return a.name < b.name; });
  core::SortDiagnostics(result.errors);
}

}  // namespace otaroll::manifest
