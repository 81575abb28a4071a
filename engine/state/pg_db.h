// A thin RAII layer over a libpq connection, the PostgreSQL state's
// counterpart of db.h (docs/state.md): statements always take their values
// as parameters (never spliced into SQL text); failures are values whose
// messages name the server as host:port/database and never the password,
// whatever the URI held (a URI's password, PGPASSWORD and PGPASSFILE are
// libpq's to read and nobody's to print).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

struct pg_conn;
struct pg_result;

namespace otaroll::state {

// How a PostgreSQL state is named to users: "postgresql://USER@HOST:PORT/DB"
// from the parts of `uri` (a libpq connection URI), never its password or
// options; "postgresql://…" when it cannot be parsed.
std::string ShownPgUri(const std::string& uri);

// A query's rows, as text (libpq's text format).
class PgRows {
 public:
  size_t size() const;
  bool IsNull(size_t row, int col) const;
  std::string Text(size_t row, int col) const;  // NULL reads as ""
  int64_t Int(size_t row, int col) const;       // NULL reads as 0
  // Rows changed by an INSERT, UPDATE or DELETE.
  int64_t Affected() const;
  // The command tag ("INSERT 0 1", "COMMIT", "ROLLBACK").
  std::string Command() const;

 private:
  friend class PgDb;
  explicit PgRows(pg_result* result);
  std::shared_ptr<pg_result> result_;
};

class PgDb {
 public:
  // Connects within `timeout` (libpq's connect_timeout).
  static core::Result<std::unique_ptr<PgDb>> Connect(const std::string& uri,
                                                     std::chrono::seconds timeout = std::chrono::seconds(10));
  ~PgDb();
  PgDb(const PgDb&) = delete;
  PgDb& operator=(const PgDb&) = delete;

  // Runs one statement; `doing` completes "… while <doing>" in messages.
  // Values are text parameters $1, $2…; nullopt is NULL.
  core::Result<PgRows> Exec(std::string_view sql, const std::vector<std::optional<std::string>>& params,
                            std::string_view doing);
  // Runs constant SQL of one or more statements (a migration), never values.
  core::Status ExecScript(const char* sql, std::string_view doing);
  // After the connection was lost: connects again (true when it did).
  bool Reconnect();
  // The SQLSTATE of the last failed Exec ("" when it never reached the
  // server, or the last Exec succeeded).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Whether the connection is still usable (false after the server went).
  bool ok() const;
  const std::string& display() const { return display_; }

 private:
  PgDb(pg_conn* conn, std::string display) : conn_(conn), display_(std::move(display)) {}
  // A statement's result as a value; failures classed as a state file's
  // (a broken constraint Invalid, a serialization failure Conflict).
  core::Result<PgRows> Finish(PgRows rows, std::string_view doing);
  pg_conn* conn_;
  std::string display_;
  std::string last_sqlstate_;
};

}  // namespace otaroll::state
