#include "spec/spec.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "core/sha256.h"
#include "test_util/manifests.h"

namespace otaroll::spec {
namespace {

using test_util::Parse;
using test_util::ReplaceAll;

constexpr const char* kBase = R"(apiVersion: otaroll/v1
kind: Rollout
metadata:
  name: thermo
  labels: {team: hvac}
spec:
  productKey: k1nhvyl0001
  firmwareId: "178"
  srcVersions: ["1.0.1", "1.0.2"]
  upgrade: {retryIntervalMinutes: 60, retryCount: 1, timeoutMinutes: 1440}
  stages:
    - name: canary
      gray: 10
    - name: pilot
      group: CtjzCkNuOx
      gate: {soak: 24h}
    - name: vip
      devices: [dev-002, dev-001]
    - name: everyone
      all: true
)";

std::vector<std::string> Hashes(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& r : Parse(text).rollouts) {
    for (const auto& s : r.stages) out.push_back(Resolve(r, s).hash);
  }
  return out;
}

TEST(Spec, ResolvesTheExactWireParameters) {
  auto set = Parse(kBase);
  const auto& r = set.rollouts[0];
  EXPECT_EQ(Flatten(*Resolve(r, r.stages[0]).params),
            (std::map<std::string, std::string>{{"DownloadProtocol", "HTTPS"},
                                                {"FirmwareId", "178"},
                                                {"GrayPercent", "10"},
                                                {"NeedConfirm", "false"},
                                                {"NeedPush", "true"},
                                                {"ProductKey", "k1nhvyl0001"},
                                                {"RetryCount", "1"},
                                                {"RetryInterval", "60"},
                                                {"SrcVersion.1", "1.0.1"},
                                                {"SrcVersion.2", "1.0.2"},
                                                {"TargetSelection", "GRAY"},
                                                {"TimeoutInMinutes", "1440"}}));
  auto vip = Flatten(*Resolve(r, r.stages[2]).params);
  EXPECT_EQ(vip["TargetSelection"], "SPECIFIC");
  EXPECT_EQ(vip["TargetDeviceName.1"], "dev-001");
  EXPECT_EQ(vip["TargetDeviceName.2"], "dev-002");
  EXPECT_EQ(Flatten(*Resolve(r, r.stages[1]).params)["GroupId"], "CtjzCkNuOx");
  EXPECT_EQ(Flatten(*Resolve(r, r.stages[3]).params).count("GrayPercent"), 0u);
}

// The canonical encoding is a stored contract: changing it would make every
// existing job look changed and be created again.
TEST(Spec, CanonicalEncodingIsStable) {
  ParamSet p{{"ProductKey", {"pk"}}, {"FirmwareId", {"1"}}, {"TargetSelection", {"ALL"}}, {"SrcVersion", {"a", "b"}}};
  EXPECT_EQ(Canonical(p),
            R"({"otaroll.stage-spec":1,"params":{"FirmwareId":"1","ProductKey":"pk","SrcVersion":["a","b"],)"
            R"("TargetSelection":"ALL"}})");
  EXPECT_EQ(Hash(p), core::Sha256Hex(Canonical(p)));
  EXPECT_EQ(Hash(p).size(), 64u);
}

// Canonical() is written out by hand for speed; it must stay byte for byte
// what nlohmann::json builds and dumps, for any text: quotes, backslashes,
// control characters, UTF-8, empty lists and values.
TEST(Spec, CanonicalEncodingIsNlohmannsDumpForAnyText) {
  auto reference = [](const ParamSet& params) {
    nlohmann::json p = nlohmann::json::object();
    for (const auto& [name, values] : params) {
      p[name] = IsListParam(name) ? nlohmann::json(values) : nlohmann::json(values.empty() ? "" : values.front());
    }
    return nlohmann::json{{"otaroll.stage-spec", 1}, {"params", p}}.dump();
  };
  std::mt19937 rng(20261130);
  const std::vector<std::string> alphabet = {"a",
                                             "Z",
                                             "0",
                                             "-",
                                             "\"",
                                             "\\",
                                             "/",
                                             "\b",
                                             "\t",
                                             "\n",
                                             "\f",
                                             "\r",
                                             std::string(1, '\x01'),
                                             std::string(1, '\x1f'),
                                             "\x7f",
                                             " ",
                                             "é",
                                             "固件",
                                             "😀"};
  auto text = [&] {
    std::string t;
    for (size_t n = rng() % 6; n > 0; --n) t += alphabet[rng() % alphabet.size()];
    return t;
  };
  for (int round = 0; round < 500; ++round) {
    ParamSet p;
    p["ProductKey"] = {text()};
    p["TargetDeviceName"] = {};
    for (size_t n = rng() % 4; n > 0; --n) p["TargetDeviceName"].push_back(text());
    p["SrcVersion"] = {text(), text()};
    p["GroupId"] = {};  // a single-value parameter without a value is ""
    if (rng() % 2) p[text()] = {text()};
    ASSERT_EQ(Canonical(p), reference(p)) << round;
  }
  EXPECT_EQ(Canonical(ParamSet{}), reference(ParamSet{}));
}

TEST(Spec, CosmeticEditsKeepTheHash) {
  const auto base = Hashes(kBase);
  // comments and key order
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "      gray: 10\n", "      # ten percent first\n      gray: 10\n")), base);
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "  productKey: k1nhvyl0001\n  firmwareId: \"178\"\n",
                              "  firmwareId: \"178\"\n  productKey: k1nhvyl0001\n")),
            base);
  // labels, gates, paused, another file
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "{team: hvac}", "{team: lighting, tier: gold}")), base);
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "{soak: 24h}", "{soak: 48h, hold: true}")), base);
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "  stages:\n", "  paused: true\n  stages:\n")), base);
  std::vector<std::string> moved;
  for (const auto& r : Parse(kBase, "elsewhere/other.yaml").rollouts) {
    for (const auto& s : r.stages) moved.push_back(Resolve(r, s).hash);
  }
  EXPECT_EQ(moved, base);
  // equivalent spellings and explicit defaults
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "gray: 10", "gray: \"10%\"")), base);
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "firmwareId: \"178\"", "firmwareId: 178")), base);
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "[dev-002, dev-001]", "[dev-001, dev-002]")), base);
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "[\"1.0.1\", \"1.0.2\"]", "[\"1.0.2\", \"1.0.1\"]")), base);
  EXPECT_EQ(Hashes(ReplaceAll(kBase, "timeoutMinutes: 1440}",
                              "timeoutMinutes: 1440, needPush: true, needConfirm: false, downloadProtocol: HTTPS}")),
            base);
}

TEST(Spec, EveryParameterChangesTheHash) {
  const auto base = Hashes(kBase);
  struct Edit {
    const char* from;
    const char* to;
    std::vector<int> changed;  // stages whose hash must change
  };
  const Edit edits[] = {
      {"productKey: k1nhvyl0001", "productKey: k1nhvyl0002", {0, 1, 2, 3}},
      {"firmwareId: \"178\"", "firmwareId: \"179\"", {0, 1, 2, 3}},
      {"[\"1.0.1\", \"1.0.2\"]", "[\"1.0.1\"]", {0, 1, 2, 3}},
      {"retryIntervalMinutes: 60, retryCount: 1", "retryIntervalMinutes: 30, retryCount: 1", {0, 1, 2, 3}},
      {"retryIntervalMinutes: 60, retryCount: 1", "retryIntervalMinutes: 60, retryCount: 2", {0, 1, 2, 3}},
      {"timeoutMinutes: 1440}", "timeoutMinutes: 720}", {0, 1, 2, 3}},
      {"timeoutMinutes: 1440}", "timeoutMinutes: 1440, needPush: false}", {0, 1, 2, 3}},
      {"timeoutMinutes: 1440}", "timeoutMinutes: 1440, needConfirm: true}", {0, 1, 2, 3}},
      {"gray: 10", "gray: 20", {0}},
      {"gray: 10", "group: g1", {0}},
      {"group: CtjzCkNuOx", "group: Other", {1}},
      {"[dev-002, dev-001]", "[dev-002, dev-003]", {2}},
      {"      all: true\n", "      all: true\n      upgrade: {timeoutMinutes: 720}\n", {3}},
  };
  for (const auto& e : edits) {
    auto hashes = Hashes(ReplaceAll(kBase, e.from, e.to));
    for (int i = 0; i < 4; ++i) {
      bool should = std::find(e.changed.begin(), e.changed.end(), i) != e.changed.end();
      EXPECT_EQ(hashes[i] != base[i], should) << e.from << " -> " << e.to << " stage " << i;
    }
  }
}

TEST(Spec, SplitsMoreThan200DevicesIntoParts) {
  std::string devices;
  for (int i = 0; i < 450; ++i) devices += fmt::format("{}d{:03}", i ? ", " : "", i);
  auto set = Parse(ReplaceAll(kBase, "[dev-002, dev-001]", "[" + devices + "]"));
  auto spec = Resolve(set.rollouts[0], set.rollouts[0].stages[2]);
  ASSERT_EQ(spec.part_count(), 3u);
  EXPECT_EQ(spec.part(0).at("TargetDeviceName").size(), 200u);
  EXPECT_EQ(spec.part(2).at("TargetDeviceName").size(), 50u);
  EXPECT_EQ(spec.part(1).at("TargetDeviceName").front(), "d200");
  auto wire = Flatten(spec.part(2));
  EXPECT_EQ(wire["TargetDeviceName.1"], "d400");
  EXPECT_EQ(wire["TargetDeviceName.50"], "d449");
  EXPECT_EQ(wire.count("TargetDeviceName.51"), 0u);
  // The parts' wire parameters merge back into the whole stage.
  EXPECT_EQ(Unflatten({Flatten(spec.part(0)), Flatten(spec.part(1)), Flatten(spec.part(2))}), *spec.params);
}

TEST(Spec, FlattensListsOneBasedAndUnflattensInNumericOrder) {
  ParamSet p{{"SrcVersion", {"v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10"}}};
  auto wire = Flatten(p);
  EXPECT_EQ(wire.begin()->first, "SrcVersion.1");
  EXPECT_EQ(wire["SrcVersion.10"], "v10");
  EXPECT_EQ(Unflatten({wire}), p);
}

TEST(Spec, DiffShowsFieldLevelChanges) {
  ParamSet before{{"GrayPercent", {"10"}}, {"RetryCount", {"1"}}, {"SrcVersion", {"1.0.1", "1.0.2"}}};
  ParamSet after{{"GrayPercent", {"20"}}, {"TimeoutInMinutes", {"720"}}, {"SrcVersion", {"1.0.1", "1.0.3"}}};
  auto d = Diff(before, after);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].field, "GrayPercent");
  EXPECT_EQ(d[0].before, "10");
  EXPECT_EQ(d[0].after, "20");
  EXPECT_EQ(d[1].field, "RetryCount");
  EXPECT_EQ(d[1].after, "");
  EXPECT_EQ(d[2].field, "SrcVersion");
  EXPECT_EQ(d[2].before, "[1.0.1, 1.0.2]");
  EXPECT_EQ(d[2].after, "[1.0.1, 1.0.3] (+1 −1)");
  EXPECT_EQ(d[3].field, "TimeoutInMinutes");
  EXPECT_EQ(d[3].before, "");
}

TEST(Spec, DescribesTargets) {
  EXPECT_EQ(DescribeTarget({{"TargetSelection", {"GRAY"}}, {"GrayPercent", {"10"}}}), "GRAY 10%");
  EXPECT_EQ(DescribeTarget({{"TargetSelection", {"SPECIFIC"}}, {"TargetDeviceName", {"a"}}}), "SPECIFIC 1 device");
  EXPECT_EQ(DescribeTarget({{"TargetSelection", {"ALL"}}}), "ALL");
}

}  // namespace
}  // namespace otaroll::spec
