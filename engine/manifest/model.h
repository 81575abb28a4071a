// The typed manifest model (SPEC §1). Every element keeps the place it was
// written so later layers can point users at it.
#pragma once

#include <fmt/format.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/time.h"

namespace otaroll::manifest {

// A file's name as shown to users: DIR joined with the path below DIR. One
// copy per file, shared by every position in it (a large tree has tens of
// thousands of positions in a few thousand files).
class FileName {
 public:
  FileName() = default;
  FileName(std::string name)  // NOLINT(google-explicit-constructor): a name is a name
      : name_(std::make_shared<const std::string>(std::move(name))) {}
  FileName(const char* name) : FileName(std::string(name)) {}  // NOLINT(google-explicit-constructor)
  const std::string& str() const;
  operator const std::string&() const { return str(); }  // NOLINT(google-explicit-constructor)
  friend bool operator==(const FileName& a, const FileName& b) { return a.str() == b.str(); }
  friend bool operator<(const FileName& a, const FileName& b) { return a.str() < b.str(); }
  friend std::ostream& operator<<(std::ostream& out, const FileName& f) { return out << f.str(); }

 private:
  std::shared_ptr<const std::string> name_;
};

struct Position {
  FileName file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

enum class Target { kGray, kGroup, kSpecific, kAll };

// Job options (spec.upgrade or a stage's upgrade override). Unset = inherit.
struct Upgrade {
  std::optional<int> retry_interval_minutes;
  std::optional<int> retry_count;
  std::optional<int> timeout_minutes;
  std::optional<bool> need_push;
  std::optional<bool> need_confirm;
  std::optional<std::string> download_protocol;
  // Where, in the document's file, the two options whose combination is
  // checked were written (the retry interval must be below the timeout);
  // 0 when not written.
  struct Place {
    int line = 0, column = 0;
  };
  Place retry_interval_at, timeout_at;
};

struct Health {
  long long min_tasks = 1;
  std::optional<double> max_failed_percent;
  std::optional<double> min_succeeded_percent;
};

// gate.window: a stage starts only inside one of its windows, in the local
// time of a zone of the tz database (manifest/window.h).
struct Window {
  std::vector<int> days;  // 0 = Monday … 6 = Sunday, ascending; empty = every day
  int start_minute = 0;   // after local midnight of a day in `days`
  int end_minute = 0;     // ≤ start_minute: the window wraps past midnight; 1440 = 24:00
  std::string hours;      // as written, e.g. "22:00-02:00"
  std::string time_zone = "UTC";
  Position position;
};

// Conditions on the PREVIOUS stage before this one starts. Not part of the hash.
struct Gate {
  std::optional<core::Duration> soak;
  std::string soak_text;  // as written, e.g. "24h"
  bool hold = false;
  std::optional<core::Time> not_before;
  std::optional<Health> health;
  std::vector<Window> windows;  // several: any of them
};

struct Stage {
  std::string name;
  Target target = Target::kAll;
  int gray_percent = 0;              // kGray
  std::string group_id;              // kGroup
  std::vector<std::string> devices;  // kSpecific, as written
  Gate gate;
  Upgrade upgrade;  // per-stage override
  Position position;
};

enum class OnHalt { kStop, kCancel };

struct Rollout {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string product_key;
  std::string firmware_id;
  std::vector<std::string> src_versions;
  bool paused = false;
  bool cancel_superseded = false;
  OnHalt on_halt = OnHalt::kStop;
  // spec.supersedes: rollouts of the same product this one does not wait
  // for, though their jobs could hold the same devices (SPEC §1).
  std::vector<std::string> supersedes;
  Upgrade upgrade;
  std::vector<Stage> stages;
  Position position;  // of the document (apiVersion line)
  Position name_position;
};

// kind: Freeze — no new job starts in the rollouts it matches from `from`
// until `until` (SPEC §1). A freeze wins over a window.
struct Freeze {
  std::string name;
  core::Time from{}, until{};
  std::string from_text, until_text;  // as written
  std::string reason;
  std::map<std::string, std::string> selector;  // labels a rollout must have; empty = every rollout
  Position position;
  Position name_position;
  bool Matches(const Rollout& r) const;
};

// All rollouts and freezes of a tree, each sorted by name. Rollouts are a
// deque: each its own allocation, so a large tree's documents become the
// set without ever being held twice (FinishSet).
struct ManifestSet {
  std::deque<Rollout> rollouts;
  std::vector<Freeze> freezes;
  size_t files = 0;  // manifest files read

  const Rollout* Find(const std::string& name) const;
  // Its place in `rollouts`.
  std::optional<size_t> FindIndex(const std::string& name) const;
};

const char* TargetName(Target t);  // "GRAY", "GROUP", "SPECIFIC", "ALL"

}  // namespace otaroll::manifest

template <>
struct fmt::formatter<otaroll::manifest::FileName> : fmt::formatter<std::string_view> {
  auto format(const otaroll::manifest::FileName& f, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(f.str(), ctx);
  }
};
