// otaroll-bench-audit STATE SANDBOX_DATA: after bench/run's apply, compares
// what otaroll recorded with what the sandbox holds (its own data file, read
// once the sandbox stopped) and prints "JOBS DUPLICATES LOST":
// - JOBS: the sandbox's jobs of the firmwares otaroll's state knows;
// - DUPLICATES: jobs beyond one per created stage part (several jobs of one
//   rollout's firmware and target for a single part otaroll created, or a
//   job no attempt of the state names);
// - LOST: created attempts whose job the sandbox does not have, and attempts
//   still pending or unknown (a job otaroll cannot account for).
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "sandbox/store.h"
#include "state/request.h"
#include "state/sqlite_store.h"

int main(int argc, char** argv) {
  using namespace otaroll;  // NOLINT(google-build-using-namespace): a small tool
  if (argc != 3) {
    std::fprintf(stderr, "usage: otaroll-bench-audit STATE SANDBOX_DATA\n");
    return 2;
  }
  auto snapshot = state::LoadSnapshot(argv[1]);
  if (!snapshot.ok()) {
    std::fprintf(stderr, "otaroll-bench-audit: %s\n", snapshot.status().message().c_str());
    return 1;
  }
  auto jobs = sandbox::JobStore::Open(argv[2]);
  if (!jobs.ok()) {
    std::fprintf(stderr, "otaroll-bench-audit: %s\n", jobs.status().message().c_str());
    return 1;
  }
  std::set<std::string> named;  // job ids the state names
  long lost = 0;
  std::map<std::string, long> parts;  // firmware → created parts
  for (const auto& a : snapshot->attempts) {
    if (a.status == state::AttemptStatus::kPending || a.status == state::AttemptStatus::kUnknown) ++lost;
    if (a.status != state::AttemptStatus::kCreated) continue;
    named.insert(a.job_id);
    auto request = state::ParamsOf(a.request);
    auto firmware = request.find("FirmwareId");
    if (firmware != request.end()) ++parts[firmware->second];
  }
  long total = 0, duplicates = 0;
  std::set<std::string> found;
  for (const auto& [firmware, created] : parts) {
    auto listed = (*jobs)->ListByFirmware(firmware, 0, 100000);
    if (!listed.ok()) {
      std::fprintf(stderr, "otaroll-bench-audit: %s\n", listed.status().message().c_str());
      return 1;
    }
    total += static_cast<long>(listed->size());
    for (const auto& job : *listed) {
      if (named.count(job.job_id)) {
        found.insert(job.job_id);
      } else {
        ++duplicates;
      }
    }
  }
  lost += static_cast<long>(named.size() - found.size());
  std::printf("%ld %ld %ld\n", total, duplicates, lost);
  return 0;
}
