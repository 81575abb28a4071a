// The platform as apply sees it: the five calls, behind an interface so the
// apply path can be tested with a scripted fake. ClientPlatform is the real
// one, over platform::Client.
#pragma once

#include <string>
#include <vector>

#include "platform/client.h"

namespace otaroll::apply {

class Platform {
 public:
  virtual ~Platform() = default;
  virtual platform::CallResult<platform::CreatedJob> CreateJob(const spec::ParamSet& part,
                                                               const std::string& intent_id) = 0;
  virtual platform::CallResult<std::vector<platform::JobInfo>> ListJobsByFirmware(const std::string& firmware_id) = 0;
  virtual platform::CallResult<platform::JobInfo> QueryJob(const std::string& job_id) = 0;
  virtual platform::CallResult<std::vector<platform::TaskInfo>> ListTasks(const std::string& job_id) = 0;
  virtual platform::CallResult<int64_t> CountTasks(const std::string& job_id, const std::string& status) = 0;
  virtual platform::CallResult<platform::Empty> CancelTasks(const std::string& job_id,
                                                            const platform::CancelWhich& which) = 0;
};

class ClientPlatform final : public Platform {
 public:
  explicit ClientPlatform(platform::Client& client) : client_(client) {}
  platform::CallResult<platform::CreatedJob> CreateJob(const spec::ParamSet& part,
                                                       const std::string& intent_id) override {
    return client_.CreateJob(part, intent_id);
  }
  platform::CallResult<std::vector<platform::JobInfo>> ListJobsByFirmware(const std::string& firmware_id) override {
    return client_.ListJobsByFirmware(firmware_id);
  }
  platform::CallResult<platform::JobInfo> QueryJob(const std::string& job_id) override {
    return client_.QueryJob(job_id);
  }
  platform::CallResult<std::vector<platform::TaskInfo>> ListTasks(const std::string& job_id) override {
    return client_.ListTasks(job_id, "");
  }
  platform::CallResult<int64_t> CountTasks(const std::string& job_id, const std::string& status) override {
    return client_.CountTasks(job_id, status);
  }
  platform::CallResult<platform::Empty> CancelTasks(const std::string& job_id,
                                                    const platform::CancelWhich& which) override {
    return client_.CancelTasks(job_id, which);
  }

 private:
  platform::Client& client_;
};

}  // namespace otaroll::apply
