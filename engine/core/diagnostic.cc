#include "core/diagnostic.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace otaroll::core {

std::string Diagnostic::Format() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}:{}", line, column);
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

void SortDiagnostics(std::vector<Diagnostic>& diags) {
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.column, a.field, a.message) <
           std::tie(b.file, b.line, b.column, b.field, b.message);
  });
}

}  // namespace otaroll::core
