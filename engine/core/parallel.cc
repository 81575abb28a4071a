#include "core/parallel.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace otaroll::core {

size_t ShareCount(size_t n, size_t parallel_from) {
  if (n < parallel_from) return 1;
  return std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 8);
}

void ForEachShare(size_t n, size_t parallel_from, const std::function<void(size_t, size_t, size_t)>& fn) {
  const size_t shares = ShareCount(n, parallel_from);
  std::vector<std::thread> workers;
  for (size_t s = 1; s < shares; ++s) workers.emplace_back(fn, s, n * s / shares, n * (s + 1) / shares);
  fn(0, 0, n / shares);
  for (auto& w : workers) w.join();
}

}  // namespace otaroll::core
