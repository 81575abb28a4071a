// The sandbox's own SQLite file: every job it created (all request
// parameters, creation time, request id, tags, fleet parameters) and every
// cancellation, so jobs survive restarts. WAL mode; one connection, which the
// caller guards (the Platform holds a mutex around every call).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "sandbox/job.h"

namespace otaroll::state {
class Db;
class Stmt;
}  // namespace otaroll::state

namespace otaroll::sandbox {

class JobStore {
 public:
  // Creates the file (and its schema) if needed; refuses a file that is not
  // an otaroll sandbox data file or comes from a newer sandbox.
  static core::Result<std::unique_ptr<JobStore>> Open(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // One committed transaction; fails (Conflict) when the job id exists.
  core::Status Insert(const Job& job);
  core::Result<bool> Exists(const std::string& job_id);
  // nullopt when there is no such job. Cancellations included.
  core::Result<std::optional<Job>> Get(const std::string& job_id);
  // Newest first (creation time, then insertion order), `limit` from `offset`.
  core::Result<std::vector<Job>> ListByFirmware(const std::string& firmware_id, int64_t offset, int64_t limit);
  core::Result<int64_t> CountByFirmware(const std::string& firmware_id);
  // Jobs whose tasks may still be unfinished at `now` (created + task time > now), oldest first.
  core::Result<std::vector<Job>> Recent(core::Time now);
  core::Result<int64_t> CountJobs();
  core::Status AddCancel(const std::string& job_id, const Cancel& cancel);

  const std::string& path() const { return path_; }

 private:
  JobStore(std::unique_ptr<state::Db> db, std::string path);
  core::Result<std::vector<Job>> ReadJobs(state::Stmt& stmt);
  core::Status LoadCancels(Job* job);

  std::unique_ptr<state::Db> db_;
  std::string path_;
};

}  // namespace otaroll::sandbox
