// The single-writer lease of a SQLite state file (SPEC §4, docs/state.md).
#include <fmt/format.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/random.h"
#include "state/db.h"
#include "state/rows.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

// ---------------------------------------------------------------------------
// The lease

core::Result<std::optional<Lease>> ReadLeaseRow(const Db& db, const std::string& path, const std::string& doing) {
  auto stmt = db.Prepare(
      "SELECT holder_host, holder_pid, started_at, heartbeat_at, ttl_seconds, token FROM lease WHERE id = 1", doing);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Lease>();
  Lease l;
  l.host = stmt->Text(0);
  l.pid = stmt->Int(1);
  auto started = TimeColumn(*stmt, 2, path, "the lease's started_at");
  if (!started.ok()) return started.status();
  auto beat = TimeColumn(*stmt, 3, path, "the lease's heartbeat_at");
  if (!beat.ok()) return beat.status();
  l.started_at = *started;
  l.heartbeat_at = *beat;
  l.ttl_seconds = stmt->Int(4);
  l.token = stmt->Text(5);
  return std::optional<Lease>(std::move(l));
}

namespace {

// When the process `pid` started (Linux /proc), or nullopt when unknown.
std::optional<core::Time> ProcessStart(int64_t pid) {
  std::ifstream stat_file(fmt::format("/proc/{}/stat", pid));
  std::string stat_line;
  if (!std::getline(stat_file, stat_line)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; field
  // 22, starttime (clock ticks after boot), is the 20th after the last ')'.
  const size_t close = stat_line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat_line.substr(close + 1));
  std::string field;
  for (int i = 0; i < 20 && (fields >> field); ++i) {
  }
  if (!fields) return std::nullopt;
  std::ifstream proc_stat("/proc/stat");
  std::string key;
  int64_t boot = -1;
  while (proc_stat >> key) {
    if (key == "btime") {
      proc_stat >> boot;
      break;
    }
    proc_stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (boot < 0 || ticks <= 0) return std::nullopt;
  char* end = nullptr;
  const unsigned long long start_ticks = std::strtoull(field.c_str(), &end, 10);
  if (end == field.c_str() || *end != '\0') return std::nullopt;
  const auto ms = static_cast<int64_t>(start_ticks * 1000 / static_cast<unsigned long long>(ticks));
  return core::Time(std::chrono::milliseconds(boot * 1000 + ms));
}

}  // namespace

bool HolderAliveHere(const Lease& l) {
  return l.host == LocalHostName() && !HolderGone(l);
}

bool HolderGone(const Lease& l) {
  if (l.pid <= 0 || l.pid > std::numeric_limits<pid_t>::max()) return true;  // never a live process's id
  if (::kill(static_cast<pid_t>(l.pid), 0) != 0 && errno == ESRCH) return true;
  // Seconds of slack: boot time has whole seconds, and clocks get stepped.
  auto started = ProcessStart(l.pid);
  return started && *started > l.heartbeat_at + std::chrono::seconds(2);
}

namespace {

// Whole seconds from `then` to `now`, never negative (clocks of two hosts differ).
int64_t SecondsSince(core::Time then, core::Time now) {
  return now > then ? std::chrono::duration_cast<std::chrono::seconds>(now - then).count() : 0;
}

bool Expired(const Lease& l, core::Time now) {
  // Clamped, so an absurd TTL cannot overflow the millisecond arithmetic.
  const int64_t ttl = std::min<int64_t>(l.ttl_seconds, int64_t{100} * 365 * 24 * 3600);
  return now - l.heartbeat_at > std::chrono::seconds(ttl);
}

}  // namespace

std::string LocalHostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return std::string();
  return std::string(name);
}

std::string NewLeaseToken() {
  return core::RandomHex(16);
}

Lease ThisProcessLease(int64_t ttl_seconds) {
  Lease l;
  l.host = LocalHostName();
  l.pid = ::getpid();
  l.ttl_seconds = ttl_seconds;
  l.token = NewLeaseToken();
  return l;
}

core::Result<LeaseAcquired> SqliteStore::AcquireLease(const Lease& me, core::Time now) {
  if (me.ttl_seconds <= 0 || me.token.empty()) {
    return core::Status::Invalid(fmt::format(
        "a lease on state file {} was requested without a token or with a TTL of {}s; this is a bug in otaroll", path_,
        me.ttl_seconds));
  }
  const std::string doing = "taking the lease";
  LeaseAcquired got;
  got.lease = me;
  got.lease.started_at = now;
  got.lease.heartbeat_at = now;
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    if (*held) {
      const Lease& h = **held;
      if (h.token == me.token) {
        got.lease.started_at = h.started_at;  // still the same holder
      } else if (Expired(h, now) || (h.host == LocalHostName() && HolderGone(h))) {
        got.taken_over_from = h;
      } else {
        return core::Status::Conflict(fmt::format(
            "{} is locked by another otaroll (pid {} on host {} since {}, last heartbeat {}s ago); wait for it to "
            "finish, or run 'otaroll state force-unlock' if it is gone",
            path_, h.pid, h.host, core::FormatRfc3339(h.started_at), SecondsSince(h.heartbeat_at, now)));
      }
    }
    auto stmt = db_->Prepare(
        "INSERT OR REPLACE INTO lease (id, holder_host, holder_pid, started_at, heartbeat_at, ttl_seconds, token) "
        "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
        doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, got.lease.host)
        .Bind(2, got.lease.pid)
        .Bind(3, core::FormatRfc3339(got.lease.started_at))
        .Bind(4, core::FormatRfc3339(now))
        .Bind(5, got.lease.ttl_seconds)
        .Bind(6, got.lease.token)
        .Run();
  });
  if (!s.ok()) return s;
  return got;
}

core::Status SqliteStore::Heartbeat(const std::string& token, core::Time now) {
  const std::string doing = "renewing the lease";
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare("UPDATE lease SET heartbeat_at = ?2 WHERE id = 1 AND token = ?1", doing);
    if (!stmt.ok()) return stmt.status();
    if (auto r = stmt->Bind(1, token).Bind(2, core::FormatRfc3339(now)).Run(); !r.ok()) return r;
    if (db_->Changes() == 1) return core::Status::Ok();
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    if (!*held) {
      return core::Status::Conflict(
          fmt::format("the lease on {} was removed (otaroll state force-unlock); stop", path_));
    }
    return core::Status::Conflict(fmt::format("the lease on {} was taken by another process (pid {} on host {}); stop",
                                              path_, (*held)->pid, (*held)->host));
  });
}

core::Status SqliteStore::ReleaseLease(const std::string& token) {
  const std::string doing = "releasing the lease";
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare("DELETE FROM lease WHERE id = 1 AND token = ?1", doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, token).Run();
  });
}

core::Result<std::optional<Lease>> SqliteStore::ReadLease() {
  return ReadLeaseRow(*db_, path_, "reading the lease");
}

core::Result<std::optional<Lease>> SqliteStore::ForceUnlock(bool force) {
  const std::string doing = "removing the lease";
  std::optional<Lease> removed;
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    if (*held && !force && HolderAliveHere(**held)) {
      return core::Status::Conflict(fmt::format(
          "{} is locked by a live otaroll (pid {} on this host, since {}); nothing was removed: wait for it to "
          "finish or stop it; 'otaroll state force-unlock --force' removes the lease anyway (that otaroll then "
          "creates nothing more)",
          path_, (*held)->pid, core::FormatRfc3339((*held)->started_at)));
    }
    removed = *held;
    return db_->Exec("DELETE FROM lease", doing);
  });
  if (!s.ok()) return s;
  return removed;
}

}  // namespace otaroll::state
