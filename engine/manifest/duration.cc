#include "manifest/duration.h"

namespace otaroll::manifest {

DurationParse ParseDuration(const std::string& text) {
  // Ten years is far beyond any soak; the bound also keeps the sum in range.
  constexpr long long kMaxSeconds = 10LL * 366 * 86400;
  DurationParse out;
  long long total = 0;
  size_t i = 0;
  if (text.empty()) out.error = "is not a duration";
  while (i < text.size() && out.error.empty()) {
    size_t start = i;
    long long n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxSeconds) n = kMaxSeconds + 1;  // saturate; reported below
      ++i;
    }
    if (i == start || i == text.size()) {
      out.error = "is not a duration";
      break;
    }
    long long unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: out.error = "is not a duration"; break;
    }
    ++i;
    if (!out.error.empty()) break;
    if (n > kMaxSeconds / unit || total + n * unit > kMaxSeconds) {
      out.error = "is too long (at most 10 years)";
      break;
    }
    total += n * unit;
  }
  if (out.error.empty()) out.value = std::chrono::seconds(total);
  return out;
}

}  // namespace otaroll::manifest
