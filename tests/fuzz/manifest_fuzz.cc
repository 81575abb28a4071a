// Fuzz target: the manifest loader (text checks, YAML, every rule) on one
// file's bytes. Built with libFuzzer by scripts/fuzz.sh, and with the
// standalone driver (driver.cc) for the short smoke run in the test suite.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "manifest/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  otaroll::manifest::Documents docs;
  std::vector<otaroll::core::Diagnostic> errors;
  otaroll::manifest::ParseText(text, "fuzz.yaml", docs, errors);
  otaroll::manifest::LoadResult result;
  otaroll::manifest::FinishSet(std::move(docs), result);
  for (const auto& d : errors) (void)d.Format();
  return 0;
}
