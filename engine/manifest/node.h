// A YAML document as the manifest readers see it: a small immutable tree
// built from yaml-cpp's event stream in the same pass that checks the
// file's structure (syntax.h: ParseYaml), so that each file is parsed once.
//
// It holds what YAML::LoadAll would build, node for node: the same types,
// tags, scalars and marks; a mapping's entries in the order written, a
// repeated key kept (the reader reports it); an alias is the very node its
// anchor names. Nodes live as long as the YamlFile that owns them.
#pragma once

#include <yaml-cpp/mark.h>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace otaroll::manifest {

enum class NodeType { kUndefined, kNull, kScalar, kSequence, kMap };

struct NodeData {
  NodeType type = NodeType::kNull;
  YAML::Mark mark;
  std::string tag;     // as yaml-cpp gives it: "?" plain, "!" quoted, or the tag written
  std::string scalar;  // kScalar
  // kSequence: the items; kMap: key, value, key, value, ...
  std::vector<const NodeData*> items;
};

// A view of one node (or of none: undefined, what a missing key gives).
class Node {
 public:
  Node() = default;
  explicit Node(const NodeData* data) : d_(data) {}

  NodeType Type() const { return d_ == nullptr ? NodeType::kUndefined : d_->type; }
  bool IsDefined() const { return d_ != nullptr; }
  bool IsNull() const { return Type() == NodeType::kNull; }
  bool IsScalar() const { return Type() == NodeType::kScalar; }
  bool IsSequence() const { return Type() == NodeType::kSequence; }
  bool IsMap() const { return Type() == NodeType::kMap; }

  // The scalar as written; empty for any other node.
  const std::string& Scalar() const;
  const std::string& Tag() const;
  // Where the node starts; a null mark for an undefined node.
  YAML::Mark Mark() const;

  // The items of a list or the entries of a mapping; 0 for anything else.
  size_t size() const;
  // A list's item i; undefined past the end or on anything but a list.
  Node operator[](size_t i) const;
  // A mapping's entry i (i < size()).
  Node KeyAt(size_t i) const;
  Node ValueAt(size_t i) const;
  // The value of the first entry whose key is the scalar `key`; undefined
  // when there is none or this is not a mapping.
  Node Get(std::string_view key) const;

 private:
  const NodeData* d_ = nullptr;
};

// The documents of one file and the nodes they are made of.
struct YamlFile {
  std::deque<NodeData> nodes;
  std::vector<Node> documents;
};

}  // namespace otaroll::manifest
