// An attempt's request as the state keeps it (Attempt::request): the part's
// flattened wire parameters (API.md §2) as one compact JSON object of
// strings, keys in byte order: nlohmann's dump of the map. Two equal requests
// are equal texts, so the state compares and stores them as they are and
// parses one only where its parameters are read (apply's lookups, a replaced
// stage's changes, export). Kept as text, a request costs its length, not a
// map node per parameter, in every snapshot.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace otaroll::state {

using RequestParams = std::map<std::string, std::string>;

// The stored text of `params`. A value that is not valid UTF-8 (manifests
// are checked, so never one from a tree) becomes U+FFFD rather than a throw.
std::string RequestText(const RequestParams& params);

// The parameters of a stored text; nullopt unless `text` is one JSON object
// whose values are all strings.
std::optional<RequestParams> ParseRequest(std::string_view text);

// The same, none when `text` is not a stored request: for readers that act
// on what parameters there are (a state read has checked every request).
RequestParams ParamsOf(std::string_view text);

// Whether `text` is such an object, checked without building it: a state
// read checks every attempt's request this way.
bool IsRequestText(std::string_view text);

}  // namespace otaroll::state
