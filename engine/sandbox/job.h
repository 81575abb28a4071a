// A job of `otaroll sandbox`: what CreateOTAStaticUpgradeJob accepted, the
// fleet parameters it was created with, and its cancellations. Everything the
// fleet simulation needs is in the record, so a job's tasks are a pure
// function of (job, now) and survive restarts with other options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "platform/signature.h"

namespace otaroll::sandbox {

// How the simulated fleet behaves; fixed per job at its creation.
struct FleetConfig {
  int64_t fleet_size = 1000;   // devices per product key
  double failure_percent = 2;  // share of tasks that end FAILED
  int64_t task_ms = 60000;     // from QUEUED to the task's end, at most
  uint64_t seed = 1;           // device choice, timings and failures
  bool busy_devices = true;    // a device busy in an earlier job gets a FAILED task
};

// One CancelOTATaskByJob call.
struct Cancel {
  core::Time at{};
  std::string request_id;
  bool scheduled = false;
  bool queued = false;
  bool notified = false;
  bool in_progress = false;
  bool unconfirmed = false;
};

struct Job {
  std::string job_id;         // 19 decimal digits
  std::string request_id;     // of the create call
  std::string access_key_id;  // who created it
  core::Time created{};

  std::string product_key;
  std::string firmware_id;
  std::string target_selection;           // ALL, SPECIFIC, GRAY, GROUP
  int gray_percent = 0;                   // GRAY
  std::string group_id;                   // GROUP
  std::string group_type;                 // GROUP, as sent ("" when absent)
  std::vector<std::string> devices;       // SPECIFIC, in request order
  std::vector<std::string> src_versions;  // in request order
  std::optional<int> retry_interval;
  std::optional<int> retry_count;
  std::optional<int> timeout_minutes;
  bool need_push = true;
  bool need_confirm = false;
  std::string download_protocol;  // as sent; "" when absent (reported as HTTPS)
  std::vector<std::pair<std::string, std::string>> tags;

  platform::Params params;  // every request parameter except Signature

  FleetConfig fleet;
  std::vector<std::string> busy;  // sorted: targets that were upgrading in another job at creation
  std::vector<Cancel> cancels;    // in the order they were made
};

// "2024-11-20T08:50:00.239Z": always with milliseconds, as the platform writes.
std::string UtcMillis(core::Time t);

// The job record (everything but params and cancels) as JSON text, and back.
std::string JobToJson(const Job& job);
core::Status JobFromJson(std::string_view text, Job* job);

}  // namespace otaroll::sandbox
