// `otaroll platform jobs|job|tasks`: what the platform holds, for operators.
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/platform_options.h"

namespace otaroll::cli {
namespace {

using nlohmann::ordered_json;

struct Settings {
  PlatformOptions platform;
  std::string format = "text";
  std::string firmware;
  std::string job_id;
  std::string status;
};

ordered_json JobJson(const platform::JobInfo& j) {
  ordered_json o;
  o["job_id"] = j.job_id;
  o["product_key"] = j.product_key;
  o["firmware_id"] = j.firmware_id;
  o["job_status"] = j.job_status;
  o["job_type"] = j.job_type;
  o["target_selection"] = j.target_selection;
  o["utc_create"] = j.utc_create;
  o["utc_modified"] = j.utc_modified;
  auto optional_text = [&](const char* key, const std::string& v) {
    if (!v.empty()) o[key] = v;
  };
  optional_text("gray_percent", j.gray_percent);
  optional_text("group_id", j.group_id);
  if (!j.src_versions.empty()) o["src_versions"] = j.src_versions;
  if (!j.target_device_names.empty()) o["target_device_names"] = j.target_device_names;
  optional_text("retry_interval", j.retry_interval);
  optional_text("retry_count", j.retry_count);
  optional_text("timeout_in_minutes", j.timeout_in_minutes);
  if (j.need_push) o["need_push"] = *j.need_push;
  if (j.need_confirm) o["need_confirm"] = *j.need_confirm;
  optional_text("download_protocol", j.download_protocol);
  if (!j.tags.empty()) {
    ordered_json tags = ordered_json::object();
    for (const auto& [k, v] : j.tags) tags[k] = v;
    o["tags"] = tags;
  }
  return o;
}

ordered_json TaskJson(const platform::TaskInfo& t) {
  return ordered_json{{"task_id", t.task_id},     {"device_name", t.device_name}, {"task_status", t.task_status},
                      {"progress", t.progress},   {"src_version", t.src_version}, {"dest_version", t.dest_version},
                      {"task_desc", t.task_desc}, {"utc_create", t.utc_create},   {"utc_modified", t.utc_modified}};
}

std::string Or(const std::string& v, const char* fallback) {
  return v.empty() ? fallback : v;
}

std::string Target(const platform::JobInfo& j) {
  if (j.target_selection == "GRAY") return fmt::format("GRAY {}%", Or(j.gray_percent, "?"));
  if (j.target_selection == "GROUP") return fmt::format("GROUP {}", Or(j.group_id, "?"));
  if (j.target_selection == "SPECIFIC" && !j.target_device_names.empty()) {
    return fmt::format("SPECIFIC {} devices", j.target_device_names.size());
  }
  return Or(j.target_selection, "-");
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

int Fail(const platform::CallError& e, const std::string& what) {
  PrintError(DescribeFailure(e, what));
  return kExitError;
}

int RunJobs(const Settings& s, platform::Client& client) {
  auto jobs = client.ListJobsByFirmware(s.firmware);
  if (!jobs.ok()) return Fail(jobs.error(), fmt::format("listing the jobs of firmware {}", s.firmware));
  if (s.format == "json") {
    ordered_json list = ordered_json::array();
    for (const auto& j : *jobs) list.push_back(JobJson(j));
    std::cout << ordered_json{{"format_version", 1}, {"firmware_id", s.firmware}, {"jobs", list}}.dump(2) << "\n";
    return kExitOk;
  }
  if (jobs->empty()) {
    std::cout << fmt::format("firmware {} has no jobs\n", s.firmware);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"JOB ID", "PRODUCT", "SELECTION", "STATUS", "CREATED"}};
  for (const auto& j : *jobs) {
    rows.push_back(
        {j.job_id, Or(j.product_key, "-"), Or(j.target_selection, "-"), Or(j.job_status, "-"), Or(j.utc_create, "-")});
  }
  std::cout << Table(rows)
            << fmt::format("{} job{} of firmware {}\n", jobs->size(), jobs->size() == 1 ? "" : "s", s.firmware);
  return kExitOk;
}

int RunJob(const Settings& s, platform::Client& client) {
  auto job = client.QueryJob(s.job_id);
  if (!job.ok()) return Fail(job.error(), fmt::format("querying job {}", s.job_id));
  const platform::JobInfo& j = *job;
  if (s.format == "json") {
    std::cout << ordered_json{{"format_version", 1}, {"job", JobJson(j)}}.dump(2) << "\n";
    return kExitOk;
  }
  std::string retry = "none";
  if (!j.retry_interval.empty()) {
    retry = fmt::format("{} retr{} every {} min", Or(j.retry_count, "?"), j.retry_count == "1" ? "y" : "ies",
                        j.retry_interval);
  }
  std::string tags;
  for (const auto& [k, v] : j.tags) tags += (tags.empty() ? "" : ", ") + k + "=" + v;
  auto flag = [](const std::optional<bool>& b) { return b ? (*b ? "true" : "false") : "-"; };
  std::vector<std::vector<std::string>> rows = {
      {"job", j.job_id},
      {"status", Or(j.job_status, "-")},
      {"product", Or(j.product_key, "-")},
      {"firmware", Or(j.firmware_id, "-")},
      {"target", Target(j)},
      {"source versions", j.src_versions.empty() ? "any" : Join(j.src_versions)},
      {"retry", retry},
      {"timeout", j.timeout_in_minutes.empty() ? "none" : j.timeout_in_minutes + " min"},
      {"push / confirm", fmt::format("{} / {}", flag(j.need_push), flag(j.need_confirm))},
      {"download", Or(j.download_protocol, "-")},
      {"created", Or(j.utc_create, "-")},
      {"modified", Or(j.utc_modified, "-")},
      {"tags", tags.empty() ? "none" : tags},
  };
  for (auto& r : rows) r[0] += ":";
  std::cout << Table(rows);
  return kExitOk;
}

int RunTasks(const Settings& s, platform::Client& client) {
  auto tasks = client.ListTasks(s.job_id, s.status);
  std::string what = s.status.empty() ? fmt::format("listing the tasks of job {}", s.job_id)
                                      : fmt::format("listing the {} tasks of job {}", s.status, s.job_id);
  if (!tasks.ok()) return Fail(tasks.error(), what);
  std::map<std::string, size_t> counts;
  for (const auto& t : *tasks) ++counts[t.task_status];
  if (s.format == "json") {
    ordered_json list = ordered_json::array();
    for (const auto& t : *tasks) list.push_back(TaskJson(t));
    ordered_json by_status = ordered_json::object();
    for (const auto& [k, v] : counts) by_status[k] = v;
    ordered_json out{{"format_version", 1}, {"job_id", s.job_id}};
    if (!s.status.empty()) out["status"] = s.status;
    out["counts"] = by_status;
    out["tasks"] = list;
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (tasks->empty()) {
    std::cout << fmt::format("job {} has no {}tasks\n", s.job_id, s.status.empty() ? "" : s.status + " ");
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"TASK ID", "DEVICE", "STATUS", "PROGRESS", "DESCRIPTION"}};
  for (const auto& t : *tasks) {
    rows.push_back(
        {Or(t.task_id, "-"), Or(t.device_name, "-"), Or(t.task_status, "-"), Or(t.progress, "-"), Or(t.task_desc, "")});
  }
  std::string summary;
  for (const auto& [k, v] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", v, k);
  std::cout << Table(rows) << fmt::format("{} task{}: {}\n", tasks->size(), tasks->size() == 1 ? "" : "s", summary);
  return kExitOk;
}

}  // namespace

Runner AddPlatformCommand(CLI::App& app) {
  auto settings = std::make_shared<Settings>();
  auto* platform = app.add_subcommand("platform", "Ask the OTA platform about jobs and device tasks");
  platform->require_subcommand(1);

  auto add_common = [&](CLI::App* sub) {
    AddPlatformOptions(sub, &settings->platform);
    sub->add_option("--format", settings->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  };
  auto* jobs = platform->add_subcommand("jobs", "List every job of a firmware (ListOTAJobByFirmware, all pages)");
  jobs->add_option("--firmware", settings->firmware, "the FirmwareId")->required();
  add_common(jobs);
  auto* job = platform->add_subcommand("job", "Show one job's full specification and status (QueryOTAJob)");
  job->add_option("job_id", settings->job_id, "the JobId")->required();
  add_common(job);
  auto* tasks = platform->add_subcommand("tasks", "List a job's device tasks (ListOTATaskByJob, all pages)");
  tasks->add_option("job_id", settings->job_id, "the JobId")->required();
  tasks->add_option("--status", settings->status, "only tasks in this status")
      ->check(CLI::IsMember({"CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED"}));
  add_common(tasks);

  return [settings, jobs, job, tasks]() {
    auto connection = Connect(settings->platform);
    if (!connection.ok()) {
      PrintError(connection.status().message());
      return kExitError;
    }
    platform::Client& client = *connection->client;
    if (jobs->parsed()) return RunJobs(*settings, client);
    if (job->parsed()) return RunJob(*settings, client);
    if (tasks->parsed()) return RunTasks(*settings, client);
    return kExitError;
  };
}

}  // namespace otaroll::cli
