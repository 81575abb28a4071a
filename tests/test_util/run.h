// Running a real binary in a test: arguments, environment, captured stdout
// and stderr, exit code. Every child is killed by SIGALRM after a bound, so
// no test can hang.
#pragma once

#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_util/temp_dir.h"

namespace otaroll::test_util {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

struct RunOptions {
  std::map<std::string, std::string> env;  // added to (or, with "" value, removed from) the environment
  std::string cwd;
  unsigned timeout_seconds = 120;
  std::string terminal_input;  // RunOnTerminal: typed on the terminal at the start
};

namespace detail {
inline void ApplyEnv(const RunOptions& o) {
  for (const auto& [k, v] : o.env) {
    if (v.empty()) {
      unsetenv(k.c_str());
    } else {
      setenv(k.c_str(), v.c_str(), 1);
    }
  }
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) _exit(127);
}
inline std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}
inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
inline int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace detail

// Runs args[0] with args; stdout and stderr are captured separately; stdin is /dev/null.
inline RunResult Run(std::vector<std::string> args, const RunOptions& options = {}) {
  TempDir io;
  std::string out_path = io.Join("out"), err_path = io.Join("err");
  pid_t pid = fork();
  if (pid == 0) {
    detail::ApplyEnv(options);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    alarm(options.timeout_seconds);  // survives exec: the bound on the child
    auto argv = detail::Argv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return RunResult{detail::ExitCode(status), detail::Slurp(out_path), detail::Slurp(err_path)};
}

// Runs args on a pseudo-terminal (what an operator's shell gives); returns
// everything written to it.
inline RunResult RunOnTerminal(std::vector<std::string> args, const RunOptions& options = {}) {
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    detail::ApplyEnv(options);
    alarm(options.timeout_seconds);
    auto argv = detail::Argv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  RunResult r;
  if (!options.terminal_input.empty()) {
    // Typed ahead: the terminal holds it until the program reads it.
    ssize_t written = write(master, options.terminal_input.data(), options.terminal_input.size());
    (void)written;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has exited and closed the terminal
    r.out.append(buf, static_cast<size_t>(n));
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = detail::ExitCode(status);
  return r;
}

}  // namespace otaroll::test_util
