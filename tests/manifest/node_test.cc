// The one-pass document tree (manifest/node.h, built by ParseYaml) holds
// what yaml-cpp's own LoadAll builds from the same text, node for node.
#include "manifest/node.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "manifest/syntax.h"

namespace otaroll::manifest {
namespace {

NodeType TypeOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined: return NodeType::kUndefined;
    case YAML::NodeType::Null: return NodeType::kNull;
    case YAML::NodeType::Scalar: return NodeType::kScalar;
    case YAML::NodeType::Sequence: return NodeType::kSequence;
    case YAML::NodeType::Map: return NodeType::kMap;
  }
  return NodeType::kUndefined;
}

// Compares two trees down to `depth` levels (an alias may make a cycle).
void ExpectSame(const YAML::Node& want, const Node& got, const std::string& where, int depth = 12) {
  ASSERT_EQ(TypeOf(want), got.Type()) << where;
  EXPECT_EQ(want.Tag(), got.Tag()) << where;
  EXPECT_EQ(want.Mark().pos, got.Mark().pos) << where;
  EXPECT_EQ(want.Mark().line, got.Mark().line) << where;
  EXPECT_EQ(want.Mark().column, got.Mark().column) << where;
  if (want.IsScalar()) {
    EXPECT_EQ(want.Scalar(), got.Scalar()) << where;
  }
  ASSERT_EQ(want.size(), got.size()) << where;
  if (depth == 0) return;
  if (want.IsSequence()) {
    for (size_t i = 0; i < want.size(); ++i) {
      ExpectSame(want[i], got[i], where + "[" + std::to_string(i) + "]", depth - 1);
    }
  } else if (want.IsMap()) {
    size_t i = 0;
    for (auto it = want.begin(); it != want.end(); ++it, ++i) {
      ExpectSame(it->first, got.KeyAt(i), where + ".key" + std::to_string(i), depth - 1);
      ExpectSame(it->second, got.ValueAt(i), where + ".value" + std::to_string(i), depth - 1);
    }
  }
}

void ExpectAsLoadAll(const std::string& text) {
  SCOPED_TRACE(text);
  const std::vector<YAML::Node> want = YAML::LoadAll(text);
  YamlFile got;
  ASSERT_FALSE(ParseYaml(text, got).has_value());
  ASSERT_EQ(want.size(), got.documents.size());
  for (size_t d = 0; d < want.size(); ++d) ExpectSame(want[d], got.documents[d], "doc" + std::to_string(d));
}

TEST(YamlTree, HoldsWhatLoadAllBuildsNodeForNode) {
  ExpectAsLoadAll(
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: a, labels: {team: x}}\n"
      "spec:\n  stages:\n    - name: s\n      gray: 10\n    - {name: t, all: true}\n");
  ExpectAsLoadAll("a: ~\nb:\nc: null\nd: 'quoted'\ne: \"x\"\nf: !!str 12\ng: !!int 3\nh: !custom z\n");
  ExpectAsLoadAll("a: 1\na: 2\n? [x, y]\n: complex key\n");  // repeated and non-scalar keys kept
  ExpectAsLoadAll("base: &b {x: 1, y: [1, 2]}\nuse: *b\nlist: &l [a, *b]\nagain: *l\n");
  ExpectAsLoadAll("--- a\n--- [1, 2]\n---\n--- {k: v}\n...\n");  // several documents, one empty
  ExpectAsLoadAll("");
  ExpectAsLoadAll("# only a comment\n");
  ExpectAsLoadAll("- |\n  block\n  text\n- >\n  folded\n- !!seq [1]\n- !!map {a: b}\n");
  ExpectAsLoadAll("self: &s [1, *s]\n");  // an anchor names its node from the moment it opens
}

TEST(YamlTree, AMissingKeyOrAWrongKindIsUndefined) {
  YamlFile file;
  ASSERT_FALSE(ParseYaml("kind: Freeze\nlist: [a]\nscalar: x\n", file).has_value());
  const Node doc = file.documents.at(0);
  EXPECT_EQ(doc.Get("kind").Scalar(), "Freeze");
  EXPECT_FALSE(doc.Get("nothing").IsDefined());
  EXPECT_EQ(doc.Get("nothing").Mark().is_null(), true);
  EXPECT_FALSE(doc.Get("list")[1].IsDefined());
  EXPECT_FALSE(doc.Get("scalar").Get("x").IsDefined());
  EXPECT_EQ(doc.Get("list").Scalar(), "");
  EXPECT_EQ(doc.Get("scalar").size(), 0u);
}

TEST(YamlTree, ASyntaxErrorIsTheProblemInYamlCppsWords) {
  YamlFile file;
  const auto problem = ParseYaml("a: [1, 2\nb: 3\n", file);
  ASSERT_TRUE(problem.has_value());
  std::string want;
  try {
    YAML::LoadAll("a: [1, 2\nb: 3\n");
  } catch (const YAML::Exception& e) {
    want = "invalid YAML: " + e.msg;
    EXPECT_EQ(problem->mark.line, e.mark.line);
    EXPECT_EQ(problem->mark.column, e.mark.column);
  }
  EXPECT_EQ(problem->message, want);
}

}  // namespace
}  // namespace otaroll::manifest
