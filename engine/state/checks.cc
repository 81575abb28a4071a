#include "state/checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>

#include "state/request.h"

namespace otaroll::state {

namespace {

// Transport parameters of one call, never part of a job's specification; two
// are derived from the secret.
constexpr std::string_view kForbiddenRequestKeys[] = {"AccessKeyId", "AccessKeySecret", "Signature", "SignatureNonce"};

}  // namespace

core::Status CheckRequest(const Attempt& a, const std::string& where) {
  auto params = ParseRequest(a.request);
  if (!params) {
    try {
      (void)nlohmann::json(a.request).dump();  // throws on invalid UTF-8
    } catch (const nlohmann::json::exception&) {
      return core::Status::Invalid(fmt::format(
          "attempt {} for state file {} has a request parameter that is not valid UTF-8; fix the manifest value",
          a.intent_id, where));
    }
    return core::Status::Invalid(
        fmt::format("attempt {} for state file {} has a request that is not a JSON object of strings; record the "
                    "part's flattened parameters (state::RequestText)",
                    a.intent_id, where));
  }
  for (const auto& [key, value] : *params) {
    if (std::find(std::begin(kForbiddenRequestKeys), std::end(kForbiddenRequestKeys), key) !=
        std::end(kForbiddenRequestKeys)) {
      return core::Status::Invalid(fmt::format(
          "attempt {} for state file {} carries the call parameter {}; record only the job's own parameters",
          a.intent_id, where, key));
    }
  }
  return core::Status::Ok();
}

core::Status LiveIntentConflict(const Attempt& a, const std::string& live_intent_id, const std::string& live_status) {
  return core::Status::Conflict(fmt::format(
      "{}/{} already has attempt {} ({}) for this spec; no second intent was written and nothing was created "
      "(another otaroll planned from the same state); the run stopped",
      a.rollout, a.stage, live_intent_id, live_status));
}

core::Status NoSuchAttempt(int64_t id, const std::string& where) {
  return core::Status::NotFound(fmt::format("state file {} has no attempt {}", where, id));
}

core::Status IntentChanged(int64_t id, const std::string& where) {
  return core::Status::Invalid(
      fmt::format("attempt {} in state file {} was recorded with a different intent (intent id, rollout, stage, part, "
                  "spec hash, request or created_at); its intent never changes, record a new attempt instead",
                  id, where));
}

bool SameIntent(const Attempt& a, const Attempt& b) {
  return a.intent_id == b.intent_id && a.rollout == b.rollout && a.stage == b.stage && a.part == b.part &&
         a.parts == b.parts && a.spec_hash == b.spec_hash && a.request == b.request && a.created_at == b.created_at;
}

core::Status CheckSupersede(const Attempt& old_a, const Attempt& new_a, const std::string& where) {
  auto refuse = [&](const std::string& why) {
    return core::Status::Invalid(fmt::format("cannot mark attempt {} superseded by attempt {} in state file {}: {}",
                                             old_a.id, new_a.id, where, why));
  };
  if (old_a.id == new_a.id) return refuse("an attempt cannot replace itself");
  if (old_a.rollout != new_a.rollout || old_a.stage != new_a.stage) {
    return refuse(fmt::format("they belong to different stages ({}/{} and {}/{})", old_a.rollout, old_a.stage,
                              new_a.rollout, new_a.stage));
  }
  if (old_a.status != AttemptStatus::kCreated) {
    return refuse(fmt::format("the old one is {}, not created", StatusName(old_a.status)));
  }
  if (new_a.status != AttemptStatus::kCreated) {
    return refuse(fmt::format("the new one is {}, not created", StatusName(new_a.status)));
  }
  return core::Status::Ok();
}

core::Status CheckObservation(const Observation& o, const std::string& where) {
  const auto& statuses = TaskStatuses();
  for (const auto& [status, n] : o.by_status) {
    if (std::find(statuses.begin(), statuses.end(), status) == statuses.end()) {
      return core::Status::Invalid(fmt::format(
          "observation of job {} counts task status {}, which state file {} cannot record; known statuses are "
          "CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS, SUCCEEDED, FAILED and CANCELED",
          o.job_id, status, where));
    }
  }
  return core::Status::Ok();
}

core::Result<std::string> EventData(const Event& e, const std::string& where) {
  std::string data = e.data_json.empty() ? "{}" : e.data_json;
  if (!nlohmann::json::accept(data)) {
    return core::Status::Invalid(fmt::format(
        "event {} for state file {} has data that is not JSON; pass a JSON value or nothing", e.kind, where));
  }
  return data;
}

}  // namespace otaroll::state
