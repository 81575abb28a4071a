// A thin RAII layer over sqlite3* and sqlite3_stmt*. SQLite result codes
// become core::Status values whose messages name the state file, so callers
// never see a raw SQLite error or an exception.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace otaroll::state {

class Db;

// A "file:" URI for `path` with the given query ("mode=ro"), percent-encoding
// the characters a URI would misread, so any path works as given.
std::string SqliteUri(const std::string& path, std::string_view query);

class Stmt {
 public:
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based. A failed bind is reported by the next Step/Run.
  Stmt& Bind(int index, std::string_view value);
  Stmt& Bind(int index, int64_t value);
  Stmt& BindNull(int index);
  Stmt& BindOptional(int index, const std::optional<int64_t>& value);
  Stmt& BindNullIfEmpty(int index, std::string_view value);

  core::Result<bool> Step();  // true: a row is ready to read
  core::Status Run();         // steps to the end, ignoring rows

  // Columns are 0-based. NULL reads as "" / 0.
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  std::string Text(int col) const;

 private:
  friend class Db;
  Stmt(const Db* db, sqlite3_stmt* stmt, std::string doing, std::string sql)
      : db_(db), stmt_(stmt), doing_(std::move(doing)), sql_(std::move(sql)) {}
  const Db* db_;
  sqlite3_stmt* stmt_;
  std::string doing_;  // for error messages: "reading attempts"
  std::string sql_;    // its text: the key it goes back to the Db's cache under
  int bind_rc_ = 0;
};

class Db {
 public:
  // `target` is a plain path, or a "file:" URI when flags include SQLITE_OPEN_URI.
  // `display` is the path named in error messages.
  static core::Result<std::unique_ptr<Db>> Open(const std::string& target, int flags, std::string display);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // `doing` completes "... while <doing>" in error messages. A statement is
  // compiled once per connection: a Stmt gives it back, reset, to a cache
  // of up to kCachedStatements, and the next Prepare of the same text takes
  // it from there (a text in use twice at once gets a second one).
  core::Result<Stmt> Prepare(std::string_view sql, std::string doing) const;
  static constexpr size_t kCachedStatements = 64;
  core::Status Exec(const char* sql, std::string_view doing) const;  // constant SQL only, never values
  core::Result<int64_t> QueryInt(const char* sql, std::string_view doing) const;

  int64_t LastInsertId() const;
  int Changes() const;
  const std::string& display() const { return display_; }
  sqlite3* raw() const { return db_; }

  // The Status for a failed SQLite call (extended result code `rc`).
  core::Status Error(int rc, std::string_view doing) const;

 private:
  Db(sqlite3* db, std::string display) : db_(db), display_(std::move(display)) {}
  friend class Stmt;
  void GiveBack(std::string sql, sqlite3_stmt* stmt) const;
  sqlite3* db_;
  std::string display_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, sqlite3_stmt*> cache_;  // idle compiled statements by text
};

}  // namespace otaroll::state
