#include "cli/app.h"

namespace otaroll::cli {
int run(int, char**) { return kExitError; }
}  // namespace otaroll::cli
