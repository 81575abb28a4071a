// Resolving unknown outcomes (SPEC §4 step 6): every pending or unknown
// attempt is looked up on the platform (the firmware's job list, then each
// candidate's full spec and, for SPECIFIC jobs, its devices) and adopted, or
// proved not created, before anything else touches its stage. Creating is in
// create.cc.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "apply/applier.h"
#include "apply/helpers.h"
#include "apply/match.h"
#include "platform/wire.h"
#include "spec/request.h"
#include "state/request.h"

namespace otaroll::apply {

using state::Attempt;
using state::AttemptStatus;

core::Status Applier::Resolve(const state::Snapshot& snapshot, Report* report) {
  std::set<std::string> known;
  for (const auto& a : snapshot.attempts) {
    if (!a.job_id.empty()) known.insert(a.job_id);
  }
  // One listing per firmware serves every unresolved attempt of it. Every
  // one is looked up at once: a job that matches is adopted now; only the
  // conclusion "nothing was created" waits until the request has settled.
  std::map<std::string, std::vector<const Attempt*>> by_firmware;
  for (const auto& a : snapshot.attempts) {
    if (state::Unresolved(a)) by_firmware[spec::ReadRequest(state::ParamsOf(a.request)).firmware_id].push_back(&a);
  }
  for (const auto& [firmware, attempts] : by_firmware) {
    auto jobs = platform_.ListJobsByFirmware(firmware);
    if (!jobs.ok()) {
      if (Stopped(jobs.error(), fmt::format("listing the jobs of firmware {}", firmware), report)) {
        return core::Status::Ok();
      }
      // The settle clock keeps running from the request: updated_at stays.
      for (const Attempt* a : attempts) {
        if (auto s = StillUnknown(*a, jobs.error(), "looking the job up failed: " + jobs.error().Describe(), report);
            !s.ok()) {
          return s;
        }
      }
      continue;
    }
    for (const Attempt* a : attempts) {
      if (auto s = ResolveOne(*a, *jobs, known, report); !s.ok()) return s;
      if (report->stopped) return core::Status::Ok();
    }
  }
  return core::Status::Ok();
}

core::Status Applier::StillUnknown(Attempt a, const platform::CallError& error, std::string why, Report* report) {
  a.status = AttemptStatus::kUnknown;
  a.error_code = CodeOf(error);
  a.error_message = std::move(why);
  if (auto s =
          Record(a, "lookup-failed", fmt::format("attempt {}: {}; it stays unknown", a.intent_id, a.error_message));
      !s.ok()) {
    return s;
  }
  ++report->unknown;
  Problem(EventKind::kUnknown, a,
          fmt::format("{}: the outcome of attempt {} is still unknown: {}", StageName(a.rollout, a.stage), a.intent_id,
                      a.error_message),
          report);
  return core::Status::Ok();
}

core::Result<std::optional<std::vector<platform::JobInfo>>> Applier::FindJobs(
    const Attempt& a, const std::vector<platform::JobInfo>& jobs, const std::set<std::string>& known, Report* report) {
  using Found = std::optional<std::vector<platform::JobInfo>>;
  const spec::StoredRequest request = spec::ReadRequest(state::ParamsOf(a.request));
  std::vector<platform::JobInfo> matches;
  for (const auto& listed : jobs) {
    if (!IsCandidate(listed, request, a.created_at, options_.skew, known)) continue;
    if (options_.intent_tags) {
      if (auto tag = IntentTag(listed)) {
        if (*tag == a.intent_id) matches.push_back(listed);
        continue;
      }
    }
    auto full = platform_.QueryJob(listed.job_id);
    if (!full.ok()) {
      if (Stopped(full.error(), fmt::format("querying job {}", listed.job_id), report)) return Found();
      // One candidate could not be checked: nothing can be concluded.
      if (auto s = StillUnknown(
              a, full.error(),
              fmt::format("checking candidate job {} failed: {}", listed.job_id, full.error().Describe()), report);
          !s.ok()) {
        return s;
      }
      return Found();
    }
    auto tag = options_.intent_tags ? IntentTag(*full) : std::nullopt;
    bool same = tag ? *tag == a.intent_id : SameSpec(*full, request);
    if (same && request.specific() && full->target_device_names.empty()) {
      // The platform does not name a SPECIFIC job's devices; its tasks do.
      // Without this, two stages of one firmware that differ only in their
      // devices could take each other's jobs.
      auto tasks = platform_.ListTasks(listed.job_id);
      if (!tasks.ok()) {
        if (Stopped(tasks.error(), fmt::format("listing the tasks of job {}", listed.job_id), report)) return Found();
        if (auto s = StillUnknown(a, tasks.error(),
                                  fmt::format("listing the devices of candidate job {} failed: {}", listed.job_id,
                                              tasks.error().Describe()),
                                  report);
            !s.ok()) {
          return s;
        }
        return Found();
      }
      same = DevicesFit(*tasks, request);
    }
    if (same) matches.push_back(*full);
  }
  return Found(std::move(matches));
}

core::Status Applier::ResolveOne(Attempt a, const std::vector<platform::JobInfo>& jobs, std::set<std::string>& known,
                                 Report* report) {
  auto found = FindJobs(a, jobs, known, report);
  if (!found.ok()) return found.status();
  if (!*found) return core::Status::Ok();  // stopped, or still unknown (recorded)
  std::vector<platform::JobInfo>& matches = **found;
  const std::string where = StageName(a.rollout, a.stage);
  if (matches.empty() && clock_.Now() - a.updated_at < options_.settle) {
    // The request may still be in flight (a killed process's request can
    // reach the platform later): nothing is concluded yet.
    ++report->unknown;
    Problem(EventKind::kUnknown, a,
            fmt::format("{}: attempt {} was sent at {} and may still be in flight; no job for it is listed yet; it is "
                        "looked up again, and concluded not created once it has settled (after {})",
                        where, a.intent_id, core::FormatRfc3339(a.updated_at),
                        core::FormatRfc3339(a.updated_at + options_.settle)),
            report);
    return core::Status::Ok();
  }
  if (matches.empty()) {
    a.status = AttemptStatus::kFailed;
    a.error_code = state::kNotCreated;
    a.error_message = "the platform shows no job for this attempt: nothing was created";
    a.updated_at = clock_.Now();
    // "resolved": an unknown outcome concluded (a notification), unlike a
    // throttled create's not-created.
    if (auto s = Record(a, "not-created",
                        fmt::format("attempt {}: the platform shows no such job; nothing was created", a.intent_id),
                        R"({"resolved":true})");
        !s.ok()) {
      return s;
    }
    ++report->absent;
    Say(EventKind::kNotCreated, a,
        fmt::format("{}: attempt {} created nothing (the platform shows no such job); it will be created again", where,
                    a.intent_id));
    return core::Status::Ok();
  }
  std::sort(matches.begin(), matches.end(),
            [](const platform::JobInfo& x, const platform::JobInfo& y) { return x.utc_create < y.utc_create; });
  const platform::JobInfo& job = matches.front();
  if (matches.size() > 1) {
    if (auto s = SayDuplicates(a, matches, report); !s.ok()) return s;
  }
  a.status = AttemptStatus::kCreated;
  a.job_id = job.job_id;
  a.job_created_at = core::ParseRfc3339(job.utc_create);
  if (!a.job_created_at) a.job_created_at = a.updated_at;
  a.job_status = job.job_status;
  a.error_code.clear();
  a.error_message.clear();
  a.updated_at = clock_.Now();
  if (auto s = Record(a, "adopted",
                      fmt::format("attempt {}: found job {} on the platform and adopted it", a.intent_id, job.job_id),
                      nlohmann::json{{"job", job.job_id}}.dump());
      !s.ok()) {
    return s;
  }
  known.insert(job.job_id);
  ++report->adopted;
  Say(EventKind::kAdopted, a,
      fmt::format("{}: attempt {} had created job {}; adopted", where, a.intent_id, job.job_id));
  return core::Status::Ok();
}

core::Status Applier::SayDuplicates(const Attempt& a, const std::vector<platform::JobInfo>& matches, Report* report) {
  // More than one job fits this one intent: the platform holds duplicates.
  std::string others;
  for (size_t i = 1; i < matches.size(); ++i) others += (others.empty() ? "" : ", ") + matches[i].job_id;
  std::string message = fmt::format(
      "the platform shows {} jobs for attempt {}: adopted the oldest, {}; {} {} duplicate{}: cancel {} tasks on the "
      "platform",
      matches.size(), a.intent_id, matches.front().job_id, others, matches.size() == 2 ? "is a" : "are",
      matches.size() == 2 ? "" : "s", matches.size() == 2 ? "its" : "their");
  Attempt with_job = a;
  with_job.job_id = matches.front().job_id;
  Problem(EventKind::kDuplicate, with_job, fmt::format("{}: {}", StageName(a.rollout, a.stage), message), report);
  return Event(&a, a.rollout, a.stage, "duplicate", message);
}

}  // namespace otaroll::apply
