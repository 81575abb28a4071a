// How a YAML scalar reads under the YAML 1.2 core schema: the same typing
// that js-yaml's CORE_SCHEMA (and so the JSON Schema check) applies, so that
// `paused: "true"` is a string and `group: 12345` an integer in both.
#pragma once

#include <string>

#include "manifest/node.h"

namespace otaroll::manifest {

enum class Kind { kNull, kBool, kInt, kFloat, kString, kList, kMap };

struct Scalar {
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;       // kInt and kFloat
  bool exact_int = false;  // kInt within int64 (then integer holds it)
  long long integer = 0;
  std::string text;  // the scalar as written
};

Scalar Classify(const Node& node);
// A scalar's text typed as if it were written plain, without a tag.
Scalar ClassifyPlain(const std::string& text);

// "an integer (12345)", "a string (\"yes\")", "a list", "a mapping", "null".
std::string Describe(const Node& node);

}  // namespace otaroll::manifest
