// Creating a stage's jobs (SPEC §4 steps 1–5): per part, a durable intent,
// then the call, then its outcome recorded. Resolving unknown outcomes is in
// resolve.cc; refreshing, superseding and pruning in applier.cc.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "apply/applier.h"
#include "apply/helpers.h"
#include "core/random.h"
#include "platform/wire.h"
#include "spec/spec.h"

namespace otaroll::apply {

using state::Attempt;
using state::AttemptStatus;

core::Status Applier::CreateStage(const manifest::Rollout& rollout, const plan::StagePlan& stage,
                                  const state::Snapshot& snapshot, Report* report) {
  const manifest::Stage* ms = nullptr;
  for (const auto& s : rollout.stages) {
    if (s.name == stage.name) ms = &s;
  }
  if (ms == nullptr) return core::Status::Ok();
  const spec::StageSpec spec = spec::Resolve(rollout, *ms);
  const std::string where = StageName(rollout.name, stage.name);
  auto created = CreatedParts(snapshot, rollout.name, stage.name, spec.hash);
  if (auto s = store_.UpsertRollout(rollout.name, rollout.product_key, rollout.firmware_id, clock_.Now()); !s.ok()) {
    return s;
  }
  int64_t last_id = created.empty() ? 0 : created.rbegin()->second->id;
  for (size_t part = 0; part < spec.parts.size(); ++part) {
    if (created.count(static_cast<int>(part))) continue;
    if (options_.lease_lost && options_.lease_lost()) {
      report->stopped = true;
      Problem(EventKind::kLeaseLost, rollout.name, stage.name,
              "the lease on the state file was lost (another process took it); the run stopped", report);
      return core::Status::Ok();
    }
    if (options_.stop && options_.stop()) {
      report->stopped = true;
      Attempt at;
      at.rollout = rollout.name;
      at.stage = stage.name;
      Say(EventKind::kStopped, at, fmt::format("{}: not started: stopping (a signal asked otaroll to stop)", where));
      return core::Status::Ok();
    }
    if (options_.max_creates >= 0 && report->create_calls >= options_.max_creates) {
      Problem(EventKind::kSkipped, rollout.name, stage.name,
              fmt::format("{}: part {} not started: --max-creates {} reached", where, part + 1, options_.max_creates),
              report);
      return core::Status::Ok();
    }
    // 1. The intent, durable before the call.
    auto intent = WriteIntent(rollout.name, stage.name, spec, part);
    if (!intent.ok()) return intent.status();
    Attempt& a = *intent;
    // 2. The call.
    ++report->create_calls;
    ++done_;
    auto r = platform_.CreateJob(spec.parts[part], options_.intent_tags ? a.intent_id : "");
    a.updated_at = clock_.Now();
    if (!r.ok()) return RecordFailedCreate(a, r.error(), where, report);  // the other parts wait for this one
    // 3. Created.
    a.status = AttemptStatus::kCreated;
    a.job_id = r->job_id;
    a.job_created_at = core::ParseRfc3339(r->utc_create);
    if (!a.job_created_at) a.job_created_at = a.updated_at;
    a.request_id = r->request_id;
    const nlohmann::json data = {{"job", a.job_id}, {"target", stage.target}, {"part", a.part}, {"parts", a.parts}};
    if (auto s = Record(a, "created", fmt::format("attempt {}: created job {}", a.intent_id, a.job_id), data.dump());
        !s.ok()) {
      return s;
    }
    ++report->created;
    last_id = a.id;
    Say(EventKind::kCreated, a,
        fmt::format("{}: created job {} ({}{})", where, a.job_id, stage.target,
                    spec.parts.size() > 1 ? fmt::format(", part {} of {}", part + 1, spec.parts.size()) : ""));
  }
  if (stage.action == plan::Action::kReplace && last_id > 0) {
    auto fresh = store_.Load();
    if (!fresh.ok()) return fresh.status();
    return Supersede(rollout, stage.name, spec.hash, last_id, *fresh, report);
  }
  return core::Status::Ok();
}

core::Result<Attempt> Applier::WriteIntent(const std::string& rollout, const std::string& stage,
                                           const spec::StageSpec& spec, size_t part) {
  Attempt a;
  a.intent_id = core::RandomHex(16);
  a.rollout = rollout;
  a.stage = stage;
  a.part = static_cast<int>(part);
  a.parts = static_cast<int>(spec.parts.size());
  a.spec_hash = spec.hash;
  a.request = platform::CreateJobParams(spec.parts[part],
                                        options_.intent_tags ? platform::Style::kAlibaba : platform::Style::kTuya,
                                        options_.intent_tags ? a.intent_id : "");
  a.status = AttemptStatus::kPending;
  a.attempt_count = 1;
  a.created_at = a.updated_at = clock_.Now();
  const std::string what =
      spec.parts.size() > 1
          ? fmt::format("{} (part {} of {})", spec::DescribeTarget(spec.parts[part]), part + 1, spec.parts.size())
          : spec::DescribeTarget(spec.parts[part]);
  auto tx = store_.Begin();
  if (!tx.ok()) return tx.status();
  auto id = store_.InsertAttempt(a);
  if (!id.ok()) return id.status();
  a.id = *id;
  if (auto s =
          Event(&a, rollout, stage, "intent",
                fmt::format("attempt {}: creating a job for {} (spec {})", a.intent_id, what, spec.hash.substr(0, 12)));
      !s.ok()) {
    return s;
  }
  if (auto s = tx->Commit(); !s.ok()) return s;
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
  if (auto s = Record(a, name, fmt::format("attempt {}: {}", a.intent_id, a.error_message), data.dump()); !s.ok()) {
    return s;
  }
  Say(kind, a, fmt::format("{}: {}: {}", where, name, a.error_message));
  return core::Status::Ok();
}

}  // namespace otaroll::apply
