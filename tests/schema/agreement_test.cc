// Agreement between schemas/rollout.schema.json (as tools/schema-check sees
// it: js-yaml core schema + Ajv 2020-12) and the C++ validator
// (`otaroll validate FILE`), over every file of examples/ and of
// tests/corpus/{valid,invalid}. Both must give the expected verdict:
// examples and corpus/valid are valid, corpus/invalid is invalid.
//
// The node half needs node and tools/schema-check/node_modules
// (scripts/install-deps.sh). Without them these tests FAIL, never skip: a
// silently skipped agreement test is how the schema and the validator drift.

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "manifest/ignore.h"
#include "test_util/child.h"

namespace {

namespace test_util = otaroll::test_util;

namespace fs = std::filesystem;

const fs::path kSource = OTAROLL_SOURCE_DIR;
const fs::path kSchema = kSource / "schemas" / "rollout.schema.json";
const fs::path kChecker = kSource / "tools" / "schema-check" / "check-manifests.mjs";
const fs::path kNodeModules = kSource / "tools" / "schema-check" / "node_modules";
constexpr const char* kInstallHint =
    "run scripts/install-deps.sh (it installs node >= 20 and runs "
    "`npm ci --prefix tools/schema-check`)";

enum class Verdict { kValid, kInvalid, kError };

const char* Name(Verdict v) {
  switch (v) {
    case Verdict::kValid: return "valid";
    case Verdict::kInvalid: return "invalid";
    case Verdict::kError: return "error";
  }
  return "?";
}

struct Case {
  fs::path file;
  Verdict expected;
  std::string group;  // "examples", "corpus/valid", "corpus/invalid"
};

// Runs argv (argv[0] looked up in PATH) with stdout and stderr interleaved
// in RunResult::out. No shell: paths need no quoting.
test_util::RunResult Run(const std::vector<std::string>& args) {
  test_util::RunOptions options;
  options.search_path = true;
  options.merge_output = true;
  return test_util::Run(args, options);
}

bool IsManifest(const fs::path& p) {
  return p.extension() == ".yaml" || p.extension() == ".yml";
}

// *.yaml / *.yml below dir, recursively, hidden entries skipped, sorted.
std::vector<fs::path> ManifestFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  std::ifstream ignore_file(dir / otaroll::manifest::kIgnoreFile);
  const auto ignore = otaroll::manifest::IgnoreRules::Parse(
      std::string(std::istreambuf_iterator<char>(ignore_file), std::istreambuf_iterator<char>()));
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if ((!name.empty() && name[0] == '.') ||
        ignore.Ignored(it->path().lexically_relative(dir).generic_string(), it->is_directory())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && IsManifest(it->path())) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const auto& f : ManifestFiles(kSource / "examples")) cases.push_back({f, Verdict::kValid, "examples"});
  for (const auto& f : ManifestFiles(fs::path(OTAROLL_TEST_DIR) / "corpus" / "valid")) {
    cases.push_back({f, Verdict::kValid, "corpus/valid"});
  }
  for (const auto& f : ManifestFiles(fs::path(OTAROLL_TEST_DIR) / "corpus" / "invalid")) {
    cases.push_back({f, Verdict::kInvalid, "corpus/invalid"});
  }
  return cases;
}

std::string FirstLine(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// Empty when node and the package's dependencies are usable, else why not.
std::string NodeProblem() {
  for (const char* dep : {"ajv", "ajv-formats", "js-yaml"}) {
    if (!fs::exists(kNodeModules / dep / "package.json")) {
      return "tools/schema-check/node_modules/" + std::string(dep) + " is missing";
    }
  }
  test_util::RunResult v = Run({"node", "--version"});
  if (!v.spawn_error.empty()) return "cannot run node: " + v.spawn_error;
  if (v.exit_code != 0) return "`node --version` failed: " + FirstLine(v.out);
  return "";
}

struct SchemaVerdict {
  Verdict verdict = Verdict::kError;
  std::string reason;  // the checker's line
};

// One node run over every file; parses "valid FILE" / "invalid FILE: reason".
// Fails the current test (and returns an empty map) when node is unusable.
std::map<fs::path, SchemaVerdict> SchemaVerdicts(const std::vector<Case>& cases) {
  std::map<fs::path, SchemaVerdict> out;
  if (std::string problem = NodeProblem(); !problem.empty()) {
    ADD_FAILURE() << "the schema half of the agreement test needs node and the tools/schema-check "
                     "dependencies: "
                  << problem << ". To fix: " << kInstallHint << ".";
    return out;
  }
  std::vector<std::string> args = {"node", kChecker.string(), kSchema.string()};
  for (const auto& c : cases) args.push_back(c.file.string());
  test_util::RunResult r = Run(args);
  if (!r.spawn_error.empty() || r.exit_code != 0) {
    ADD_FAILURE() << "check-manifests.mjs failed (exit " << r.exit_code << ") " << r.spawn_error << "\n" << r.out;
    return out;
  }
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < r.out.size();) {
    size_t nl = r.out.find('\n', pos);
    if (nl == std::string::npos) nl = r.out.size();
    lines.push_back(r.out.substr(pos, nl - pos));
    pos = nl + 1;
  }
  for (const auto& c : cases) {
    const std::string file = c.file.string();
    SchemaVerdict v;
    v.reason = "no line for this file in the checker's output";
    for (const auto& line : lines) {
      if (line == "valid " + file) {
        v = {Verdict::kValid, line};
        break;
      }
      if (line.rfind("invalid " + file + ": ", 0) == 0) {
        v = {Verdict::kInvalid, line};
        break;
      }
    }
    out[c.file] = v;
  }
  return out;
}

struct CppVerdict {
  Verdict verdict = Verdict::kError;
  std::string detail;
};

CppVerdict ValidatorVerdict(const fs::path& file) {
  test_util::RunResult r = Run({OTAROLL_BIN, "validate", file.string()});
  CppVerdict v;
  if (!r.spawn_error.empty()) {
    v.detail = r.spawn_error;
  } else if (r.exit_code == 0) {
    v.verdict = Verdict::kValid;
  } else if (r.exit_code == 1) {
    v.verdict = Verdict::kInvalid;
  } else {
    v.detail = "exit code " + std::to_string(r.exit_code) + " (expected 0 or 1)";
  }
  std::string out = r.out;
  if (out.size() > 600) out = out.substr(0, 600) + "...";
  if (!out.empty()) v.detail += (v.detail.empty() ? "" : "; ") + std::string("output: ") + out;
  return v;
}

TEST(SchemaCorpus, FilesExistAndNameTheirRule) {
  auto cases = AllCases();
  size_t examples = 0, valid = 0, invalid = 0;
  for (const auto& c : cases) {
    (c.group == "examples" ? examples : c.group == "corpus/valid" ? valid : invalid)++;
    if (c.group == "examples") continue;
    std::ifstream in(c.file);
    std::string first;
    std::getline(in, first);
    EXPECT_TRUE(first.rfind("# rule: ", 0) == 0 && first.size() > 20)
        << c.file << ": the first line must be `# rule: <what is wrong / what is exercised>`";
  }
  EXPECT_GE(examples, 4u) << "examples/ should hold at least four rollouts";
  EXPECT_GE(valid, 10u) << "tests/corpus/valid looks incomplete";
  EXPECT_GE(invalid, 35u) << "tests/corpus/invalid looks incomplete";
}

// The node half alone, so it can be checked while the C++ side changes.
TEST(SchemaAgreement, SchemaCheckerGivesExpectedVerdicts) {
  auto cases = AllCases();
  ASSERT_FALSE(cases.empty());
  auto verdicts = SchemaVerdicts(cases);
  if (verdicts.empty()) return;  // failure already reported
  for (const auto& c : cases) {
    const auto& v = verdicts[c.file];
    EXPECT_EQ(v.verdict, c.expected) << c.file << ": expected " << Name(c.expected) << ", the JSON Schema says "
                                     << Name(v.verdict) << " — " << v.reason;
  }
}

TEST(SchemaAgreement, ValidatorAndSchemaAgreeWithExpectation) {
  auto cases = AllCases();
  ASSERT_FALSE(cases.empty());
  ASSERT_TRUE(fs::exists(OTAROLL_BIN)) << "otaroll binary not built: " << OTAROLL_BIN;
  auto schema = SchemaVerdicts(cases);
  for (const auto& c : cases) {
    CppVerdict cpp = ValidatorVerdict(c.file);
    SchemaVerdict js = schema.empty() ? SchemaVerdict{Verdict::kError, "(schema checker unavailable)"} : schema[c.file];
    const bool ok = cpp.verdict == c.expected && (schema.empty() || js.verdict == c.expected);
    EXPECT_TRUE(ok) << c.file << " (" << c.group << "): expected " << Name(c.expected)
                    << "\n  JSON Schema: " << Name(js.verdict) << " — " << js.reason
                    << "\n  otaroll validate: " << Name(cpp.verdict) << " — " << cpp.detail;
  }
}

}  // namespace
