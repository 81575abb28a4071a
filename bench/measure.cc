// otaroll-bench-measure OUT CMD [ARGS…]: runs CMD with its stdout to OUT
// ("-" keeps it) and prints one line for bench/run, "WALL_MS USER_MS SYS_MS
// PEAK_KB EXIT": the wall time, the CPU time and the peak resident memory
// of CMD (wait4's rusage, so no tool has to be installed). The exit status is
// printed, not returned: a plan's --detailed-exitcode 2 is not a failure.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: otaroll-bench-measure OUT CMD [ARGS...]\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("otaroll-bench-measure: fork");
    return 2;
  }
  if (pid == 0) {
    if (std::strcmp(argv[1], "-") != 0) {
      const int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(127);
    }
    execvp(argv[2], argv + 2);
    std::perror("otaroll-bench-measure: exec");
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) {
    std::perror("otaroll-bench-measure: wait4");
    return 2;
  }
  const auto wall = std::chrono::steady_clock::now() - start;
  auto ms = [](const timeval& t) { return static_cast<long long>(t.tv_sec) * 1000 + t.tv_usec / 1000; };
  std::printf("%lld %lld %lld %ld %d\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()),
              ms(usage.ru_utime), ms(usage.ru_stime), usage.ru_maxrss,
              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}
