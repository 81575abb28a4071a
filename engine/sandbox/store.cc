#include "sandbox/store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "state/db.h"

namespace otaroll::sandbox {
namespace {

constexpr const char* kSchemaVersion = "1";

constexpr const char* kSchema = R"sql(
CREATE TABLE sandbox_meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
INSERT INTO sandbox_meta (key, value) VALUES ('schema', '1');

CREATE TABLE jobs (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id        TEXT NOT NULL UNIQUE,
  firmware_id   TEXT NOT NULL,
  product_key   TEXT NOT NULL,
  created_ms    INTEGER NOT NULL,
  ends_ms       INTEGER NOT NULL,
  request_id    TEXT NOT NULL,
  access_key_id TEXT NOT NULL,
  params_json   TEXT NOT NULL,
  job_json      TEXT NOT NULL
);
CREATE INDEX jobs_by_firmware ON jobs (firmware_id, created_ms, seq);
CREATE INDEX jobs_by_end ON jobs (ends_ms);

CREATE TABLE cancels (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id      TEXT NOT NULL REFERENCES jobs (job_id),
  at_ms       INTEGER NOT NULL,
  request_id  TEXT NOT NULL,
  scheduled   INTEGER NOT NULL,
  queued      INTEGER NOT NULL,
  notified    INTEGER NOT NULL,
  in_progress INTEGER NOT NULL,
  unconfirmed INTEGER NOT NULL
);
CREATE INDEX cancels_by_job ON cancels (job_id, seq);
)sql";

constexpr const char* kJobColumns = "SELECT job_id, params_json, job_json FROM jobs ";

// state::Db words its messages for otaroll's state file; this file is the sandbox's.
core::Status Reword(const core::Status& s) {
  if (s.ok()) return s;
  std::string m = s.message();
  auto replace = [&m](std::string_view from, std::string_view to) {
    for (size_t pos = m.find(from); pos != std::string::npos; pos = m.find(from, pos + to.size())) {
      m.replace(pos, from.size(), to);
    }
  };
  replace("otaroll state file", "otaroll sandbox data file");
  replace("state file", "sandbox data file");
  replace("--state", "--data");
  switch (s.code()) {
    case core::Status::Code::kCorruption: return core::Status::Corruption(m);
    case core::Status::Code::kConflict: return core::Status::Conflict(m);
    case core::Status::Code::kInvalid: return core::Status::Invalid(m);
    case core::Status::Code::kUnsupported: return core::Status::Unsupported(m);
    default: return core::Status::IOError(m);
  }
}

core::Status ParamsFromJson(const std::string& text, platform::Params* params) {
  try {
    *params = nlohmann::json::parse(text).get<platform::Params>();
  } catch (const nlohmann::json::exception& e) {
    return core::Status::Corruption(fmt::format("the parameters of a job are damaged ({})", e.what()));
  }
  return core::Status::Ok();
}

}  // namespace

JobStore::JobStore(std::unique_ptr<state::Db> db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

JobStore::~JobStore() = default;

core::Result<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  auto db = state::Db::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, path);
  if (!db.ok()) return Reword(db.status());
  std::unique_ptr<JobStore> store(new JobStore(std::move(*db), path));
  const state::Db& d = *store->db_;
  for (const char* pragma : {"PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                             "PRAGMA foreign_keys = ON"}) {
    if (auto s = d.Exec(pragma, "setting it up"); !s.ok()) return Reword(s);
  }
  auto ours = d.QueryInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sandbox_meta'",
                         "reading its schema");
  if (!ours.ok()) return Reword(ours.status());
  if (*ours == 0) {
    auto tables = d.QueryInt("SELECT count(*) FROM sqlite_master", "reading its schema");
    if (!tables.ok()) return Reword(tables.status());
    if (*tables > 0) {
      return core::Status::Invalid(
          fmt::format("{} is an SQLite database but not an otaroll sandbox data file; pass another --data file", path));
    }
    if (auto s = d.Exec("BEGIN IMMEDIATE", "creating its schema"); !s.ok()) return Reword(s);
    if (auto s = d.Exec(kSchema, "creating its schema"); !s.ok()) {
      (void)d.Exec("ROLLBACK", "creating its schema");
      return Reword(s);
    }
    if (auto s = d.Exec("COMMIT", "creating its schema"); !s.ok()) return Reword(s);
    return store;
  }
  auto stmt = d.Prepare("SELECT value FROM sandbox_meta WHERE key = 'schema'", "reading its schema");
  if (!stmt.ok()) return Reword(stmt.status());
  auto row = stmt->Step();
  if (!row.ok()) return Reword(row.status());
  std::string version = *row ? stmt->Text(0) : std::string();
  if (version != kSchemaVersion) {
    return core::Status::Unsupported(fmt::format(
        "{} has sandbox schema version \"{}\", which this otaroll does not know; use the otaroll that wrote it or "
        "another --data file",
        path, version));
  }
  return store;
}

core::Status JobStore::Insert(const Job& job) {
  std::string params_json;
  try {
    params_json = nlohmann::json(job.params).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const nlohmann::json::exception& e) {
    return core::Status::Invalid(fmt::format("cannot record the parameters of job {} ({})", job.job_id, e.what()));
  }
  auto stmt = db_->Prepare(
      "INSERT INTO jobs (job_id, firmware_id, product_key, created_ms, ends_ms, request_id, access_key_id, "
      "params_json, job_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
      "recording a job");
  if (!stmt.ok()) return Reword(stmt.status());
  int64_t created_ms = job.created.time_since_epoch().count();
  stmt->Bind(1, job.job_id)
      .Bind(2, job.firmware_id)
      .Bind(3, job.product_key)
      .Bind(4, created_ms)
      .Bind(5, created_ms + job.fleet.task_ms)
      .Bind(6, job.request_id)
      .Bind(7, job.access_key_id)
      .Bind(8, params_json)
      .Bind(9, JobToJson(job));
  if (auto s = stmt->Run(); !s.ok()) return Reword(s);
  if (db_->Changes() == 0) return core::Status::Conflict(fmt::format("job id {} is taken", job.job_id));
  return core::Status::Ok();
}

core::Result<bool> JobStore::Exists(const std::string& job_id) {
  auto stmt = db_->Prepare("SELECT 1 FROM jobs WHERE job_id = ?", "looking up a job");
  if (!stmt.ok()) return Reword(stmt.status());
  stmt->Bind(1, job_id);
  auto row = stmt->Step();
  if (!row.ok()) return Reword(row.status());
  return *row;
}

core::Result<std::vector<Job>> JobStore::ReadJobs(state::Stmt& stmt) {
  std::vector<Job> jobs;
  for (;;) {
    auto row = stmt.Step();
    if (!row.ok()) return Reword(row.status());
    if (!*row) break;
    Job job;
    if (auto s = JobFromJson(stmt.Text(2), &job); !s.ok()) {
      return core::Status::Corruption(fmt::format("sandbox data file {} is damaged: {}", path_, s.message()));
    }
    if (auto s = ParamsFromJson(stmt.Text(1), &job.params); !s.ok()) {
      return core::Status::Corruption(fmt::format("sandbox data file {} is damaged: {}", path_, s.message()));
    }
    jobs.push_back(std::move(job));
  }
  for (auto& job : jobs) {
    if (auto s = LoadCancels(&job); !s.ok()) return s;
  }
  return jobs;
}

core::Status JobStore::LoadCancels(Job* job) {
  auto stmt = db_->Prepare(
      "SELECT at_ms, request_id, scheduled, queued, notified, in_progress, unconfirmed FROM cancels "
      "WHERE job_id = ? ORDER BY seq",
      "reading cancellations");
  if (!stmt.ok()) return Reword(stmt.status());
  stmt->Bind(1, job->job_id);
  job->cancels.clear();
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return Reword(row.status());
    if (!*row) break;
    Cancel c;
    c.at = core::Time(core::Duration(stmt->Int(0)));
    c.request_id = stmt->Text(1);
    c.scheduled = stmt->Int(2) != 0;
    c.queued = stmt->Int(3) != 0;
    c.notified = stmt->Int(4) != 0;
    c.in_progress = stmt->Int(5) != 0;
    c.unconfirmed = stmt->Int(6) != 0;
    job->cancels.push_back(std::move(c));
  }
  return core::Status::Ok();
}

core::Result<std::optional<Job>> JobStore::Get(const std::string& job_id) {
  auto stmt = db_->Prepare(std::string(kJobColumns) + "WHERE job_id = ?", "reading a job");
  if (!stmt.ok()) return Reword(stmt.status());
  stmt->Bind(1, job_id);
  auto jobs = ReadJobs(*stmt);
  if (!jobs.ok()) return jobs.status();
  if (jobs->empty()) return std::optional<Job>();
  return std::optional<Job>(std::move(jobs->front()));
}

core::Result<std::vector<Job>> JobStore::ListByFirmware(const std::string& firmware_id, int64_t offset, int64_t limit) {
  auto stmt = db_->Prepare(
      std::string(kJobColumns) + "WHERE firmware_id = ? ORDER BY created_ms DESC, seq DESC LIMIT ? OFFSET ?",
      "listing jobs");
  if (!stmt.ok()) return Reword(stmt.status());
  stmt->Bind(1, firmware_id).Bind(2, limit).Bind(3, offset);
  return ReadJobs(*stmt);
}

core::Result<int64_t> JobStore::CountByFirmware(const std::string& firmware_id) {
  auto stmt = db_->Prepare("SELECT count(*) FROM jobs WHERE firmware_id = ?", "counting jobs");
  if (!stmt.ok()) return Reword(stmt.status());
  stmt->Bind(1, firmware_id);
  auto row = stmt->Step();
  if (!row.ok()) return Reword(row.status());
  return stmt->Int(0);
}

core::Result<std::vector<Job>> JobStore::Recent(core::Time now) {
  auto stmt = db_->Prepare(std::string(kJobColumns) + "WHERE ends_ms > ? ORDER BY created_ms, seq", "reading jobs");
  if (!stmt.ok()) return Reword(stmt.status());
  stmt->Bind(1, static_cast<int64_t>(now.time_since_epoch().count()));
  return ReadJobs(*stmt);
}

core::Result<int64_t> JobStore::CountJobs() {
  auto n = db_->QueryInt("SELECT count(*) FROM jobs", "counting jobs");
  if (!n.ok()) return Reword(n.status());
  return *n;
}

core::Status JobStore::AddCancel(const std::string& job_id, const Cancel& cancel) {
  auto stmt = db_->Prepare(
      "INSERT INTO cancels (job_id, at_ms, request_id, scheduled, queued, notified, in_progress, unconfirmed) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      "recording a cancellation");
  if (!stmt.ok()) return Reword(stmt.status());
  stmt->Bind(1, job_id)
      .Bind(2, static_cast<int64_t>(cancel.at.time_since_epoch().count()))
      .Bind(3, cancel.request_id)
      .Bind(4, int64_t{cancel.scheduled})
      .Bind(5, int64_t{cancel.queued})
      .Bind(6, int64_t{cancel.notified})
      .Bind(7, int64_t{cancel.in_progress})
      .Bind(8, int64_t{cancel.unconfirmed});
  return Reword(stmt->Run());
}

}  // namespace otaroll::sandbox
