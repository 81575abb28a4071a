// The bounds on a manifest (manifest/limits.h, docs/security.md): each one a
// clear error at its place, found before the work it bounds; and values are
// quoted short, escaped and on one line.
#include "manifest/limits.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "manifest/loader.h"

namespace otaroll::manifest {
namespace {

constexpr const char* kHead = R"(apiVersion: otaroll/v1
kind: Rollout
metadata:
  name: thermo
spec:
  productKey: k1nhvyl0001
  firmwareId: "178"
  stages:
)";

std::vector<std::string> Errors(const std::string& text) {
  Documents docs;
  std::vector<core::Diagnostic> errors;
  ParseText(text, "m.yaml", docs, errors);
  std::vector<std::string> out;
  for (const auto& d : errors) out.push_back(d.Format());
  return out;
}
using Lines = std::vector<std::string>;

std::string Stages(size_t n) {
  std::string out = kHead;
  for (size_t i = 0; i < n; ++i) out += "    - {name: s" + std::to_string(i) + ", gray: 1}\n";
  return out;
}

TEST(Limits, AnAliasBombIsRefusedQuickly) {
  // Nine levels of nine aliases: 387,420,489 values once expanded.
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  const std::string names = "abcdefghi";
  for (size_t i = 1; i < names.size(); ++i) {
    std::string ref = std::string("*") + names[i - 1];
    text += std::string(1, names[i]) + ": &" + names[i] + " [" + ref;
    for (int k = 0; k < 8; ++k) text += ", " + ref;
    text += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Errors(text), (Lines{"m.yaml:7:8: with its aliases (*name) expanded, the file holds more than 1000000 "
                                 "values; write the values out instead of nesting aliases"}));
  // Bounded work, not a timing assertion: generous for a sanitizer build.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(Limits, AliasesWithinTheBoundStillWork) {
  std::string text = std::string(kHead) +
                     "    - name: canary\n      gray: 10\n      upgrade: &std {timeoutMinutes: 60}\n"
                     "    - name: rest\n      all: true\n      upgrade: *std\n";
  EXPECT_EQ(Errors(text), Lines{});
}

TEST(Limits, NestingDeeperThanTheLimitIsSaidSo) {
  std::string text = "x: " + std::string(40, '[') + std::string(40, ']') + "\n";
  EXPECT_EQ(Errors(text),
            (Lines{"m.yaml:1:35: nested more than 32 levels deep; manifests need far fewer: flatten it"}));
  // Deep enough for yaml-cpp's own guard: the same sentence, not "bad file".
  std::string deeper = "x: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  auto errors = Errors(deeper);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(": nested more than 32 levels deep; manifests need far fewer: flatten it"),
            std::string::npos)
      << errors[0];
}

TEST(Limits, StagesDevicesLabelsAndDocumentsAreBounded) {
  EXPECT_EQ(Errors(Stages(kMaxStages)), Lines{});
  EXPECT_EQ(Errors(Stages(kMaxStages + 1)),
            (Lines{"m.yaml:9:5: spec.stages: 101 stages, more than the limit of 100; split the rollout"}));

  std::string devices = std::string(kHead) + "    - name: all-of-them\n      devices: [";
  for (size_t i = 0; i <= kMaxDevices; ++i) devices += (i ? ", d" : "d") + std::to_string(i);
  devices += "]\n";
  EXPECT_EQ(Errors(devices), (Lines{"m.yaml:10:16: spec.stages[0].devices: 10001 items, more than the limit of "
                                    "10000; split the list"}));

  std::string labels = "apiVersion: otaroll/v1\nkind: Rollout\nmetadata:\n  name: thermo\n  labels: {";
  for (size_t i = 0; i <= kMaxLabels; ++i) labels += (i ? ", k" : "k") + std::to_string(i) + ": v";
  labels += "}\n" + std::string(kHead).substr(std::string(kHead).find("spec:")) + "    - {name: a, all: true}\n";
  EXPECT_EQ(Errors(labels), (Lines{"m.yaml:5:11: metadata.labels: 65 labels, more than the limit of 64"}));

  std::string long_value = std::string(kHead) + "    - {name: a, all: true}\n";
  long_value.replace(long_value.find("  name: thermo\n"), 15,
                     "  name: thermo\n  labels: {team: " + std::string(300, 'h') + "}\n");
  EXPECT_EQ(Errors(long_value),
            (Lines{"m.yaml:5:18: metadata.labels.team: \"" + std::string(64, 'h') +
                   "…\" (300 characters) is not a valid label value; allowed: up to 256 printable characters"}));

  std::string docs;
  for (size_t i = 0; i <= kMaxDocuments; ++i) docs += "---\n{}\n";
  EXPECT_EQ(Errors(docs),
            (Lines{"m.yaml:2001:1: more than 1000 YAML documents in one file; split it into several files"}));
}

// yaml-cpp 0.7's LoadAll never returns on these (it yields empty documents
// at the same place until memory runs out); found by the fuzz target.
TEST(Limits, AnAbsurdlyLongListIsRefusedBeforeAnyNodeIsBuilt) {
  // 120,000 stages in 3.6 MB: under the file limit, far over any list's.
  std::string text = std::string(kHead);
  for (size_t i = 0; i < 120000; ++i) text += "    - {name: s" + std::to_string(i) + ", gray: 1}\n";
  EXPECT_EQ(Errors(text), (Lines{"m.yaml:9:5: a list of more than 20000 items; no list or mapping of a manifest may be "
                                 "that long (devices: 10000, stages: 100, labels: 64)"}));
}

TEST(Limits, AStrayCommaIsASyntaxErrorNotAnEndlessParse) {
  const std::string error = "invalid YAML: unexpected ',' (commas separate items only inside [...] or {...})";
  EXPECT_EQ(Errors(","), (Lines{"m.yaml:1:1: " + error}));
  EXPECT_EQ(Errors(",a"), (Lines{"m.yaml:1:1: " + error}));
  EXPECT_EQ(Errors("- a\n,"), (Lines{"m.yaml:2:1: " + error}));
  EXPECT_EQ(Errors("[a, b]\n, c"), (Lines{"m.yaml:2:1: " + error}));
  EXPECT_EQ(Errors("---\n---\n---\n"), Lines{});  // empty documents at different places are fine
}

TEST(Limits, AValueIsQuotedShortEscapedAndOnOneLine) {
  // What a link to a credentials file would have shown whole.
  EXPECT_EQ(Errors("OTAROLL_ACCESS_KEY_ID=AKIDEXAMPLE\nOTAROLL_ACCESS_KEY_SECRET=topsecret123\n"),
            (Lines{"m.yaml:1:1: found a string (\"OTAROLL_ACCESS_KEY_ID=AKIDEXAMPLE OTAROL…\" (72 characters)); "
                   "expected a Rollout mapping (apiVersion, kind, metadata, spec)"}));
  std::string escaped = std::string(kHead);
  escaped.replace(escaped.find("\"178\""), 5, "\"\\e[2J\"");
  EXPECT_EQ(Errors(escaped + "    - {name: a, group: \"g\\u202Ex\"}\n"),
            (Lines{"m.yaml:7:15: spec.firmwareId: \"\\x1b[2J\" is not a valid firmware id; allowed: 1-64 printable "
                   "ASCII characters without spaces",
                   "m.yaml:9:24: spec.stages[0].group: \"g\\u{202E}x\" is not a valid group id; allowed: 1-64 "
                   "printable ASCII characters without spaces"}));
  EXPECT_EQ(Errors(std::string(kHead) + "    - {name: a, all: true, \"\\e]0;pwned\\a\": 1}\n"),
            (Lines{"m.yaml:9:28: spec.stages[0].\"\\x1b]0;pwned\\x07\": unknown key; allowed here: name, gray, group, "
                   "devices, all, gate, upgrade"}));
}

}  // namespace
}  // namespace otaroll::manifest
