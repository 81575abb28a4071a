// Making untrusted text safe to show. Manifest values, file names, job ids and
// messages from the platform, and anything read back from a state file may
// hold escape sequences, bidi overrides or invalid UTF-8; none of it may reach
// a terminal or a log line as is (docs/security.md).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace otaroll::core {

// `text` with every byte or character that could move the cursor, change
// colours, reorder the line or break it escaped, the rest unchanged:
//   - C0 controls and DEL: \t \n \r as such, others \xNN (ESC is \x1b);
//   - C1 controls U+0080..U+009F, bidi controls (U+061C, U+200E, U+200F,
//     U+2028, U+2029, U+202A..U+202E, U+2066..U+2069) and U+FEFF/U+FFFE/U+FFFF: \u{XXXX};
//   - bytes that are not valid UTF-8: \xNN.
// Printable text (ASCII and well-formed UTF-8 otherwise) passes unchanged, so
// escaping twice is not idempotent only where the input already held a
// backslash sequence: that is fine, the result is always one printable line.
std::string Printable(std::string_view text);

// A short single-line excerpt for error messages: Printable(text) cut after
// `max_chars` characters of the input (default 40), with "…" and the total
// length appended when cut: `"line one\nline t…" (213 characters)`. Quoted.
std::string Excerpt(std::string_view text, size_t max_chars = 40);

// `text` as written when it is printable and at most `max_chars` bytes long
// (a number, a key, a short name), otherwise Excerpt(text, max_chars).
std::string Shown(std::string_view text, size_t max_chars = 40);

// Whether `text` is all printable: what Printable() would return unchanged.
bool IsPrintable(std::string_view text);

// Appends `text` as a JSON string exactly as nlohmann's dump() writes it
// (quotes, \" \\ \b \f \n \r \t, other controls \u00xx) when it is
// ASCII; false, and nothing appended, when it has a byte past ASCII (the
// callers hand such text to nlohmann, the reference).
bool AppendAsciiJsonString(std::string& out, std::string_view text);

}  // namespace otaroll::core
