// A real PostgreSQL server for the tests that need one, started by the test
// itself: `initdb` and `pg_ctl` from Debian's postgresql package, a data
// folder in a temp dir, listening on 127.0.0.1 and a free port (its socket
// in the same temp dir), stopped (immediate) and removed when it goes.
// PostgreSQL refuses to run as root, and CI runs as root: then the server
// runs as the package's `postgres` user (through `runuser`), which owns the
// folder. One superuser, `otaroll`, whose password is asked for over TCP
// (scram-sha-256), so tests see how a password travels and where it must not
// show.
//
//   auto pg = test_util::PostgresServer::Start();   // about 1.5 s here
//   ASSERT_TRUE(pg) << test_util::PostgresServer::last_error();
//   pg->Uri("otaroll")  // postgresql://otaroll:PASSWORD@127.0.0.1:PORT/otaroll
#pragma once

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "test_util/child.h"
#include "test_util/temp_dir.h"

namespace otaroll::test_util {

class PostgresServer {
 public:
  static constexpr const char* kUser = "otaroll";
  static constexpr const char* kPassword = "s3cret-pg-pass";

  // A running server, or null with last_error() saying why.
  static std::unique_ptr<PostgresServer> Start() {
    auto server = std::unique_ptr<PostgresServer>(new PostgresServer());
    if (!server->Init() || !server->Launch()) return nullptr;
    return server;
  }
  static std::string& last_error() {
    static std::string error;
    return error;
  }

  ~PostgresServer() {
    if (started_) Stop();
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // A libpq connection URI for `database`, password included.
  std::string Uri(const std::string& database = "postgres") const {
    return fmt::format("postgresql://{}:{}@127.0.0.1:{}/{}", kUser, kPassword, port_, database);
  }
  // The same without the password (PGPASSWORD or a PGPASSFILE supplies it).
  std::string UriWithoutPassword(const std::string& database = "postgres") const {
    return fmt::format("postgresql://{}@127.0.0.1:{}/{}", kUser, port_, database);
  }
  // Stops the server at once (as a crash would: no checkpoint).
  RunResult Stop() {
    started_ = false;
    return Tool("pg_ctl", {"-D", Data(), "-m", "immediate", "-w", "-t", "30", "stop"});
  }

 private:
  PostgresServer() = default;

  static std::string BinDir() {
    std::error_code ec;
    std::string best;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      const std::string bin = e.path().string() + "/bin";
      if (std::filesystem::exists(bin + "/pg_ctl") && bin > best) best = bin;
    }
    return best;
  }

  std::string Data() const { return dir_.Join("data"); }

  // `tool` from the server's bin folder, as the server's user.
  RunResult Tool(const std::string& tool, std::vector<std::string> args) const {
    std::vector<std::string> argv;
    if (::geteuid() == 0) argv = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    argv.push_back(bin_ + "/" + tool);
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.timeout_seconds = 60;
    o.cwd = dir_.path();
    return Run(argv, o);
  }

  bool Fail(const std::string& why) {
    last_error() = why;
    return false;
  }

  bool Init() {
    bin_ = BinDir();
    if (bin_.empty()) return Fail("no /usr/lib/postgresql/*/bin/pg_ctl; run scripts/install-deps.sh");
    if (dir_.path().empty()) return Fail("cannot make a temp dir");
    log_ = dir_.Join("server.log");
    dir_.Write("pw", std::string(kPassword) + "\n");
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) return Fail("no `postgres` user to run the server as (the postgresql package makes it)");
      for (const std::string& p : {dir_.path(), dir_.Join("pw")}) {
        if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Fail("cannot give " + p + " to postgres");
      }
    }
    RunResult made =
        Tool("initdb", {"-D", Data(), "-U", kUser, "--pwfile", dir_.Join("pw"), "-E", "UTF8", "--locale", "C",
                        "--auth-local", "trust", "--auth-host", "scram-sha-256", "--no-sync", "--no-instructions"});
    if (made.exit_code != 0) return Fail("initdb failed: " + made.err + made.out + made.spawn_error);
    return true;
  }

  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
  }

  // pg_ctl start on a free port; a port taken in between is tried again.
  bool Launch() {
    std::string errors;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreePort();
      const std::string options = fmt::format(
          "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off -c full_page_writes=off",
          port_, dir_.path());
      RunResult up = Tool("pg_ctl", {"-D", Data(), "-l", log_, "-o", options, "-w", "-t", "30", "start"});
      if (up.exit_code == 0) {
        started_ = true;
        return true;
      }
      errors += up.err + up.out + up.spawn_error + ReadLog();
    }
    return Fail("pg_ctl start failed: " + errors);
  }

  std::string ReadLog() const { return detail::Slurp(log_); }

  TempDir dir_;
  std::string bin_;
  std::string log_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace otaroll::test_util
