// Rollouts whose jobs could hold the same devices at the same time (SPEC
// §1): a device can be pending in only one job, and the later job's task
// FAILS for it. Pure functions of the manifests; the planner adds what the
// state says (which goes first, which has finished).
#pragma once

#include <utility>
#include <vector>

#include "manifest/model.h"

namespace otaroll::plan {

// Whether jobs of `a` and `b` could hold the same device: the same product,
// source versions that may meet (either lists none, or they share one), and
// not both made only of SPECIFIC stages with disjoint device lists.
bool Overlap(const manifest::Rollout& a, const manifest::Rollout& b);

// Whether `r` lists `other` in spec.supersedes: it does not wait for it.
bool Supersedes(const manifest::Rollout& r, const manifest::Rollout& other);

// Every overlapping pair of the set, each once (first < second by name).
std::vector<std::pair<const manifest::Rollout*, const manifest::Rollout*>> OverlappingPairs(
    const manifest::ManifestSet& set);

}  // namespace otaroll::plan
