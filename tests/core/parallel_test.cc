#include "core/parallel.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

namespace otaroll::core {
namespace {

// Every item is in exactly one share, the shares are contiguous and in
// order, share 0 runs on the calling thread; below the threshold one share
// does all.
TEST(Parallel, SharesCoverEveryItemOnceInOrder) {
  for (size_t n : {0u, 1u, 7u, 63u, 64u, 1000u}) {
    const size_t count = ShareCount(n, 64);
    if (n < 64) {
      EXPECT_EQ(count, 1u) << n;
    }
    EXPECT_GE(count, 1u);
    EXPECT_LE(count, 8u);
    std::mutex mu;
    std::vector<std::pair<size_t, size_t>> ranges(count);
    std::vector<int> seen(n, 0);
    const auto caller = std::this_thread::get_id();
    ForEachShare(n, 64, [&](size_t share, size_t from, size_t to) {
      std::lock_guard lock(mu);
      if (share == 0) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
      }
      ranges[share] = {from, to};
      for (size_t i = from; i < to; ++i) ++seen[i];
    });
    for (int s : seen) EXPECT_EQ(s, 1) << n;
    EXPECT_EQ(ranges.front().first, 0u);
    EXPECT_EQ(ranges.back().second, n);
    for (size_t s = 1; s < count; ++s) EXPECT_EQ(ranges[s].first, ranges[s - 1].second) << n;
  }
}

}  // namespace
}  // namespace otaroll::core
