// The otaroll binary: a thin main over the engine's command-line layer.
#include "cli/app.h"

int main(int argc, char** argv) {
  return otaroll::cli::run(argc, argv);
}
