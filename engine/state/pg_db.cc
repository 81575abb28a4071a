#include "state/pg_db.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <map>

namespace otaroll::state {
namespace {

// The URI's parts libpq understood, by keyword; none when it cannot parse
// it (its own message is not shown: it may quote the password).
std::optional<std::map<std::string, std::string>> Parts(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return std::nullopt;
  std::map<std::string, std::string> parts;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) parts[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return parts;
}

// libpq's messages end with a newline and may span lines: one line.
std::string OneLine(const char* message) {
  std::string out = message != nullptr ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return out;
}

}  // namespace

namespace {

// How parts of a URI are shown (ShownPgUri).
std::string Shown(const std::optional<std::map<std::string, std::string>>& parts) {
  if (!parts) return "postgresql://…";
  auto get = [&](const char* key, const char* otherwise) {
    auto it = parts->find(key);
    return it == parts->end() || it->second.empty() ? std::string(otherwise) : it->second;
  };
  const std::string user = get("user", "");
  return fmt::format("postgresql://{}{}:{}/{}", user.empty() ? "" : user + "@", get("host", "localhost"),
                     get("port", "5432"), get("dbname", user.empty() ? "postgres" : user.c_str()));
}

}  // namespace

std::string ShownPgUri(const std::string& uri) {
  return Shown(Parts(uri));
}

PgRows::PgRows(pg_result* result) : result_(result, PQclear) {}

size_t PgRows::size() const {
  return static_cast<size_t>(PQntuples(result_.get()));
}

bool PgRows::IsNull(size_t row, int col) const {
  return PQgetisnull(result_.get(), static_cast<int>(row), col) != 0;
}

std::string PgRows::Text(size_t row, int col) const {
  const int r = static_cast<int>(row);
  return std::string(PQgetvalue(result_.get(), r, col), static_cast<size_t>(PQgetlength(result_.get(), r, col)));
}

int64_t PgRows::Int(size_t row, int col) const {
  const std::string text = Text(row, col);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

int64_t PgRows::Affected() const {
  const char* n = PQcmdTuples(result_.get());
  int64_t value = 0;
  if (n != nullptr) std::from_chars(n, n + std::char_traits<char>::length(n), value);
  return value;
}

std::string PgRows::Command() const {
  const char* tag = PQcmdStatus(result_.get());
  return tag != nullptr ? std::string(tag) : std::string();
}

core::Result<std::unique_ptr<PgDb>> PgDb::Connect(const std::string& uri, std::chrono::seconds timeout) {
  const auto parts = Parts(uri);  // parsed once: for its name, and to refuse it unread
  const std::string shown = Shown(parts);
  if (!parts) {
    return core::Status::Invalid(
        fmt::format("{}: not a PostgreSQL connection URI libpq can read; write it as "
                    "postgresql://USER@HOST:PORT/DATABASE (the password from PGPASSWORD or PGPASSFILE)",
                    shown));
  }
  const std::string seconds = std::to_string(timeout.count());
  // The URI as the database name ("dbname" expands it), then the bound.
  const char* keywords[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {uri.c_str(), seconds.c_str(), "otaroll", nullptr};
  pg_conn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return core::Status::IOError(fmt::format("{}: cannot connect: out of memory", shown));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = OneLine(PQerrorMessage(conn));
    PQfinish(conn);
    return core::Status::Unavailable(fmt::format(
        "{}: cannot connect: {}; check that the server is up and the user, password and database", shown, why));
  }
  // The server's notices (a shutdown's "terminating connection") are not
  // otaroll's output: failures reach the caller as values.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgDb>(new PgDb(conn, shown));
}

PgDb::~PgDb() {
  PQfinish(conn_);
}

bool PgDb::ok() const {
  return PQstatus(conn_) == CONNECTION_OK;
}

core::Result<PgRows> PgDb::Exec(std::string_view sql, const std::vector<std::optional<std::string>>& params,
                                std::string_view doing) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  return Finish(PgRows(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                    nullptr, nullptr, 0)),
                doing);
}

core::Status PgDb::ExecScript(const char* sql, std::string_view doing) {
  return Finish(PgRows(PQexec(conn_, sql)), doing).status();
}

bool PgDb::Reconnect() {
  if (ok()) return true;
  PQreset(conn_);
  return ok();
}

core::Result<PgRows> PgDb::Finish(PgRows rows, std::string_view doing) {
  const ExecStatusType status = rows.result_ ? PQresultStatus(rows.result_.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    last_sqlstate_.clear();
    return rows;
  }
  auto field = [&](int code) -> const char* {
    return rows.result_ ? PQresultErrorField(rows.result_.get(), code) : nullptr;
  };
  const char* state = field(PG_DIAG_SQLSTATE);
  last_sqlstate_ = state != nullptr ? state : "";
  // The server's own sentence and code ("relation "x" does not exist
  // (SQLSTATE 42P01)"); libpq's when the server never answered.
  const char* primary = field(PG_DIAG_MESSAGE_PRIMARY);
  const std::string why =
      primary != nullptr ? fmt::format("{} (SQLSTATE {})", OneLine(primary), last_sqlstate_)
                         : OneLine(rows.result_ ? PQresultErrorMessage(rows.result_.get()) : PQerrorMessage(conn_));
  if (!ok()) {
    return core::Status::Unavailable(fmt::format("{}: lost the connection while {}: {}", display_, doing, why));
  }
  std::string message = fmt::format("{}: {} while {}", display_, why, doing);
  // As a state file's: a broken rule is Invalid, a lost race is Conflict.
  if (last_sqlstate_.rfind("23", 0) == 0) return core::Status::Invalid(std::move(message));
  if (last_sqlstate_ == "40001" || last_sqlstate_ == "40P01" || last_sqlstate_ == "55P03") {
    return core::Status::Conflict(std::move(message));
  }
  return core::Status::IOError(std::move(message));
}

}  // namespace otaroll::state
