#include "manifest/node.h"

namespace otaroll::manifest {
namespace {

const std::string& Empty() {
  static const std::string empty;
  return empty;
}

}  // namespace

const std::string& Node::Scalar() const {
  return IsScalar() ? d_->scalar : Empty();
}

const std::string& Node::Tag() const {
  return d_ == nullptr ? Empty() : d_->tag;
}

YAML::Mark Node::Mark() const {
  return d_ == nullptr ? YAML::Mark::null_mark() : d_->mark;
}

size_t Node::size() const {
  if (IsSequence()) return d_->items.size();
  if (IsMap()) return d_->items.size() / 2;
  return 0;
}

Node Node::operator[](size_t i) const {
  return IsSequence() && i < d_->items.size() ? Node(d_->items[i]) : Node();
}

Node Node::KeyAt(size_t i) const {
  return IsMap() && 2 * i + 1 < d_->items.size() ? Node(d_->items[2 * i]) : Node();
}

Node Node::ValueAt(size_t i) const {
  return IsMap() && 2 * i + 1 < d_->items.size() ? Node(d_->items[2 * i + 1]) : Node();
}

Node Node::Get(std::string_view key) const {
  if (!IsMap()) return Node();
  for (size_t i = 0; i < size(); ++i) {
    const Node k = KeyAt(i);
    if (k.IsScalar() && k.Scalar() == key) return ValueAt(i);
  }
  return Node();
}

}  // namespace otaroll::manifest
