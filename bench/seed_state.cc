// otaroll-bench-seed DIR STATE: writes a fresh state file for the tree in DIR
// as a fleet in the middle of its rollouts looks (bench/run measures plans and
// daemon cycles against it): every rollout's first stage created an hour ago
// (its next stage waits on its soak), and every third rollout created to its
// last stage. Job ids are made up; nothing calls a platform.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/clock.h"
#include "core/random.h"
#include "manifest/loader.h"
#include "platform/wire.h"
#include "spec/spec.h"
#include "state/request.h"
#include "state/sqlite_store.h"

namespace otaroll {
namespace {

core::Status Created(state::Store& store, const manifest::Rollout& r, size_t stage, core::Time at, int64_t* jobs) {
  const spec::StageSpec spec = spec::Resolve(r, r.stages[stage]);
  for (size_t part = 0; part < spec.part_count(); ++part) {
    state::Attempt a;
    a.intent_id = core::RandomHex(16);
    a.rollout = r.name;
    a.stage = r.stages[stage].name;
    a.part = static_cast<int>(part);
    a.parts = static_cast<int>(spec.part_count());
    a.spec_hash = spec.hash;
    a.request = state::RequestText(platform::CreateJobParams(spec.part(part), platform::Style::kTuya, ""));
    a.attempt_count = 1;
    a.created_at = a.updated_at = at;
    auto id = store.InsertAttempt(a);
    if (!id.ok()) return id.status();
    a.id = *id;
    a.status = state::AttemptStatus::kCreated;
    a.job_id = fmt::format("bench{:010d}", ++*jobs);
    a.job_created_at = at;
    if (auto s = store.UpdateAttempt(a); !s.ok()) return s;
  }
  return core::Status::Ok();
}

int Seed(const std::string& dir, const std::string& path) {
  auto loaded = manifest::LoadTree(dir);
  if (!loaded.ok() || !loaded->errors.empty()) {
    std::fprintf(stderr, "otaroll-bench-seed: %s is not a valid tree\n", dir.c_str());
    return 1;
  }
  std::filesystem::remove(path);
  auto store = state::SqliteStore::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "otaroll-bench-seed: %s\n", store.status().message().c_str());
    return 1;
  }
  const core::Time at = core::SystemClock().Now() - std::chrono::hours(1);
  auto tx = (*store)->Begin();
  if (!tx.ok()) return 1;
  int64_t jobs = 0;
  size_t n = 0;
  for (const auto& r : loaded->set.rollouts) {
    if (!(*store)->UpsertRollout(r.name, r.product_key, r.firmware_id, at).ok()) return 1;
    const size_t last = n++ % 3 == 0 ? r.stages.size() : 1;
    for (size_t i = 0; i < last; ++i) {
      if (auto s = Created(**store, r, i, at, &jobs); !s.ok()) {
        std::fprintf(stderr, "otaroll-bench-seed: %s\n", s.message().c_str());
        return 1;
      }
    }
  }
  if (!tx->Commit().ok()) return 1;
  std::printf("%s: %zu rollouts, %lld jobs\n", path.c_str(), n, static_cast<long long>(jobs));
  return 0;
}

}  // namespace
}  // namespace otaroll

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: otaroll-bench-seed DIR STATE\n");
    return 2;
  }
  return otaroll::Seed(argv[1], argv[2]);
}
