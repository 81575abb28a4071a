#include "state/open.h"

#include <fmt/format.h>

#include <cctype>
#include <string_view>

#include "state/pg_store.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

namespace {

// The scheme of a URL (RFC 3986: a letter, then letters, digits, +, - or .,
// then "://"), or "" when `value` is not one (a path).
std::string Scheme(const std::string& value) {
  const size_t end = value.find("://");
  if (end == std::string::npos || end == 0 || !std::isalpha(static_cast<unsigned char>(value[0]))) return "";
  for (size_t i = 1; i < end; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return "";
  }
  return value.substr(0, end);
}

}  // namespace

core::Result<Location> ParseLocation(const std::string& value) {
  constexpr std::string_view kSqlite = "sqlite:";
  Location l;
  if (value.rfind(kSqlite, 0) == 0) {
    l.path = value.substr(kSqlite.size());
    if (l.path.empty()) {
      return core::Status::Invalid("--state sqlite: names no file; pass sqlite:PATH or just the path");
    }
    return l;
  }
  if (const std::string name = Scheme(value); !name.empty()) {
    if (name == "postgres" || name == "postgresql") {
      l.kind = Location::Kind::kPostgres;
      l.path = value;
      return l;
    }
    return core::Status::Invalid(
        fmt::format("--state {}://…: unknown state scheme {}; pass a state file path (or sqlite:PATH)", name, name));
  }
  l.path = value;
  return l;
}

core::Result<std::unique_ptr<Store>> OpenStore(const std::string& value) {
  auto where = ParseLocation(value);
  if (!where.ok()) return where.status();
  if (where->kind == Location::Kind::kPostgres) {
    auto pg = PgStore::Open(where->path);
    if (!pg.ok()) return pg.status();
    return std::unique_ptr<Store>(std::move(*pg));
  }
  auto store = SqliteStore::Open(where->path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

core::Result<Snapshot> LoadSnapshotAt(const std::string& value) {
  auto where = ParseLocation(value);
  if (!where.ok()) return where.status();
  if (where->kind == Location::Kind::kPostgres) return PgStore::LoadWithoutCreating(where->path);
  return LoadSnapshot(where->path);
}

}  // namespace otaroll::state

namespace otaroll::state {

std::string Shown(const Location& where) {
  return where.kind == Location::Kind::kPostgres ? ShownPgUri(where.path) : where.path;
}

core::Result<EventLog> LoadEventsAt(const std::string& value, const std::string& rollout_filter) {
  auto where = ParseLocation(value);
  if (!where.ok()) return where.status();
  if (where->kind == Location::Kind::kSqlite) return LoadEvents(where->path, rollout_filter);
  auto store = PgStore::OpenWithoutCreating(where->path);
  if (!store.ok()) return store.status();
  EventLog log;
  if (*store == nullptr) return log;
  log.exists = true;
  auto events = (*store)->Events(rollout_filter);
  if (!events.ok()) return events.status();
  log.events = std::move(*events);
  return log;
}

core::Result<StateExport> ExportStateAt(const std::string& value) {
  auto where = ParseLocation(value);
  if (!where.ok()) return where.status();
  if (where->kind == Location::Kind::kSqlite) return ExportState(where->path);
  auto store = PgStore::OpenWithoutCreating(where->path);
  if (!store.ok()) return store.status();
  if (*store == nullptr) {
    return core::Status::NotFound(fmt::format(
        "{} holds no otaroll state; pass the URI of a database otaroll has written to", ShownPgUri(where->path)));
  }
  return (*store)->Export();
}

}  // namespace otaroll::state
