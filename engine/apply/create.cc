// Creating stages' jobs (SPEC §4 steps 1–5), a wave at a time: the parts of
// every stage in the wave are shared by up to Options::concurrency workers;
// per part, the lease is checked, a durable intent is committed, the call is
// made (the only step outside the lock, so calls overlap) and its outcome is
// recorded as it arrives. Resolving unknown outcomes is in resolve.cc;
// refreshing, superseding and pruning in applier.cc.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "apply/applier.h"
#include "apply/helpers.h"
#include "core/random.h"
#include "platform/wire.h"
#include "spec/spec.h"
#include "state/request.h"

namespace otaroll::apply {

using state::Attempt;
using state::AttemptStatus;

// The parts of one wave, shared by its workers under `mu`.
struct Applier::WaveRun {
  struct Item {
    size_t work;  // index into wave
    size_t part;
  };
  struct Ready {  // an intent written (attempt.part is its part), its call not made yet
    size_t work;
    Attempt attempt;
  };
  explicit WaveRun(std::vector<StageWork>& stages) : wave(stages) {}
  std::vector<StageWork>& wave;
  std::vector<Item> items;
  size_t batch = 1;  // intents written in one commit: as many as there are workers
  std::mutex mu;
  size_t next = 0;                            // the next item without an intent
  std::deque<Ready> ready;                    // intents whose calls are not made yet
  core::Status failure = core::Status::Ok();  // a state write failed: every worker stops
};

std::optional<Applier::StageWork> Applier::Prepare(const manifest::Rollout& rollout, const plan::StagePlan& stage,
                                                   const state::Snapshot& snapshot) const {
  const manifest::Stage* ms = nullptr;
  for (const auto& s : rollout.stages) {
    if (s.name == stage.name) ms = &s;
  }
  if (ms == nullptr) return std::nullopt;
  StageWork w{&rollout, stage, spec::Resolve(rollout, *ms), {}, false, 0};
  auto created = CreatedParts(snapshot, rollout.name, stage.name, w.spec.hash);
  for (size_t part = 0; part < w.spec.part_count(); ++part) {
    if (!created.count(static_cast<int>(part))) w.parts.push_back(part);
  }
  return w;
}

core::Status Applier::CreateWave(std::vector<StageWork>& wave, Report* report) {
  WaveRun run(wave);
  for (size_t w = 0; w < wave.size(); ++w) {
    for (size_t part : wave[w].parts) run.items.push_back({w, part});
  }
  const size_t threads = std::min(static_cast<size_t>(std::max(1, options_.concurrency)), run.items.size());
  run.batch = std::max<size_t>(1, threads);
  std::vector<std::thread> workers;
  for (size_t i = 1; i < threads; ++i) workers.emplace_back([this, &run, report] { CreateParts(run, report); });
  CreateParts(run, report);
  for (auto& t : workers) t.join();
  // The run stopped with intents whose calls were never made: they are
  // known not to have created anything.
  core::Status left = core::Status::Ok();
  for (auto& ready : run.ready) {
    if (auto s = RecordNotSent(run.wave[ready.work], std::move(ready.attempt), report); !s.ok() && left.ok()) left = s;
  }
  if (!run.failure.ok()) return run.failure;
  if (!left.ok() || report->stopped) return left;
  // A replacement whose every part is created supersedes the jobs it
  // replaces. One read of the state serves them all: a supersede writes only
  // its own stage's attempts.
  std::optional<state::Snapshot> fresh;
  for (const StageWork& w : wave) {
    if (w.stage.action != plan::Action::kReplace || w.halted) continue;
    if (!fresh) {
      auto loaded = store_.Load();
      if (!loaded.ok()) return loaded.status();
      fresh = std::move(*loaded);
    }
    auto created = CreatedParts(*fresh, w.rollout->name, w.stage.name, w.spec.hash);
    if (created.size() != w.spec.part_count() || created.empty()) continue;
    if (auto s = Supersede(*w.rollout, w.stage.name, w.spec.hash, created.rbegin()->second->id, *fresh, report);
        !s.ok() || report->stopped) {
      return s;
    }
  }
  return core::Status::Ok();
}

void Applier::CreateParts(WaveRun& run, Report* report) {
  std::unique_lock lock(run.mu);
  while (run.failure.ok() && !report->stopped) {
    if (run.ready.empty()) {
      if (run.next >= run.items.size()) return;
      // 1. Intents, durable before their calls: the next parts' in one commit.
      if (auto s = WriteIntents(run, report); !s.ok()) run.failure = s;
      continue;
    }
    WaveRun::Ready ready = std::move(run.ready.front());
    run.ready.pop_front();
    StageWork& w = run.wave[ready.work];
    if (Stopping(w, report)) {
      run.ready.push_front(std::move(ready));  // recorded not sent (CreateWave)
      return;
    }
    // 2. The call, while the other workers go on.
    ++report->create_calls;
    ++done_;
    lock.unlock();
    auto r = platform_.CreateJob(w.spec.part(static_cast<size_t>(ready.attempt.part)),
                                 options_.intent_tags ? ready.attempt.intent_id : "");
    lock.lock();
    // 3.–6. The outcome, recorded as it arrives.
    if (auto s = RecordCreate(w, std::move(ready.attempt), r, report); !s.ok()) run.failure = s;
  }
}

core::Status Applier::WriteIntents(WaveRun& run, Report* report) {
  auto tx = store_.Begin();
  if (!tx.ok()) return tx.status();
  std::deque<WaveRun::Ready> batch;
  while (batch.size() < run.batch && run.next < run.items.size()) {
    const WaveRun::Item item = run.items[run.next++];
    StageWork& w = run.wave[item.work];
    if (w.halted) continue;
    if (Stopping(w, report)) break;
    if (!Admit(w, item.part, batch.size(), report)) continue;
    auto intent = WriteIntent(*w.rollout, w.stage.name, w.spec, item.part);
    if (!intent.ok()) return intent.status();
    batch.push_back({item.work, std::move(*intent)});
  }
  if (batch.empty()) return core::Status::Ok();
  if (auto s = tx->Commit(); !s.ok()) return s;
  for (auto& b : batch) run.ready.push_back(std::move(b));
  return core::Status::Ok();
}

core::Status Applier::RecordNotSent(const StageWork& w, Attempt a, Report* report) {
  a.status = AttemptStatus::kFailed;
  a.error_code = state::kNotCreated;
  a.error_message = "not created: the run stopped before its call was made";
  a.updated_at = clock_.Now();
  const nlohmann::json data = {{"code", state::kNotCreated}};
  if (auto s = Record(a, "not-created", fmt::format("attempt {}: {}", a.intent_id, a.error_message), data.dump(),
                      state::Durability::kLazy);
      !s.ok()) {
    return s;
  }
  ++report->not_created;
  Say(EventKind::kNotCreated, a,
      fmt::format("{}: not-created: {}", StageName(w.rollout->name, w.stage.name), a.error_message));
  return core::Status::Ok();
}

bool Applier::Stopping(const StageWork& w, Report* report) {
  const std::string& rollout = w.rollout->name;
  const std::string& stage = w.stage.name;
  if (options_.lease_lost && options_.lease_lost()) {
    report->stopped = true;
    Problem(EventKind::kLeaseLost, rollout, stage,
            "the lease on the state file was lost (another process took it); the run stopped", report);
    return true;
  }
  if (options_.lease_unsafe && options_.lease_unsafe()) {
    report->stopped = true;
    Problem(EventKind::kLeaseLost, rollout, stage,
            "the lease on the state may run out before a create is answered (its heartbeats are late); nothing more "
            "is sent and the run stopped",
            report);
    return true;
  }
  if (options_.stop && options_.stop()) {
    report->stopped = true;
    Attempt at;
    at.rollout = rollout;
    at.stage = stage;
    Say(EventKind::kStopped, at,
        fmt::format("{}: not started: stopping (a signal asked otaroll to stop)", StageName(rollout, stage)));
    return true;
  }
  return false;
}

bool Applier::Admit(StageWork& w, size_t part, size_t in_hand, Report* report) {
  const std::string& rollout = w.rollout->name;
  const std::string& stage = w.stage.name;
  if (options_.max_creates >= 0 && report->create_calls + static_cast<int>(in_hand) >= options_.max_creates) {
    w.halted = true;
    const std::string which = w.started == 0 ? "" : fmt::format(" part {}", part + 1);
    Problem(EventKind::kSkipped, rollout, stage,
            fmt::format("{}:{} not started: --max-creates {} reached", StageName(rollout, stage), which,
                        options_.max_creates),
            report);
    return false;
  }
  ++w.started;
  return true;
}

core::Status Applier::RecordCreate(StageWork& w, Attempt a, const platform::CallResult<platform::CreatedJob>& r,
                                   Report* report) {
  const std::string where = StageName(w.rollout->name, w.stage.name);
  a.updated_at = clock_.Now();
  if (!r.ok()) {
    w.halted = true;  // the parts not started yet wait for this one
    return RecordFailedCreate(std::move(a), r.error(), where, report);
  }
  a.status = AttemptStatus::kCreated;
  a.job_id = r->job_id;
  a.job_created_at = core::ParseRfc3339(r->utc_create);
  if (!a.job_created_at) a.job_created_at = a.updated_at;
  a.request_id = r->request_id;
  const nlohmann::json data = {{"job", a.job_id}, {"target", w.stage.target}, {"part", a.part}, {"parts", a.parts}};
  if (auto s = Record(a, "created", fmt::format("attempt {}: created job {}", a.intent_id, a.job_id), data.dump(),
                      state::Durability::kLazy);
      !s.ok()) {
    return s;
  }
  ++report->created;
  Say(EventKind::kCreated, a,
      fmt::format("{}: created job {} ({}{})", where, a.job_id, w.stage.target,
                  a.parts > 1 ? fmt::format(", part {} of {}", a.part + 1, a.parts) : ""));
  return core::Status::Ok();
}

core::Result<Attempt> Applier::WriteIntent(const manifest::Rollout& rollout, const std::string& stage,
                                           const spec::StageSpec& spec, size_t part) {
  Attempt a;
  a.intent_id = core::RandomHex(16);
  a.rollout = rollout.name;
  a.stage = stage;
  a.part = static_cast<int>(part);
  a.parts = static_cast<int>(spec.part_count());
  a.spec_hash = spec.hash;
  a.request = state::RequestText(platform::CreateJobParams(
      spec.part(part), options_.intent_tags ? platform::Style::kAlibaba : platform::Style::kTuya,
      options_.intent_tags ? a.intent_id : ""));
  a.status = AttemptStatus::kPending;
  a.attempt_count = 1;
  a.created_at = a.updated_at = clock_.Now();
  const std::string what =
      spec.part_count() > 1
          ? fmt::format("{} (part {} of {})", spec::DescribeTarget(spec.part(part)), part + 1, spec.part_count())
          : spec::DescribeTarget(spec.part(part));
  if (auto s = store_.UpsertRollout(rollout.name, rollout.product_key, rollout.firmware_id, a.created_at); !s.ok()) {
    return s;
  }
  auto id = store_.InsertAttempt(a);
  if (!id.ok()) return id.status();
  a.id = *id;
  if (auto s =
          Event(&a, rollout.name, stage, "intent",
                fmt::format("attempt {}: creating a job for {} (spec {})", a.intent_id, what, spec.hash.substr(0, 12)));
      !s.ok()) {
    return s;
  }
  return a;
}

core::Status Applier::RecordFailedCreate(Attempt a, const platform::CallError& e, const std::string& where,
                                         Report* report) {
  a.attempt_count = e.attempts;
  a.error_code = CodeOf(e);
  a.error_message = e.Describe();
  EventKind kind = EventKind::kNotCreated;
  if (e.OutcomeUnknown()) {
    // 6. Unknown: resolved by lookup on the next run, never re-sent blind.
    a.status = AttemptStatus::kUnknown;
    kind = EventKind::kUnknown;
    ++report->unknown;
    Problem(kind, a,
            fmt::format("{}: the outcome of the create is unknown ({}); the next apply looks the job up before "
                        "anything else",
                        where, e.Describe()),
            report);
  } else if (e.cls == platform::ErrorClass::kRejected) {
    // 4. A definite rejection.
    a.status = AttemptStatus::kFailed;
    kind = EventKind::kFailed;
    ++report->failed;
    Problem(kind, a,
            fmt::format("{}: the platform rejected the job: {}; change the stage or run 'otaroll apply --retry-failed'",
                        where, e.Describe()),
            report);
  } else {
    // 5. Nothing was created (throttled, never sent, refused credentials).
    a.status = AttemptStatus::kFailed;
    a.error_code = state::kNotCreated;
    a.error_message = "not created: " + e.Describe();
    if (!Stopped(e, fmt::format("creating a job for {}", where), report)) {
      ++report->not_created;
      Problem(kind, a, fmt::format("{}: no job was created ({}); the next apply tries again", where, e.Describe()),
              report);
    }
  }
  const char* name = EventKindName(kind);
  const nlohmann::json data = {{"code", CodeOf(e)}};
  if (auto s = Record(a, name, fmt::format("attempt {}: {}", a.intent_id, a.error_message), data.dump(),
                      state::Durability::kLazy);
      !s.ok()) {
    return s;
  }
  Say(kind, a, fmt::format("{}: {}: {}", where, name, a.error_message));
  return core::Status::Ok();
}

}  // namespace otaroll::apply
