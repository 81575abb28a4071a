#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace otaroll::core {

// Lower-case hex SHA-256 of the bytes (OpenSSL EVP).
std::string Sha256Hex(std::string_view data);

// The same over bytes given piece by piece.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // The digest of everything given so far; the hasher is spent afterwards.
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace otaroll::core
