// The lease's rules and this host's processes (SPEC §4, docs/state.md),
// shared by every store backend.
#include "state/lease.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/random.h"
#include "state/snapshot.h"

namespace otaroll::state {

namespace {

// What /proc says of a process: its state letter (R, S, Z, …) and when it
// started.
struct ProcessInfo {
  char state = '?';
  std::optional<core::Time> started;
};

// When this machine booted (/proc/stat), or nullopt.
std::optional<int64_t> BootTime() {
  std::ifstream proc_stat("/proc/stat");
  std::string key;
  while (proc_stat >> key) {
    if (key == "btime") {
      int64_t boot = -1;
      proc_stat >> boot;
      return boot >= 0 ? std::optional<int64_t>(boot) : std::nullopt;
    }
    proc_stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

// The process `pid` (Linux /proc), or nullopt when it cannot be read.
std::optional<ProcessInfo> ReadProcess(int64_t pid) {
  std::ifstream stat_file(fmt::format("/proc/{}/stat", pid));
  std::string stat_line;
  if (!std::getline(stat_file, stat_line)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the
  // state is the first field after the last ')', field 22, starttime (clock
  // ticks after boot), the 20th.
  const size_t close = stat_line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat_line.substr(close + 1));
  ProcessInfo info;
  std::string field;
  for (int i = 0; i < 20 && (fields >> field); ++i) {
    if (i == 0 && field.size() == 1) info.state = field[0];
  }
  if (!fields) return info;
  const auto boot = BootTime();
  const long ticks = ::sysconf(_SC_CLK_TCK);
  char* end = nullptr;
  const unsigned long long start_ticks = std::strtoull(field.c_str(), &end, 10);
  if (!boot || ticks <= 0 || end == field.c_str() || *end != '\0') return info;
  const auto ms = static_cast<int64_t>(start_ticks * 1000 / static_cast<unsigned long long>(ticks));
  info.started = core::Time(std::chrono::milliseconds(*boot * 1000 + ms));
  return info;
}

}  // namespace

bool HolderAliveHere(const Lease& l) {
  return l.host == LocalHostName() && !HolderGone(l);
}

bool HolderGone(const Lease& l) {
  if (l.pid <= 0 || l.pid > std::numeric_limits<pid_t>::max()) return true;  // never a live process's id
  if (::kill(static_cast<pid_t>(l.pid), 0) != 0 && errno == ESRCH) return true;
  const auto process = ReadProcess(l.pid);
  if (!process) return false;
  // A zombie was killed (or exited) and only waits for its parent to reap it.
  if (process->state == 'Z' || process->state == 'X') return true;
  // Seconds of slack: boot time has whole seconds, and clocks get stepped.
  return process->started && *process->started > l.heartbeat_at + std::chrono::seconds(2);
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

core::Result<LeaseAcquired> DecideAcquire(const std::optional<Lease>& held, const Lease& me, core::Time now,
                                          const std::string& where, int64_t last_epoch) {
  if (me.ttl_seconds <= 0 || me.token.empty()) {
    return core::Status::Invalid(fmt::format(
        "a lease on state file {} was requested without a token or with a TTL of {}s; this is a bug in otaroll", where,
        me.ttl_seconds));
  }
  LeaseAcquired got;
  got.lease = me;
  got.lease.started_at = now;
  got.lease.heartbeat_at = now;
  got.lease.epoch = last_epoch + 1;
  if (!held) return got;
  const Lease& h = *held;
  if (h.token == me.token) {
    got.lease.started_at = h.started_at;  // still the same holder
    got.lease.epoch = h.epoch;
  } else if (Expired(h, now) || (h.host == LocalHostName() && HolderGone(h))) {
    got.taken_over_from = h;
  } else {
    return core::Status::Conflict(fmt::format(
        "{} is locked by another otaroll (pid {} on host {} since {}, last heartbeat {}s ago); wait for it to "
        "finish, or run 'otaroll state force-unlock' if it is gone",
        where, h.pid, h.host, core::FormatRfc3339(h.started_at), SecondsSince(h.heartbeat_at, now)));
  }
  return got;
}

core::Status LeaseLost(const std::optional<Lease>& held, const std::string& where) {
  if (!held) {
    return core::Status::Conflict(fmt::format("the lease on {} was removed (otaroll state force-unlock); stop", where));
  }
  return core::Status::Conflict(fmt::format("the lease on {} was taken by another process (pid {} on host {}); stop",
                                            where, held->pid, held->host));
}

core::Status CheckForceUnlock(const std::optional<Lease>& held, bool force, const std::string& where) {
  if (!held || force || !HolderAliveHere(*held)) return core::Status::Ok();
  return core::Status::Conflict(
      fmt::format("{} is locked by a live otaroll (pid {} on this host, since {}); nothing was removed: wait for it to "
                  "finish or stop it; 'otaroll state force-unlock --force' removes the lease anyway (that otaroll then "
                  "creates nothing more)",
                  where, held->pid, core::FormatRfc3339(held->started_at)));
}

std::chrono::milliseconds SafetyMargin(int64_t ttl_seconds) {
  return std::chrono::milliseconds(std::max<int64_t>(ttl_seconds, 0) * 1000 / 3);
}

core::Status CheckFence(const std::optional<Lease>& held, const std::string& fence, int64_t epoch, const Attempt& a,
                        const std::string& where) {
  if (fence.empty() || (held && held->token == fence && held->epoch == epoch)) return core::Status::Ok();
  return core::Status::Conflict(fmt::format(
      "the lease on {} is no longer held by this process ({}); no intent was written for {}/{} and nothing was "
      "created; the run stopped",
      where,
      held && held->token == fence ? fmt::format("it was taken again since, at epoch {}", held->epoch)
      : held                       ? fmt::format("pid {} on host {} holds it now", held->pid, held->host)
                                   : std::string("it was removed by 'otaroll state force-unlock'"),
      a.rollout, a.stage));
}

}  // namespace otaroll::state
