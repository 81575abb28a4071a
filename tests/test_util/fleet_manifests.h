// Generated manifest trees for the apply tests: N rollouts of three gateless
// stages each (gray / group / all), every rollout with its own product key and
// firmware id, so the sandbox's job list per firmware is exactly one rollout's
// jobs. The generator also returns what the platform should end up holding.
//
//   test_util::FleetOptions o;
//   o.prefix = "crash"; o.count = 30;
//   test_util::Fleet fleet = test_util::WriteFleet(dir, "tree", o);
//   fleet.dir;      // the tree to apply
//   fleet.stages;   // one expected job per stage: product, firmware, selection, target
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "test_util/temp_dir.h"

namespace otaroll::test_util {

struct FleetOptions {
  std::string prefix = "fleet";  // rollout names are "<prefix>-NNN"
  int first = 0;                 // index of the first rollout
  int count = 10;
  int per_file = 10;  // rollouts per file (several YAML documents per file)
  int gray_percent = 10;
};

// One stage and the job the platform must hold for it.
struct FleetStage {
  std::string rollout;
  std::string stage;
  std::string product_key;
  std::string firmware_id;
  std::string selection;  // GRAY, GROUP, ALL
  std::string target;     // GrayPercent, GroupId, "" for ALL

  // "product|firmware|selection|target": what identifies a job on the platform.
  std::string Key() const { return product_key + "|" + firmware_id + "|" + selection + "|" + target; }
};

struct Fleet {
  std::string dir;                        // the manifest tree
  std::vector<std::string> files;         // the files written, in order
  std::vector<std::string> rollouts;      // rollout names, in order
  std::vector<std::string> firmware_ids;  // one per rollout, same order
  std::vector<FleetStage> stages;         // every stage of every rollout, in order
};

inline std::string FleetName(const FleetOptions& o, int i) {
  return fmt::format("{}-{:03}", o.prefix, i);
}

// The YAML document of rollout `i` (without the leading "---").
inline std::string FleetRolloutYaml(const FleetOptions& o, int i, std::vector<FleetStage>* stages = nullptr) {
  std::string name = FleetName(o, i);
  std::string product = fmt::format("pk-{}-{:03}", o.prefix, i);
  std::string firmware = fmt::format("fw-{}-{:03}", o.prefix, i);
  std::string group = fmt::format("g-{}-{:03}", o.prefix, i);
  if (stages) {
    stages->push_back({name, "gray", product, firmware, "GRAY", std::to_string(o.gray_percent)});
    stages->push_back({name, "group", product, firmware, "GROUP", group});
    stages->push_back({name, "all", product, firmware, "ALL", ""});
  }
  return fmt::format(
      "apiVersion: otaroll/v1\n"
      "kind: Rollout\n"
      "metadata:\n"
      "  name: {}\n"
      "spec:\n"
      "  productKey: {}\n"
      "  firmwareId: \"{}\"\n"
      "  srcVersions: [\"1.0.0\"]\n"
      "  stages:\n"
      "    - name: gray\n"
      "      gray: {}\n"
      "    - name: group\n"
      "      group: {}\n"
      "    - name: all\n"
      "      all: true\n",
      name, product, firmware, o.gray_percent, group);
}

// Writes the rollouts below `dir` at `rel`, in files named after their first
// rollout ("<prefix>-NNN.yaml"), so trees can be extended with more calls.
inline Fleet WriteFleet(const TempDir& dir, const std::string& rel, const FleetOptions& o) {
  Fleet fleet;
  fleet.dir = dir.Join(rel);
  std::string text;
  int in_file = 0;
  int file_first = o.first;
  auto flush = [&] {
    if (in_file == 0) return;
    fleet.files.push_back(dir.Write(fmt::format("{}/{}-{:03}.yaml", rel, o.prefix, file_first), text));
    text.clear();
    in_file = 0;
  };
  for (int i = o.first; i < o.first + o.count; ++i) {
    if (in_file == 0) file_first = i;
    if (in_file > 0) text += "---\n";
    text += FleetRolloutYaml(o, i, &fleet.stages);
    fleet.rollouts.push_back(FleetName(o, i));
    fleet.firmware_ids.push_back(fmt::format("fw-{}-{:03}", o.prefix, i));
    if (++in_file == o.per_file) flush();
  }
  flush();
  return fleet;
}

}  // namespace otaroll::test_util
