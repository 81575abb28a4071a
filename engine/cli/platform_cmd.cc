// `otaroll platform jobs|job|tasks` (stub).
#include "cli/app.h"
#include "cli/commands.h"

namespace otaroll::cli {

Runner AddPlatformCommand(CLI::App& app) {
  app.add_subcommand("platform", "Ask the OTA platform about jobs and device tasks");
  return [] { return kExitError; };
}

}  // namespace otaroll::cli
