#include "state/db.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace otaroll::state {

std::string SqliteUri(const std::string& path, std::string_view query) {
  // "file:///abs" keeps the authority empty; "file:rel" stays relative.
  std::string uri = !path.empty() && path[0] == '/' ? "file://" : "file:";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) {
      uri += fmt::format("%{:02X}", c);
    } else {
      uri += static_cast<char>(c);
    }
  }
  uri += '?';
  uri += query;
  return uri;
}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      doing_(std::move(other.doing_)),
      sql_(std::move(other.sql_)),
      bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) db_->GiveBack(std::move(sql_), stmt_);
}

Stmt& Stmt::Bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindOptional(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Stmt& Stmt::BindNullIfEmpty(int index, std::string_view value) {
  return value.empty() ? BindNull(index) : Bind(index, value);
}

core::Result<bool> Stmt::Step() {
  if (bind_rc_ != SQLITE_OK) return db_->Error(bind_rc_, doing_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(sqlite3_extended_errcode(db_->db_), doing_);
}

core::Status Stmt::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return core::Status::Ok();
  }
}

bool Stmt::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int64_t Stmt::Int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::string Stmt::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

core::Result<std::unique_ptr<Db>> Db::Open(const std::string& target, int flags, std::string display) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(target.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Db> db(new Db(raw, std::move(display)));
  if (rc != SQLITE_OK) {
    return raw ? db->Error(sqlite3_extended_errcode(raw), "opening it") : db->Error(rc, "opening it");
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Db::GiveBack(std::string sql, sqlite3_stmt* stmt) const {
  sqlite3_reset(stmt);  // its result is the last step's, already reported
  sqlite3_clear_bindings(stmt);
  {
    std::lock_guard lock(cache_mu_);
    if (cache_.size() < kCachedStatements && cache_.emplace(std::move(sql), stmt).second) return;
  }
  sqlite3_finalize(stmt);
}

core::Result<Stmt> Db::Prepare(std::string_view sql, std::string doing) const {
  std::string key(sql);
  {
    std::lock_guard lock(cache_mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      sqlite3_stmt* cached = it->second;
      cache_.erase(it);
      return Stmt(this, cached, std::move(doing), std::move(key));
    }
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(sqlite3_extended_errcode(db_), doing);
  }
  return Stmt(this, stmt, std::move(doing), std::move(key));
}

core::Status Db::Exec(const char* sql, std::string_view doing) const {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? core::Status::Ok() : Error(sqlite3_extended_errcode(db_), doing);
}

core::Result<int64_t> Db::QueryInt(const char* sql, std::string_view doing) const {
  auto stmt = Prepare(sql, std::string(doing));
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->Int(0) : int64_t{0};
}

int64_t Db::LastInsertId() const {
  return sqlite3_last_insert_rowid(db_);
}

int Db::Changes() const {
  return sqlite3_changes(db_);
}

core::Status Db::Error(int rc, std::string_view doing) const {
  std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  const std::string& p = display_;
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return core::Status::Corruption(fmt::format(
          "state file {} is not an otaroll state file (not an SQLite database); pass the right --state path or "
          "move the file away",
          p));
    case SQLITE_CORRUPT:
      return core::Status::Corruption(
          fmt::format("state file {} is damaged ({} while {}); restore it from a backup", p, detail, doing));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return core::Status::Conflict(fmt::format(
          "state file {} stayed locked by another process while {}; retry when that process has finished", p, doing));
    case SQLITE_FULL:
      return core::Status::IOError(
          fmt::format("cannot write state file {}: the disk is full; free some space and retry", p));
    case SQLITE_READONLY:
      return core::Status::IOError(
          fmt::format("cannot write state file {} ({} while {}); check the permissions of the file and its directory",
                      p, detail, doing));
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return core::Status::IOError(
          fmt::format("cannot open state file {} ({} while {}); check that the file and its directory exist and are "
                      "accessible",
                      p, detail, doing));
    case SQLITE_CONSTRAINT:
      return core::Status::Invalid(
          fmt::format("state file {} refused a change while {} ({}); this is a bug in otaroll, please report it", p,
                      doing, detail));
    default:
      return core::Status::IOError(
          fmt::format("state file {} failed while {} ({}); check the disk and retry", p, doing, detail));
  }
}

}  // namespace otaroll::state
