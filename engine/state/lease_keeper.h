// Keeps a lease alive while a long run (apply, daemon) works: heartbeats it
// from a background thread over a connection of its own, and notices when the
// lease was taken away (force-unlocked, or taken over after its TTL).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"

namespace otaroll::state {

class Store;

class LeaseKeeper {
 public:
  // Renews the lease held with `token` every `interval` (Store::Heartbeat)
  // through `store`, a handle of its own (Store::OpenAnother) that only its
  // thread uses, starting one interval from now. The lease must already be
  // held (AcquireLease), with a TTL of `ttl`, by a call that started at
  // `taken_at` (this process's monotonic clock).
  LeaseKeeper(std::unique_ptr<Store> store, std::string token, std::chrono::milliseconds interval,
              std::chrono::seconds ttl = std::chrono::seconds(30),
              std::chrono::steady_clock::time_point taken_at = std::chrono::steady_clock::now());
  // Stops at once (it never waits out an interval) and joins the thread.
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // True once a heartbeat found the lease no longer ours; the caller must
  // stop writing. Heartbeats stop then.
  bool lost() const { return lost_.load(); }
  // Why it was lost (a Conflict naming the new holder), or the last failed
  // heartbeat while it is not lost (e.g. the state file stayed busy); Ok when
  // the last heartbeat succeeded.
  core::Status status() const;
  // Successful heartbeats so far.
  int64_t heartbeats() const { return heartbeats_.load(); }
  // Whether the lease is certainly still ours for at least `margin` more:
  // not lost, and `margin` from now is before the TTL runs out from the
  // start of the last heartbeat that succeeded (or of the take). Measured on
  // the monotonic clock, which keeps running while the process is stopped
  // (SIGSTOP), so a holder that wakes after its TTL knows it at once,
  // before any heartbeat tells it; no host's wall clock is involved.
  bool SafeFor(std::chrono::milliseconds margin) const;

 private:
  void Run();
  void Beat();

  const std::unique_ptr<Store> store_;  // used only by the thread after construction
  const std::string token_;
  const std::chrono::milliseconds interval_;
  const std::chrono::seconds ttl_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;    // guarded by mu_
  core::Status status_;  // guarded by mu_
  std::atomic<bool> lost_{false};
  std::atomic<int64_t> heartbeats_{0};
  std::atomic<std::chrono::steady_clock::rep> valid_until_;  // taken_at or last good beat's start, + ttl
  std::thread thread_;                                       // last: started after everything above exists
};

}  // namespace otaroll::state
