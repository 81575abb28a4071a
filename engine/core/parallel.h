// Work over independent items on every core: [0, n) split into contiguous
// shares, one per core (at most 8), each share handed to `fn` on a thread of
// its own (share 0 on the calling thread). Below `parallel_from` items one
// share does all: a thread costs more than it saves. Callers that write each
// item's result into its own slot, or join per-share results in share order,
// get exactly what one thread would make.
#pragma once

#include <cstddef>
#include <functional>

namespace otaroll::core {

// How many shares ForEachShare splits n items into.
size_t ShareCount(size_t n, size_t parallel_from);

// Calls fn(share, from, to) for every share, returns once all are done.
void ForEachShare(size_t n, size_t parallel_from, const std::function<void(size_t share, size_t from, size_t to)>& fn);

}  // namespace otaroll::core
