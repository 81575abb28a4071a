// The text rules of manifest values and how values are shown in messages:
// which strings are names, words (product keys, devices) and wire tokens,
// the nearest allowed key for "did you mean", and short escaped quoting.
#pragma once

#include <string>
#include <string_view>

#include "core/names.h"
#include "manifest/node.h"

namespace otaroll::manifest {

using core::IsName;
// 1..64 ASCII letters and digits, plus the characters in `extra`.
bool IsWord(const std::string& s, std::string_view extra);
// What goes on the wire as a firmware id, group id or source version: 1..64
// printable ASCII characters without spaces ('!' to '~'). Escapes such as
// "\e[2J" written in a quoted YAML string never reach the platform.
bool IsToken(const std::string& s);
inline constexpr const char* kTokenRule = "1-64 printable ASCII characters without spaces";

// Case-insensitive edit distance, for suggesting the key that was meant.
size_t EditDistance(const std::string& a, const std::string& b);

// A value quoted in a message: escaped, on one line, cut after 64 characters.
std::string Quote(const std::string& s);
// A number or other bare scalar as written, cut the same way when long or odd.
std::string Raw(const std::string& s);
// A mapping key as it appears in a field path.
std::string Key(const Node& key);

}  // namespace otaroll::manifest
