// A Diagnostic is one user-facing error about a place in an input file:
//   otaroll: error: FILE:LINE:COL: FIELD.PATH: what was found; what is allowed
#pragma once

#include <string>
#include <vector>

namespace otaroll::core {

struct Diagnostic {
  std::string file;   // as the user named it (DIR joined with the relative path)
  int line = 0;       // 1-based; 0 when the whole file is meant
  int column = 0;     // 1-based
  std::string field;  // e.g. spec.stages[1].gray; empty for syntax errors
  std::string message;

  // "FILE:LINE:COL: FIELD: MESSAGE" (without the "otaroll: error: " prefix).
  std::string Format() const;
};

// Orders by file, then line, then column, then text: stable, reproducible output.
void SortDiagnostics(std::vector<Diagnostic>& diags);

}  // namespace otaroll::core
