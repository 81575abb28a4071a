// Installing otaroll (docs/operations.md): `cmake --install` puts the
// binary, the man page and the completions in place; the systemd unit of
// examples/deploy passes `systemd-analyze verify` where it is installed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util/child.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

namespace fs = std::filesystem;
using test_util::RunResult;

const std::string kSource = OTAROLL_SOURCE_DIR;

test_util::RunOptions Searching() {
  test_util::RunOptions o;
  o.search_path = true;
  o.timeout_seconds = 120;
  return o;
}

TEST(Packaging, CmakeInstallPutsTheBinaryManPageAndCompletionsInPlace) {
  test_util::TempDir dir;
  RunResult installed =
      test_util::Run({"cmake", "--install", OTAROLL_BUILD_DIR, "--prefix", dir.Join("usr")}, Searching());
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
  for (const char* file :
       {"usr/bin/otaroll", "usr/share/man/man1/otaroll.1", "usr/share/bash-completion/completions/otaroll",
        "usr/share/zsh/vendor-completions/_otaroll"}) {
    EXPECT_TRUE(fs::is_regular_file(dir.Join(file))) << file;
  }
  const std::string man = test_util::detail::Slurp(dir.Join("usr/share/man/man1/otaroll.1"));
  EXPECT_NE(man.find("otaroll daemon"), std::string::npos);
  EXPECT_NE(man.find("--verify-commits"), std::string::npos);  // every command's options
  EXPECT_NE(man.find("otaroll state export"), std::string::npos);

  // The bash completion completes the installed binary's options.
  const std::string script = "source " + dir.Join("usr/share/bash-completion/completions/otaroll") +
                             "; COMP_WORDS=(otaroll plan --baseline); COMP_CWORD=2; _otaroll; "
                             "echo \"${COMPREPLY[@]}\"; COMP_WORDS=(otaroll sta); COMP_CWORD=1; _otaroll; "
                             "echo \"${COMPREPLY[@]}\"";
  RunResult completed = test_util::Run({"bash", "--norc", "-c", script}, Searching());
  EXPECT_EQ(completed.out, "--baseline --baseline-ref\nstatus state\n") << completed.err;
}

TEST(Packaging, TheSystemdUnitIsHardenedAndVerifies) {
  const std::string unit = test_util::detail::Slurp(kSource + "/examples/deploy/otaroll.service");
  for (const char* line :
       {"DynamicUser=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/otaroll", "NoNewPrivileges=yes",
        "LoadCredential=otaroll:/etc/otaroll/credentials", "Restart=on-failure", "KillSignal=SIGTERM",
        "--credentials-file ${CREDENTIALS_DIRECTORY}/otaroll"}) {
    EXPECT_NE(unit.find(line), std::string::npos) << line;
  }
  RunResult which = test_util::Run({"sh", "-c", "command -v systemd-analyze"}, Searching());
  if (which.exit_code != 0) GTEST_SKIP() << "systemd-analyze is not installed here";
  test_util::TempDir dir;
  // The unit as installed, with ExecStart at the binary just built.
  std::string local = unit;
  for (size_t at = local.find("/usr/bin/otaroll"); at != std::string::npos;
       at = local.find("/usr/bin/otaroll", at + 1)) {
    local.replace(at, 16, std::string(OTAROLL_BIN));
  }
  std::ofstream(dir.Join("otaroll.service")) << local;
  RunResult verified =
      test_util::Run({"systemd-analyze", "verify", "--man=no", dir.Join("otaroll.service")}, Searching());
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.err, "");  // systemd-analyze warns about bad values on stderr with exit 0
}

}  // namespace
}  // namespace otaroll
