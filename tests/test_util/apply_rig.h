// The harness of the apply reliability tests (tests/cli/apply_reliability_test.cc),
// and of every test that carries real `otaroll` processes against a real
// `otaroll sandbox` to convergence: a rig (tree, state file, sandbox URL),
// apply runs as child processes, the plan as JSON, and the exactly-once
// audit of the sandbox's own job list against the state.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "platform/client.h"
#include "platform/curl_transport.h"
#include "state/db.h"
#include "state/open.h"
#include "state/sqlite_store.h"
#include "test_util/child.h"
#include "test_util/fleet_manifests.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"

namespace otaroll::test_util {

namespace rig {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
}  // namespace rig
using namespace rig;  // NOLINT(google-build-using-namespace): the harness's own short names

inline const std::string kBin = OTAROLL_BIN;
// What a second otaroll is told while the lease is held.
inline const std::string kLeaseMessage = "is locked by another otaroll (pid ";

// ---------------------------------------------------------------------------
// Children

inline RunOptions ChildOptions(unsigned timeout_seconds = 60) {
  RunOptions options;
  options.env = {{"OTAROLL_ACCESS_KEY_ID", kSandboxKeyId},
                 {"OTAROLL_ACCESS_KEY_SECRET", kSandboxSecret},
                 {"OTAROLL_STATE", ""},
                 {"OTAROLL_ENDPOINT", ""},
                 {"NO_COLOR", "1"}};
  options.timeout_seconds = timeout_seconds;
  return options;
}

inline RunResult Otaroll(std::vector<std::string> args, unsigned timeout_seconds = 60) {
  args.insert(args.begin(), kBin);
  Child child(std::move(args), ChildOptions(timeout_seconds));
  return child.Wait();
}

// The last `n` lines of `text`, for failure messages.
inline std::string Tail(const std::string& text, size_t n = 40) {
  size_t pos = text.size();
  for (size_t i = 0; i < n && pos > 0; ++i) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    pos = nl;
  }
  return pos == 0 ? text : "…" + text.substr(pos);
}

// Sandbox log lines containing every one of `needles`.
inline size_t CountLines(const std::string& log, std::initializer_list<std::string> needles) {
  size_t n = 0, start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string_view line(log.data() + start, end - start);
    bool all = true;
    for (const auto& needle : needles) all = all && line.find(needle) != std::string_view::npos;
    if (all) ++n;
    start = end + 1;
  }
  return n;
}

inline uint64_t TestSeed() {
  if (const char* s = std::getenv("OTAROLL_TEST_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// ---------------------------------------------------------------------------
// One apply rig: a tree, a state file, a sandbox.

struct Rig {
  std::string tree;
  std::string state;
  std::string url;
  std::vector<std::string> extra{};  // more apply options, e.g. --platform alibaba --region cn-shanghai
  std::string concurrency = "8";     // --concurrency

  // --timeout 1: an unknown attempt settles (may be looked up and created
  // again) 2 s after its last request. --concurrency 8: creates overlap, so
  // a kill or a fault meets several in flight.
  std::vector<std::string> ApplyArgs(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {kBin,
                                     "apply",
                                     tree,
                                     "--state",
                                     state,
                                     "--yes",
                                     "--endpoint",
                                     url,
                                     "--qps",
                                     "500",
                                     "--timeout",
                                     "1",
                                     "--connect-timeout",
                                     "1",
                                     "--max-creates",
                                     "1000",
                                     "--concurrency",
                                     "8"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  RunResult Apply(std::vector<std::string> more = {}) const {
    Child child(ApplyArgs(std::move(more)), ChildOptions(60));
    return child.Wait();
  }
};

struct PlanView {
  bool ok = false;
  std::string error;
  std::map<std::string, std::string> actions;  // "rollout/stage" -> action
  size_t orphans = 0;
  std::string counts;  // the summary counts, for messages

  bool Converged() const {
    if (!ok || orphans != 0 || actions.empty()) return false;
    for (const auto& [stage, action] : actions) {
      if (action != "in-sync") return false;
    }
    return true;
  }
  size_t Count(const std::string& action) const {
    size_t n = 0;
    for (const auto& [stage, a] : actions) n += a == action;
    return n;
  }
};

inline PlanView Plan(const Rig& s) {
  PlanView view;
  RunResult r = Otaroll({"plan", s.tree, "--state", s.state, "--format", "json"});
  if (r.exit_code != 0) {
    view.error = fmt::format("plan exited {}: {}", r.exit_code, r.err);
    return view;
  }
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    view.error = "plan printed no JSON: " + r.out;
    return view;
  }
  for (const auto& rollout : doc["rollouts"]) {
    for (const auto& stage : rollout["stages"]) {
      view.actions[rollout["name"].get<std::string>() + "/" + stage["name"].get<std::string>()] =
          stage["action"].get<std::string>();
    }
  }
  view.orphans = doc["orphans"].size();
  view.counts = doc["summary"]["counts"].dump();
  view.ok = true;
  return view;
}

// Runs apply until plan says every stage is in sync: at most `max_runs`
// runs and `budget`. Between unconverged runs it waits until `pace` has
// passed since the run started (the settle time of an unknown attempt is
// --timeout + 1 s; the plan is the condition polled).
struct Convergence {
  bool converged = false;
  int applies = 0;
  int lease_conflicts = 0;
  std::vector<int> exit_codes;
  std::vector<std::string> stderrs;
  std::string last_out;    // stdout of the last run
  std::string transcript;  // every run's exit code and stderr
  PlanView last_plan;
};

inline Convergence ApplyUntilConverged(const Rig& s, int max_runs = 40, seconds budget = seconds(120),
                                       milliseconds pace = milliseconds(700)) {
  Convergence c;
  auto deadline = Clock::now() + budget;
  while (c.applies < max_runs && Clock::now() < deadline) {
    auto started = Clock::now();
    RunResult r = s.Apply();
    ++c.applies;
    c.exit_codes.push_back(r.exit_code);
    c.stderrs.push_back(r.err);
    c.last_out = r.out;
    if (r.err.find(kLeaseMessage) != std::string::npos) ++c.lease_conflicts;
    c.transcript +=
        fmt::format("--- apply #{} exited {} after {} ms\n{}", c.applies, r.exit_code,
                    std::chrono::duration_cast<milliseconds>(Clock::now() - started).count(), Tail(r.err, 15));
    c.last_plan = Plan(s);
    if (c.last_plan.Converged()) {
      c.converged = true;
      return c;
    }
    c.transcript += "plan: " + (c.last_plan.ok ? c.last_plan.counts : c.last_plan.error) + "\n";
    std::this_thread::sleep_until(std::min(started + pace, deadline));  // pacing of the bounded poll
  }
  return c;
}

// ---------------------------------------------------------------------------
// What the platform holds

inline std::unique_ptr<platform::Client> MakeClient(const std::string& url, platform::CurlTransport& transport,
                                                    core::Clock& clock,
                                                    platform::Style style = platform::Style::kTuya) {
  platform::ClientConfig config;
  config.endpoint = url;
  config.style = style;
  if (style == platform::Style::kAlibaba) config.region = "cn-shanghai";
  config.limits = {1000, 1000, 1000};
  return std::make_unique<platform::Client>(config, platform::Credentials{kSandboxKeyId, kSandboxSecret}, transport,
                                            clock);
}

struct PlatformJob {
  std::string job_id;
  std::string key;  // FleetStage::Key() form
  std::string status;
};

// Every job of the fleet's firmwares, with its target read by QueryOTAJob
// (the job list does not carry GrayPercent or GroupId). Failures are test failures.
inline std::vector<PlatformJob> ListFleetJobs(const std::string& url, const std::vector<std::string>& firmware_ids) {
  platform::CurlTransport transport;
  core::SystemClock clock;
  auto client = MakeClient(url, transport, clock);
  std::vector<PlatformJob> jobs;
  for (const auto& firmware : firmware_ids) {
    auto listed = client->ListJobsByFirmware(firmware);
    if (!listed.ok()) {
      ADD_FAILURE() << "listing the jobs of firmware " << firmware << ": " << listed.error().Describe();
      continue;
    }
    for (const auto& item : *listed) {
      auto job = client->QueryJob(item.job_id);
      if (!job.ok()) {
        ADD_FAILURE() << "querying job " << item.job_id << ": " << job.error().Describe();
        continue;
      }
      std::string target = job->target_selection == "GRAY"    ? job->gray_percent
                           : job->target_selection == "GROUP" ? job->group_id
                                                              : "";
      jobs.push_back({job->job_id,
                      job->product_key + "|" + job->firmware_id + "|" + job->target_selection + "|" + target,
                      job->job_status});
    }
  }
  return jobs;
}

struct Audit {
  size_t jobs = 0;        // the sandbox's jobs of the fleet's firmwares
  size_t duplicates = 0;  // jobs beyond the first for a stage
  size_t lost = 0;        // stages without a job
  size_t unexpected = 0;  // jobs that belong to no stage
  std::string detail;
};

// The exactly-once check: the sandbox holds exactly one job per stage of
// `fleet`, state's created attempts are exactly those jobs, one per stage,
// and no attempt is left pending, unknown or failed.
inline Audit ExpectExactlyOnce(const std::string& url, const Fleet& fleet, const std::string& state_path) {
  Audit audit;
  std::vector<PlatformJob> jobs = ListFleetJobs(url, fleet.firmware_ids);
  audit.jobs = jobs.size();
  std::map<std::string, std::vector<std::string>> by_key;  // key -> job ids
  for (const auto& j : jobs) by_key[j.key].push_back(j.job_id);
  std::map<std::string, const FleetStage*> expected;
  for (const auto& s : fleet.stages) expected[s.Key()] = &s;
  for (const auto& [key, ids] : by_key) {
    if (!expected.count(key)) {
      audit.unexpected += ids.size();
      audit.detail += fmt::format("unexpected job(s) {} for {}\n", fmt::join(ids, ", "), key);
    } else if (ids.size() > 1) {
      audit.duplicates += ids.size() - 1;
      audit.detail += fmt::format("DUPLICATE jobs {} for {}\n", fmt::join(ids, ", "), key);
    }
  }
  for (const auto& [key, stage] : expected) {
    if (!by_key.count(key)) {
      ++audit.lost;
      audit.detail += fmt::format("LOST: no job for {}/{} ({})\n", stage->rollout, stage->stage, key);
    }
  }
  EXPECT_EQ(audit.duplicates, 0u) << audit.detail;
  EXPECT_EQ(audit.lost, 0u) << audit.detail;
  EXPECT_EQ(audit.unexpected, 0u) << audit.detail;
  EXPECT_EQ(audit.jobs, fleet.stages.size()) << audit.detail;

  auto snapshot = state::LoadSnapshotAt(state_path);
  if (!snapshot.ok()) {
    ADD_FAILURE() << "reading state " << state_path << ": " << snapshot.status().message();
    return audit;
  }
  std::map<std::string, std::vector<const state::Attempt*>> created;  // "rollout/stage" -> created attempts
  std::set<std::string> created_ids;
  for (const auto& a : snapshot->attempts) {
    // An intent the lookup proved was never created is closed as failed
    // "otaroll.NotCreated" and the stage gets a new attempt; any other failure
    // is a rejection nothing here should have caused.
    bool not_created = a.status == state::AttemptStatus::kFailed && a.error_code == "otaroll.NotCreated";
    EXPECT_TRUE(a.status != state::AttemptStatus::kPending && a.status != state::AttemptStatus::kUnknown &&
                (a.status != state::AttemptStatus::kFailed || not_created))
        << "attempt " << a.id << " (" << a.intent_id << ") of " << a.rollout << "/" << a.stage << " is "
        << state::StatusName(a.status) << " after convergence; error " << a.error_code << ": " << a.error_message;
    if (a.status == state::AttemptStatus::kCreated) {
      created[a.rollout + "/" + a.stage].push_back(&a);
      EXPECT_TRUE(created_ids.insert(a.job_id).second) << "job " << a.job_id << " is in state twice";
    }
  }
  std::set<std::string> sandbox_ids;
  for (const auto& j : jobs) sandbox_ids.insert(j.job_id);
  EXPECT_EQ(created_ids, sandbox_ids) << "state's created jobs differ from the sandbox's jobs\n" << audit.detail;
  for (const auto& stage : fleet.stages) {
    auto it = created.find(stage.rollout + "/" + stage.stage);
    if (it == created.end()) {
      ADD_FAILURE() << "state has no created attempt for " << stage.rollout << "/" << stage.stage;
      continue;
    }
    EXPECT_EQ(it->second.size(), 1u) << "created attempts for " << stage.rollout << "/" << stage.stage;
    auto on_platform = by_key.find(stage.Key());
    if (on_platform != by_key.end() && on_platform->second.size() == 1) {
      EXPECT_EQ(it->second.front()->job_id, on_platform->second.front())
          << "state records another job than the platform holds for " << stage.rollout << "/" << stage.stage;
    }
  }
  EXPECT_EQ(created.size(), fleet.stages.size());
  return audit;
}

// The sandbox every test uses: the test key, a small fleet, fast tasks.
inline std::vector<std::string> SandboxArgs(const TempDir& dir, std::vector<std::string> extra = {},
                                            const std::string& data = "sandbox.db") {
  std::vector<std::string> args = {"--data",       dir.Join(data), "--access-key",   "testid:testsecret",
                                   "--fleet-size", "20",           "--task-seconds", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The first column of the first row `sql` gives on the SQLite file at
// `path`, opened read-only; nullopt when there is no file, table or row.
inline std::optional<int64_t> QueryInt(const std::string& path, const std::string& sql) {
  if (!fs::exists(path)) return std::nullopt;
  sqlite3* db = nullptr;
  const std::string uri = state::SqliteUri(path, "mode=ro");
  std::optional<int64_t> value;
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

// The lease row's holder pid, read straight from the state file (read-only);
// nullopt when there is no file, no lease table or no row.
inline std::optional<int64_t> LeaseHolderPid(const std::string& state_path) {
  return QueryInt(state_path, "SELECT holder_pid FROM lease");
}

// `state_path` may also be a postgres:// URI.
inline size_t CountAttempts(const std::string& state_path, std::initializer_list<state::AttemptStatus> statuses) {
  if (state_path.rfind("postgres", 0) != 0 && !fs::exists(state_path)) return 0;
  auto snapshot = state::LoadSnapshotAt(state_path);
  if (!snapshot.ok()) return 0;
  size_t n = 0;
  for (const auto& a : snapshot->attempts) {
    for (auto s : statuses) n += a.status == s;
  }
  return n;
}

inline std::optional<std::string> FileBytes(const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  return detail::Slurp(path);
}

}  // namespace otaroll::test_util
