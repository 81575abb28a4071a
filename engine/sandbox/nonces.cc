#include "sandbox/nonces.h"

#include "sandbox/hash.h"

namespace otaroll::sandbox {

void NonceCache::Expire(core::Time now) {
  while (!order_.empty() && order_.front().first + keep_ <= now) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
}

NonceCache::Outcome NonceCache::Use(std::string_view access_key_id, std::string_view nonce, core::Time now) {
  Expire(now);
  uint64_t h = Hash64(0x6e6f6e6365ULL, {access_key_id, nonce});
  if (seen_.count(h) != 0) return Outcome::kReused;
  if (seen_.size() >= capacity_) return Outcome::kFull;
  seen_.insert(h);
  order_.emplace_back(now, h);
  return Outcome::kFresh;
}

}  // namespace otaroll::sandbox
