#include "platform/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace otaroll::platform {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool Unescape(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string CanonicalQuery(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (name == "Signature") continue;
    if (!out.empty()) out.push_back('&');
    out += PercentEncode(name);
    out.push_back('=');
    out += PercentEncode(value);
  }
  return out;
}

std::string StringToSign(std::string_view method, const Params& params) {
  std::string out(method);
  out += "&";
  out += PercentEncode("/");
  out += "&";
  out += PercentEncode(CanonicalQuery(params));
  return out;
}

std::string Sign(std::string_view secret, std::string_view string_to_sign) {
  std::string key(secret);
  key.push_back('&');
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(), mac.data(), &mac_len);
  OPENSSL_cleanse(key.data(), key.size());
  std::string b64(4 * ((mac_len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac.data(), static_cast<int>(mac_len));
  b64.resize(static_cast<size_t>(n));
  return b64;
}

std::string SignRequest(std::string_view method, const Params& params, std::string_view secret) {
  return Sign(secret, StringToSign(method, params));
}

bool SignaturesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool DecodeForm(std::string_view text, Params* out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view pair = text.substr(pos, amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string name;
      std::string value;
      if (!Unescape(pair.substr(0, eq), &name)) return false;
      if (eq != std::string_view::npos && !Unescape(pair.substr(eq + 1), &value)) return false;
      (*out)[name] = value;
    }
    pos = amp + 1;
  }
  return true;
}

}  // namespace otaroll::platform
