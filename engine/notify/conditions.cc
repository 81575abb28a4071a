#include "notify/conditions.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

namespace otaroll::notify {

namespace {

bool Tracks(plan::Action a) {
  return a == plan::Action::kHalted || a == plan::Action::kHeld || a == plan::Action::kWaiting ||
         a == plan::Action::kUnknown;
}

// The session passes "digest:<hex>" when the manifests are not a git
// checkout (apply/session.cc).
constexpr std::string_view kDigest = "digest:";

bool IsDigest(const std::string& commit) {
  return commit.rfind(kDigest, 0) == 0;
}

// "commit 0123456789ab" or "manifest digest 0123456789ab".
std::string Where(const std::string& commit) {
  return IsDigest(commit) ? fmt::format("manifest digest {}", commit.substr(kDigest.size(), 12))
                          : fmt::format("commit {}", commit.substr(0, 12));
}

// {"commit": …} or {"digest": …}.
void PutCommit(nlohmann::json& data, const std::string& commit) {
  if (IsDigest(commit)) {
    data["digest"] = commit.substr(kDigest.size());
  } else {
    data["commit"] = commit;
  }
}

nlohmann::json HealthJson(const plan::HealthView& h) {
  return {{"job", h.job_id},          {"observed_at", core::FormatRfc3339(h.observed_at)},
          {"total", h.total},         {"finished", h.finished},
          {"succeeded", h.succeeded}, {"failed", h.failed}};
}

state::Event StageEvent(const plan::RolloutPlan& r, const plan::StagePlan& s, const char* kind, std::string message,
                        nlohmann::json data, core::Time now) {
  if (s.health) data["health"] = HealthJson(*s.health);
  return state::Event{0, now, r.name, s.name, std::nullopt, kind, std::move(message), data.dump()};
}

state::Event Halted(const plan::RolloutPlan& r, const plan::StagePlan& s, const std::string& commit, core::Time now) {
  nlohmann::json data = {{"state", "halted"}, {"cause", s.cause}, {"reason", s.reason}};
  PutCommit(data, commit);
  return StageEvent(r, s, "halted", fmt::format("{}/{} is halted at {}: {}", r.name, s.name, Where(commit), s.reason),
                    std::move(data), now);
}

nlohmann::json ReminderData(const state::Condition& c, const plan::StagePlan& s) {
  nlohmann::json data = {
      {"state", c.state}, {"cause", c.reason}, {"since", core::FormatRfc3339(c.since)}, {"reason", s.reason}};
  PutCommit(data, c.commit);
  return data;
}

state::Event Reminder(const plan::RolloutPlan& r, const plan::StagePlan& s, const state::Condition& c, core::Time now) {
  return StageEvent(r, s, "reminder",
                    fmt::format("{}/{} has been {} for {} (since {}): {}", r.name, s.name, c.state,
                                core::FormatDuration(now - c.since), core::FormatRfc3339(c.since), s.reason),
                    ReminderData(c, s), now);
}

}  // namespace

Tracked Track(const plan::Plan& plan, const std::vector<state::Condition>& open, core::Time now,
              const std::string& commit, core::Duration remind_after) {
  std::map<std::pair<std::string, std::string>, const state::Condition*> before;
  for (const auto& c : open) before[{c.rollout, c.stage}] = &c;
  Tracked out;
  auto remind_at = [&](core::Time t) {
    if (!out.next_reminder || t < *out.next_reminder) out.next_reminder = t;
  };
  for (const plan::RolloutPlan& r : plan.rollouts) {
    for (const plan::StagePlan& s : r.stages) {
      auto it = before.find({r.name, s.name});
      const state::Condition* was = it == before.end() ? nullptr : it->second;
      if (was != nullptr) before.erase(it);
      if (!Tracks(s.action)) {
        if (was != nullptr) out.clear.emplace_back(r.name, s.name);
        continue;
      }
      state::Condition c;
      c.rollout = r.name;
      c.stage = s.name;
      c.state = plan::ActionName(s.action);
      c.reason = s.cause;
      c.commit = commit;
      c.since = now;
      const bool same = was != nullptr && was->state == c.state && was->reason == c.reason;
      if (same) {
        c.since = was->since;
        c.reminded = was->reminded && was->commit == commit;
      }
      if (s.action == plan::Action::kHalted && !(same && was->commit == commit)) {
        out.events.push_back(Halted(r, s, commit, now));
      }
      // A wait with a known end is not stuck until that end has passed.
      const bool scheduled = s.action == plan::Action::kWaiting && s.opens_at && *s.opens_at > now;
      if (remind_after > core::Duration::zero() && !c.reminded && !scheduled) {
        if (now - c.since >= remind_after) {
          c.reminded = true;
          out.events.push_back(Reminder(r, s, c, now));
        } else {
          remind_at(c.since + remind_after);
        }
      }
      if (was == nullptr || !(*was == c)) out.put.push_back(std::move(c));
    }
  }
  for (const auto& [key, c] : before) out.clear.push_back(key);
  return out;
}

core::Result<std::optional<core::Time>> Record(state::Store& store, const plan::Plan& plan, core::Time now,
                                               const std::string& commit, core::Duration remind_after) {
  auto tx = store.Begin();
  if (!tx.ok()) return tx.status();
  auto open = store.Conditions();
  if (!open.ok()) return open.status();
  Tracked t = Track(plan, *open, now, commit, remind_after);
  for (const auto& c : t.put) {
    if (auto s = store.PutCondition(c); !s.ok()) return s;
  }
  for (const auto& [rollout, stage] : t.clear) {
    if (auto s = store.ClearCondition(rollout, stage); !s.ok()) return s;
  }
  for (const auto& e : t.events) {
    if (auto s = store.AppendEvent(e); !s.ok()) return s;
  }
  if (t.put.empty() && t.clear.empty() && t.events.empty()) return t.next_reminder;
  if (auto s = tx->Commit(); !s.ok()) return s;
  return t.next_reminder;
}

}  // namespace otaroll::notify
