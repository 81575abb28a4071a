#include "sandbox/job.h"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace otaroll::sandbox {

std::string UtcMillis(core::Time t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  hh_mm_ss<milliseconds> hms{t - days};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

namespace {

using nlohmann::json;

json OptionalInt(const std::optional<int>& v) {
  return v ? json(*v) : json(nullptr);
}

std::optional<int> ReadOptionalInt(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<int>();
}

}  // namespace

std::string JobToJson(const Job& job) {
  json tags = json::array();
  for (const auto& [k, v] : job.tags) tags.push_back(json::array({k, v}));
  json j = {
      {"job_id", job.job_id},
      {"request_id", job.request_id},
      {"access_key_id", job.access_key_id},
      {"created_ms", job.created.time_since_epoch().count()},
      {"product_key", job.product_key},
      {"firmware_id", job.firmware_id},
      {"target_selection", job.target_selection},
      {"gray_percent", job.gray_percent},
      {"group_id", job.group_id},
      {"group_type", job.group_type},
      {"devices", job.devices},
      {"src_versions", job.src_versions},
      {"retry_interval", OptionalInt(job.retry_interval)},
      {"retry_count", OptionalInt(job.retry_count)},
      {"timeout_minutes", OptionalInt(job.timeout_minutes)},
      {"need_push", job.need_push},
      {"need_confirm", job.need_confirm},
      {"download_protocol", job.download_protocol},
      {"tags", tags},
      {"fleet",
       {{"fleet_size", job.fleet.fleet_size},
        {"failure_percent", job.fleet.failure_percent},
        {"task_ms", job.fleet.task_ms},
        {"seed", job.fleet.seed},
        {"busy_devices", job.fleet.busy_devices}}},
      {"busy", job.busy},
  };
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

core::Status JobFromJson(std::string_view text, Job* job) {
  try {
    json j = json::parse(text);
    job->job_id = j.at("job_id").get<std::string>();
    job->request_id = j.at("request_id").get<std::string>();
    job->access_key_id = j.at("access_key_id").get<std::string>();
    job->created = core::Time(core::Duration(j.at("created_ms").get<int64_t>()));
    job->product_key = j.at("product_key").get<std::string>();
    job->firmware_id = j.at("firmware_id").get<std::string>();
    job->target_selection = j.at("target_selection").get<std::string>();
    job->gray_percent = j.at("gray_percent").get<int>();
    job->group_id = j.at("group_id").get<std::string>();
    job->group_type = j.at("group_type").get<std::string>();
    job->devices = j.at("devices").get<std::vector<std::string>>();
    job->src_versions = j.at("src_versions").get<std::vector<std::string>>();
    job->retry_interval = ReadOptionalInt(j, "retry_interval");
    job->retry_count = ReadOptionalInt(j, "retry_count");
    job->timeout_minutes = ReadOptionalInt(j, "timeout_minutes");
    job->need_push = j.at("need_push").get<bool>();
    job->need_confirm = j.at("need_confirm").get<bool>();
    job->download_protocol = j.at("download_protocol").get<std::string>();
    job->tags.clear();
    for (const auto& t : j.at("tags")) job->tags.emplace_back(t.at(0).get<std::string>(), t.at(1).get<std::string>());
    const json& f = j.at("fleet");
    job->fleet.fleet_size = f.at("fleet_size").get<int64_t>();
    job->fleet.failure_percent = f.at("failure_percent").get<double>();
    job->fleet.task_ms = f.at("task_ms").get<int64_t>();
    job->fleet.seed = f.at("seed").get<uint64_t>();
    job->fleet.busy_devices = f.at("busy_devices").get<bool>();
    job->busy = j.at("busy").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return core::Status::Corruption(fmt::format("a job record is not what otaroll sandbox wrote ({})", e.what()));
  }
  if (job->fleet.task_ms < 1 || job->fleet.fleet_size < 0) {
    return core::Status::Corruption(fmt::format("job {} has impossible fleet parameters", job->job_id));
  }
  return core::Status::Ok();
}

}  // namespace otaroll::sandbox
