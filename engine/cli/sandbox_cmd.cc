// `otaroll sandbox` (stub until the sandbox lands).
#include "cli/app.h"
#include "cli/commands.h"

namespace otaroll::cli {

Runner AddSandboxCommand(CLI::App& app) {
  app.add_subcommand("sandbox", "Run a stand-in OTA platform on loopback");
  return [] { return kExitError; };
}

}  // namespace otaroll::cli
