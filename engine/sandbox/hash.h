// Stable 64-bit hashing for the sandbox's deterministic choices: the same
// inputs give the same value on every machine and in every build.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace otaroll::sandbox {

// splitmix64's finalizer: a bijective mix of 64 bits.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a over the parts (each followed by a 0xff separator, a byte UTF-8 text
// never holds), keyed by the seed, then mixed.
inline uint64_t Hash64(uint64_t seed, std::initializer_list<std::string_view> parts) {
  uint64_t h = 0xcbf29ce484222325ULL ^ Mix64(seed);
  for (std::string_view part : parts) {
    for (char c : part) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    h *= 0x100000001b3ULL;
  }
  return Mix64(h);
}

// A uniform double in [0, 1) from 53 bits of h.
inline double Unit(uint64_t h) {
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

}  // namespace otaroll::sandbox
