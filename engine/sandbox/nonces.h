// Seen SignatureNonce values, per access key, for as long as a replay could
// still carry an acceptable Timestamp: a request is accepted only when its
// Timestamp is within ±window of the receipt time, so a nonce first seen at R
// can only come back with a valid timestamp until R + 2 × window. Memory is
// bounded: a 64-bit hash per nonce, at most `capacity` of them; when full of
// unexpired nonces, new requests are refused (the caller answers Throttling).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "core/time.h"

namespace otaroll::sandbox {

class NonceCache {
 public:
  enum class Outcome { kFresh, kReused, kFull };

  NonceCache(core::Duration window, size_t capacity) : keep_(2 * window), capacity_(capacity) {}

  // Records the nonce when fresh.
  Outcome Use(std::string_view access_key_id, std::string_view nonce, core::Time now);
  size_t size() const { return seen_.size(); }

 private:
  void Expire(core::Time now);
  core::Duration keep_;
  size_t capacity_;
  std::unordered_set<uint64_t> seen_;
  std::deque<std::pair<core::Time, uint64_t>> order_;  // receipt order
};

}  // namespace otaroll::sandbox
