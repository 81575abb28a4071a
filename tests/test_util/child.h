// The one way tests run a child process (a real binary, or a function as
// another user): everything the child needs is built before fork(); stdin is
// /dev/null; stdout and stderr go to files (or stdout to a pipe); the child
// dies with the test binary (PR_SET_PDEATHSIG) and after its time bound
// (alarm survives exec), so no test can hang on it.
//
//   RunResult r = test_util::Run({OTAROLL_BIN, "validate", dir});   // start and wait
//   test_util::Child c({OTAROLL_BIN, "apply", ...}, options);       // start now ...
//   c.Signal(SIGKILL); const RunResult& done = c.Wait();             // ... reap later
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util/temp_dir.h"

extern char** environ;

namespace otaroll::test_util {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal, or never started
  std::string out;
  std::string err;
  std::string spawn_error;  // why the program could not be started; "" when it ran
};

struct RunOptions {
  std::map<std::string, std::string> env;  // added to (or, with "" value, removed from) the environment
  std::string cwd;
  unsigned timeout_seconds = 120;
  std::string terminal_input;  // RunOnTerminal: typed on the terminal at the start
  bool search_path = false;    // look args[0] up in PATH (for tools such as node)
  bool merge_output = false;   // stderr into the same file as stdout, interleaved (RunResult::out)
  bool stdout_pipe = false;    // stdout into a pipe the caller reads (Child::stdout_fd), not a file
};

namespace detail {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// args[0] as a path: itself when it names one, else its first executable
// match in PATH; "" when there is none.
inline std::string Locate(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// argv and envp of a child, built before fork(): the child only calls
// async-signal-safe functions.
struct ExecPlan {
  std::vector<std::string> args;
  std::vector<std::string> env_text;
  std::vector<char*> argv, envp;

  ExecPlan(std::vector<std::string> a, const std::map<std::string, std::string>& changes) : args(std::move(a)) {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      size_t eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : changes) {
      if (v.empty()) {
        env.erase(k);
      } else {
        env[k] = v;
      }
    }
    for (const auto& [k, v] : env) env_text.push_back(k + "=" + v);
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
  }
};

}  // namespace detail

class Child {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts args[0] with args; ok() tells whether it started (spawn_error() why not).
  Child(std::vector<std::string> args, const RunOptions& options) {
    out_path_ = io_.Join("out");
    err_path_ = options.merge_output ? out_path_ : io_.Join("err");
    if (args.empty()) {
      result_.spawn_error = "no program given";
      return;
    }
    const std::string program = options.search_path ? detail::Locate(args[0]) : args[0];
    if (program.empty()) {
      result_.spawn_error = args[0] + " was not found in PATH";
      return;
    }
    args[0] = program;
    detail::ExecPlan plan(std::move(args), options.env);
    int out_pipe[2] = {-1, -1};
    int exec_errors[2] = {-1, -1};  // CLOEXEC: closed by a successful exec, else carries errno
    if ((options.stdout_pipe && pipe2(out_pipe, O_CLOEXEC) != 0) || pipe2(exec_errors, O_CLOEXEC) != 0) {
      result_.spawn_error = std::string("pipe() failed: ") + std::strerror(errno);
      return;
    }
    const char* out = out_path_.c_str();
    const char* err = err_path_.c_str();
    const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
    const bool merge = options.merge_output;
    const unsigned bound = options.timeout_seconds;
    const pid_t parent = getpid();
    started_ = Clock::now();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      int in_fd = open("/dev/null", O_RDONLY);
      int out_fd = out_pipe[1] >= 0 ? out_pipe[1] : open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
      int err_fd = merge && out_pipe[1] < 0 ? out_fd : open(err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
      if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(127);
      dup2(in_fd, 0);
      dup2(out_fd, 1);
      dup2(err_fd, 2);
      if (cwd && chdir(cwd) != 0) _exit(127);
      alarm(bound);
      execve(plan.argv[0], plan.argv.data(), plan.envp.data());
      const int e = errno;
      ssize_t ignored = write(exec_errors[1], &e, sizeof e);
      (void)ignored;
      _exit(127);
    }
    close(exec_errors[1]);
    if (out_pipe[1] >= 0) close(out_pipe[1]);
    out_fd_ = out_pipe[0];
    if (pid_ < 0) {
      result_.spawn_error = std::string("fork() failed: ") + std::strerror(errno);
      close(exec_errors[0]);
      return;
    }
    int e = 0;
    ssize_t n;
    while ((n = read(exec_errors[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(exec_errors[0]);
    if (n == static_cast<ssize_t>(sizeof e)) {
      result_.spawn_error = "cannot run " + plan.args[0] + ": " + std::strerror(e);
      Wait();
      pid_ = -1;
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_fd_ >= 0) close(out_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& spawn_error() const { return result_.spawn_error; }
  pid_t pid() const { return pid_; }
  // The read end of its stdout (RunOptions::stdout_pipe), else -1.
  int stdout_fd() const { return out_fd_; }
  // Everything it wrote to stdout (unless piped) and stderr so far.
  std::string Out() const { return detail::Slurp(out_path_); }
  std::string Err() const { return detail::Slurp(err_path_); }

  void Signal(int sig) const {
    if (pid_ > 0 && !reaped_) kill(pid_, sig);
  }
  // Whether it has exited (reaps it if so).
  bool Exited() {
    if (reaped_ || pid_ <= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) Reaped(status);
    return reaped_;
  }
  // Blocks until it has exited (bounded by its alarm).
  const RunResult& Wait() {
    if (reaped_ || pid_ <= 0) return result_;
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    Reaped(status);
    return result_;
  }
  // Sends `sig`, waits up to `timeout_seconds`, then SIGKILL. The exit code;
  // -1 when it died of a signal. Idempotent.
  int Finish(int sig, unsigned timeout_seconds) {
    if (pid_ <= 0 || reaped_) return result_.exit_code;
    kill(pid_, sig);
    const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
    while (!Exited() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the exit, bounded
    }
    if (!reaped_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    return result_.exit_code;
  }

  const RunResult& result() const { return result_; }
  // The signal it died of; -1 when it did not die of a signal.
  int signal() const { return signal_; }
  Clock::duration elapsed() const { return ended_ - started_; }

 private:
  void Reaped(int status) {
    reaped_ = true;
    ended_ = Clock::now();
    result_.exit_code = detail::ExitCode(status);
    signal_ = WIFSIGNALED(status) ? WTERMSIG(status) : -1;
    if (out_fd_ < 0) result_.out = detail::Slurp(out_path_);
    if (err_path_ != out_path_) result_.err = detail::Slurp(err_path_);
  }

  TempDir io_;
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
  int signal_ = -1;
  RunResult result_;
  Clock::time_point started_{}, ended_{};
};

// Runs args[0] with args and waits for it.
inline RunResult Run(std::vector<std::string> args, const RunOptions& options = {}) {
  Child child(std::move(args), options);
  return child.Wait();
}

// Runs args on a pseudo-terminal (what an operator's shell gives); returns
// everything written to it.
inline RunResult RunOnTerminal(std::vector<std::string> args, const RunOptions& options = {}) {
  detail::ExecPlan plan(std::move(args), options.env);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const unsigned bound = options.timeout_seconds;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    if (cwd && chdir(cwd) != 0) _exit(127);
    alarm(bound);
    execve(plan.argv[0], plan.argv.data(), plan.envp.data());
    _exit(127);
  }
  RunResult r;
  if (pid < 0) {
    r.spawn_error = std::string("forkpty() failed: ") + std::strerror(errno);
    return r;
  }
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

// Runs `body` in a child process as the unprivileged user 65534 when the
// suite runs as root (where file permissions stop nothing), else in this
// process: what it returns, or why the child failed.
inline std::string AsUnprivileged(const std::function<std::string()>& body, unsigned timeout_seconds = 60) {
  if (geteuid() != 0) return body();
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(timeout_seconds);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
      _exit(2);
    }
    std::string out = body();
    ssize_t n = write(fds[1], out.data(), out.size());
    _exit(n == static_cast<ssize_t>(out.size()) ? 0 : 3);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "the unprivileged child failed: " + out;
  return out;
}

}  // namespace otaroll::test_util
