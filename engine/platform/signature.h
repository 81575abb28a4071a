// The platform's RPC signature, version 1.0 with HMAC-SHA1 (API.md §2). Both
// the client (signing) and `otaroll sandbox` (verifying) use these functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace otaroll::platform {

// Wire parameters, flat (lists already 1-based: SrcVersion.1, Tag.1.Key) and
// sorted by name in byte order, which std::map<std::string> gives.
using Params = std::map<std::string, std::string>;

// RFC 3986 unreserved characters stay; every other byte is %XY, upper-case
// hex. Space is %20, '*' is %2A, '~' stays.
std::string PercentEncode(std::string_view text);

// "name=value&…" over every parameter except Signature, names and values
// percent-encoded, in byte order of the names.
std::string CanonicalQuery(const Params& params);

// METHOD & enc("/") & enc(canonical query).
std::string StringToSign(std::string_view method, const Params& params);

// Base64(HMAC-SHA1(secret + "&", string_to_sign)).
std::string Sign(std::string_view secret, std::string_view string_to_sign);

// The signature of a request: Sign(secret, StringToSign(method, params)).
std::string SignRequest(std::string_view method, const Params& params, std::string_view secret);

// Constant-time comparison, for verifying a received signature.
bool SignaturesEqual(std::string_view a, std::string_view b);

// Decodes application/x-www-form-urlencoded or a query string ("a=1&b=%20"),
// '+' as space. Returns false on a malformed escape. A repeated name keeps the
// last value.
bool DecodeForm(std::string_view text, Params* out);

}  // namespace otaroll::platform
