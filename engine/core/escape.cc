#include "core/escape.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace otaroll::core {
namespace {

// The length of the well-formed UTF-8 sequence at text[i] and its code
// point, or 0 when the bytes there are not one.
size_t Decode(std::string_view text, size_t i, uint32_t* cp) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  const size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  uint32_t v = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    v = (v << 6) | (cc & 0x3F);
  }
  if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || (v >= 0xD800 && v <= 0xDFFF) ||
      v > 0x10FFFF) {
    return 0;
  }
  *cp = v;
  return len;
}

bool Unsafe(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF || cp == 0xFFFE ||
         cp == 0xFFFF;
}

// Appends the escaped form of the character (or invalid byte) at text[i];
// returns how many bytes it covered.
size_t AppendOne(std::string_view text, size_t i, std::string& out) {
  uint32_t cp = 0;
  const size_t len = Decode(text, i, &cp);
  if (len == 0) {
    out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i]));
    return 1;
  }
  if (!Unsafe(cp)) {
    out.append(text.substr(i, len));
  } else if (cp == '\t') {
    out += "\\t";
  } else if (cp == '\n') {
    out += "\\n";
  } else if (cp == '\r') {
    out += "\\r";
  } else if (cp < 0x80) {
    out += fmt::format("\\x{:02x}", cp);
  } else {
    out += fmt::format("\\u{{{:04X}}}", cp);
  }
  return len;
}

}  // namespace

std::string Printable(std::string_view text) {
  if (IsPrintable(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) i += AppendOne(text, i, out);
  return out;
}

bool IsPrintable(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = Decode(text, i, &cp);
    if (len == 0 || Unsafe(cp)) return false;
    i += len;
  }
  return true;
}

std::string Shown(std::string_view text, size_t max_chars) {
  return text.size() <= max_chars && IsPrintable(text) ? std::string(text) : Excerpt(text, max_chars);
}

std::string Excerpt(std::string_view text, size_t max_chars) {
  std::string out = "\"";
  size_t chars = 0, i = 0;
  for (; i < text.size() && chars < max_chars; ++chars) i += AppendOne(text, i, out);
  if (i >= text.size()) return out + "\"";
  size_t total = chars;
  for (uint32_t cp = 0; i < text.size(); ++total) {
    const size_t len = Decode(text, i, &cp);
    i += len == 0 ? 1 : len;
  }
  return out + fmt::format("…\" ({} characters)", total);
}

bool AppendAsciiJsonString(std::string& out, std::string_view text) {
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return false;
  }
  out += '"';
  const auto plain = [](char c) { return c >= 0x20 && c != '"' && c != '\\'; };
  if (std::all_of(text.begin(), text.end(), plain)) {
    out += text;
    out += '"';
    return true;
  }
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return true;
}

}  // namespace otaroll::core
