#include "core/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace otaroll::core {

namespace {

// The environment of the child: ours, with `extra` set.
std::vector<std::string> ChildEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (!extra.count(key)) env.push_back(std::move(kv));
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// Reads what is ready on `fd` into `into` (up to `max` bytes kept); false at EOF.
bool Drain(int fd, std::string& into, size_t max, bool& truncated) {
  char buf[65536];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  const size_t keep = into.size() < max ? std::min(max - into.size(), static_cast<size_t>(n)) : 0;
  if (keep < static_cast<size_t>(n)) truncated = true;
  into.append(buf, keep);
  return true;
}

// Writes what the pipe takes of `input` from `written` on; false once all is
// written or the program closed its stdin (then the write end is closed).
bool Feed(int& fd, const std::string& input, size_t& written) {
  // MSG_NOSIGNAL exists only for sockets: a closed reader gives EPIPE here
  // because SIGPIPE is blocked in this thread while feeding (see RunProcess).
  ssize_t n = ::write(fd, input.data() + written, std::min<size_t>(input.size() - written, 65536));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n > 0) written += static_cast<size_t>(n);
  if (n < 0 || written == input.size()) {
    ::close(fd);
    fd = -1;
    return false;
  }
  return true;
}

// Blocks SIGPIPE in this thread while it lives, and discards one that a
// write to a closed pipe left pending.
class NoSigpipe {
 public:
  NoSigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~NoSigpipe() {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  NoSigpipe(const NoSigpipe&) = delete;
  NoSigpipe& operator=(const NoSigpipe&) = delete;

 private:
  sigset_t old_;
};

// Reads the program's stdout and stderr and feeds its stdin until it closes
// them or the deadline passes (then its whole group is killed).
void Pump(pid_t pid, int out_fd, int err_fd, int& in_fd, const ProcessOptions& options, ProcessResult& result) {
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool out_open = true, err_open = true;
  size_t written = 0;
  while (out_open || err_open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd fds[3] = {{out_open ? out_fd : -1, POLLIN, 0}, {err_open ? err_fd : -1, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    const int n = ::poll(fds, 3, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      out_open = Drain(out_fd, result.out, options.max_output, result.truncated);
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      err_open = Drain(err_fd, result.err, options.max_output, result.truncated);
    }
    if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLHUP | POLLERR))) Feed(in_fd, options.input, written);
  }
}

}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& args, const ProcessOptions& options) {
  if (args.empty()) return Status::Invalid("no program to run; this is a bug in otaroll");
  NoSigpipe no_sigpipe;
  int out_pipe[2], err_pipe[2], in_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0 || (!options.input.empty() && ::pipe2(in_pipe, O_CLOEXEC) != 0)) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.input.empty()) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // a group of its own: killed whole at the deadline
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  std::vector<std::string> env = ChildEnv(options.env);
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_copy = args;
  for (auto& a : arg_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (in_pipe[0] >= 0) ::close(in_pipe[0]);
  int in_fd = in_pipe[1];  // -1 without input, and once all is written
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    if (in_fd >= 0) ::close(in_fd);
    return Status::IOError(fmt::format("cannot run {}: {}", args[0], std::strerror(rc)));
  }
  if (in_fd >= 0) ::fcntl(in_fd, F_SETFL, ::fcntl(in_fd, F_GETFL) | O_NONBLOCK);

  ProcessResult result;
  Pump(pid, out_pipe[0], err_pipe[0], in_fd, options, result);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (in_fd >= 0) ::close(in_fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (result.timed_out) ::kill(-pid, SIGKILL);  // anything the group left behind
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace otaroll::core
