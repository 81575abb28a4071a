#include "manifest/scalar.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "core/escape.h"

namespace otaroll::manifest {
namespace {

bool IsStringTag(const std::string& tag) {
  return tag == "!" || tag == "tag:yaml.org,2002:str";
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsOct(char c) {
  return c >= '0' && c <= '7';
}
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
std::string_view DropSign(std::string_view t) {
  return !t.empty() && (t[0] == '-' || t[0] == '+') ? t.substr(1) : t;
}
bool OneOf(std::string_view t, std::initializer_list<std::string_view> options) {
  for (auto o : options) {
    if (t == o) return true;
  }
  return false;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsFloat(std::string_view t) {
  t = DropSign(t);
  size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < t.size() && IsDigit(t[i])) ++i, ++int_digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && IsDigit(t[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    size_t exp_start = i;
    while (i < t.size() && IsDigit(t[i])) ++i;
    if (i == exp_start) return false;
  }
  return i == t.size();
}

}  // namespace

Scalar Classify(const Node& node) {
  Scalar s;
  switch (node.Type()) {
    case NodeType::kSequence: s.kind = Kind::kList; return s;
    case NodeType::kMap: s.kind = Kind::kMap; return s;
    case NodeType::kNull:
    case NodeType::kUndefined: s.kind = Kind::kNull; return s;
    case NodeType::kScalar: break;
  }
  if (!IsStringTag(node.Tag())) return ClassifyPlain(node.Scalar());
  s.kind = Kind::kString;
  s.text = node.Scalar();
  return s;
}

Scalar ClassifyPlain(const std::string& text) {
  Scalar s;
  s.text = text;
  const std::string_view t = s.text;
  const bool oct = t.size() > 2 && t.substr(0, 2) == "0o" && AllOf(t.substr(2), IsOct);
  const bool hex = t.size() > 2 && t.substr(0, 2) == "0x" && AllOf(t.substr(2), IsHex);
  if (OneOf(t, {"", "~", "null", "Null", "NULL"})) {
    s.kind = Kind::kNull;
  } else if (OneOf(t, {"true", "True", "TRUE", "false", "False", "FALSE"})) {
    s.kind = Kind::kBool;
    s.boolean = t[0] == 't' || t[0] == 'T';
  } else if (AllOf(DropSign(t), IsDigit) || oct || hex) {
    s.kind = Kind::kInt;
    const int base = oct ? 8 : hex ? 16 : 10;
    errno = 0;
    s.integer = std::strtoll(s.text.c_str() + (base == 10 ? 0 : 2), nullptr, base);
    s.exact_int = errno != ERANGE;
    s.number = s.exact_int ? static_cast<double>(s.integer) : std::strtod(s.text.c_str(), nullptr);
  } else if (const bool inf = OneOf(DropSign(t), {".inf", ".Inf", ".INF"}), nan = OneOf(t, {".nan", ".NaN", ".NAN"});
             inf || nan || IsFloat(t)) {
    s.kind = Kind::kFloat;
    s.number = nan ? std::nan("") : inf ? (t[0] == '-' ? -INFINITY : INFINITY) : std::strtod(s.text.c_str(), nullptr);
    // JSON Schema counts 10.0 as an integer; so do we.
    if (std::isfinite(s.number) && std::trunc(s.number) == s.number && std::fabs(s.number) < 9.0e18) {
      s.exact_int = true;
      s.integer = static_cast<long long>(s.number);
    }
  } else {
    s.kind = Kind::kString;
  }
  return s;
}

std::string Describe(const Node& node) {
  Scalar s = Classify(node);
  // Values are quoted short, escaped and on one line: a manifest may be a
  // link to a secret, and what it holds must not be printed back.
  const std::string shown = core::Shown(s.text);
  switch (s.kind) {
    case Kind::kNull: return "nothing (null)";
    case Kind::kBool: return fmt::format("a boolean ({})", shown);
    case Kind::kInt: return fmt::format("an integer ({})", shown);
    case Kind::kFloat: return fmt::format("a number ({})", shown);
    case Kind::kString: return fmt::format("a string ({})", core::Excerpt(s.text));
    case Kind::kList: return "a list";
    case Kind::kMap: return "a mapping";
  }
  return "a value";
}

}  // namespace otaroll::manifest
