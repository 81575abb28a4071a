#include "state/lease_keeper.h"

#include <chrono>

#include "state/store.h"

namespace otaroll::state {

namespace {
core::Time Now() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}
}  // namespace

LeaseKeeper::LeaseKeeper(std::unique_ptr<Store> store, std::string token, std::chrono::milliseconds interval,
                         std::chrono::seconds ttl, std::chrono::steady_clock::time_point taken_at)
    : store_(std::move(store)),
      token_(std::move(token)),
      interval_(interval),
      ttl_(ttl),
      valid_until_((taken_at + ttl).time_since_epoch().count()) {
  thread_ = std::thread([this] { Run(); });
}

bool LeaseKeeper::SafeFor(std::chrono::milliseconds margin) const {
  if (lost_.load()) return false;
  const auto until = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(valid_until_.load()));
  return std::chrono::steady_clock::now() + margin < until;
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

core::Status LeaseKeeper::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void LeaseKeeper::Run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (wake_.wait_for(lock, interval_, [this] { return stop_; })) return;
    }
    Beat();
    if (lost_.load()) return;
  }
}

void LeaseKeeper::Beat() {
  const auto started = std::chrono::steady_clock::now();
  core::Status beat = store_->Heartbeat(token_, Now());
  if (beat.ok()) {
    heartbeats_.fetch_add(1);
    valid_until_.store((started + ttl_).time_since_epoch().count());
    std::lock_guard<std::mutex> lock(mu_);
    status_ = beat;
    return;
  }
  // A busy state file is also a Conflict: the lease is lost only when the
  // row says so.
  bool ours = true;
  if (auto held = store_->ReadLease(); held.ok()) ours = held->has_value() && (*held)->token == token_;
  std::lock_guard<std::mutex> lock(mu_);
  status_ = beat;
  if (!ours) lost_.store(true);
}

}  // namespace otaroll::state
