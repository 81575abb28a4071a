#include "state/open.h"

#include <fmt/format.h>

#include <cctype>
#include <string_view>

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
      return core::Status::Invalid(fmt::format(
          "--state {}://…: this otaroll cannot keep its state in PostgreSQL yet; pass a state file path", name));
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
  auto store = SqliteStore::Open(where->path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

core::Result<Snapshot> LoadSnapshotAt(const std::string& value) {
  auto where = ParseLocation(value);
  if (!where.ok()) return where.status();
  return LoadSnapshot(where->path);
}

}  // namespace otaroll::state
