// `otaroll daemon`: options, signals, the log's format and the endpoints;
// the loop itself is daemon::Daemon, over the same engine path as apply.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "apply/platform.h"
#include "cli/app.h"
#include "cli/apply_options.h"
#include "cli/commands.h"
#include "cli/log.h"
#include "cli/notify_options.h"
#include "cli/platform_options.h"
#include "core/escape.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/server.h"
#include "manifest/duration.h"
#include "state/open.h"

namespace otaroll::cli {
namespace {

struct Settings {
  std::string dir = ".";
  std::string state;
  std::string interval = "5m";
  std::string git_timeout = "60s";
  bool verify_commits = false;
  std::string trusted_keys;
  std::string observe_every = "30s";
  std::string lease_ttl = "30s";
  bool git_pull = false;
  std::string listen;
  ApplyFlags flags;
  NotifySettings notify;
  PlatformOptions platform;
};

core::Result<std::chrono::milliseconds> ParseDurationOption(const std::string& name, const std::string& text) {
  auto d = manifest::ParseDuration(text);
  if (!d.error.empty() || d.value <= core::Duration::zero()) {
    return core::Status::Invalid(
        fmt::format("{} {}: not a duration; write e.g. 30s, 5m or 1h", name, core::Shown(text)));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(d.value);
}

// Signals arrive on a thread of their own (sigwait): SIGHUP reconciles now,
// the first SIGTERM/SIGINT stops the loop gracefully, a second exits at once.
class SignalThread {
 public:
  explicit SignalThread(daemon::Waker& waker) : waker_(waker) {
    thread_ = std::thread([this] { Run(); });
  }
  ~SignalThread() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
  // Blocks the signals in the calling thread and every thread it starts
  // later; call first thing, before any thread exists.
  static void Block() {
    sigset_t set = Set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

 private:
  static sigset_t Set() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, s);
    return set;
  }
  void Run() {
    sigset_t set = Set();
    int stops = 0;
    while (!done_) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) waker_.Reconcile();
      if (sig == SIGTERM || sig == SIGINT) {
        if (++stops > 1) {
          std::cerr << "otaroll: a second signal: exiting at once\n" << std::flush;
          std::_Exit(kExitError);
        }
        std::cerr << fmt::format("otaroll: {}: finishing the call in flight, then stopping\n",
                                 sig == SIGTERM ? "SIGTERM" : "SIGINT")
                  << std::flush;
        waker_.Stop();
      }
    }
  }
  daemon::Waker& waker_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The loop's options from the command line; the messages name the option.
core::Result<daemon::Options> LoopOptions(const Settings& s) {
  auto interval = ParseDurationOption("--interval", s.interval);
  auto git_timeout = ParseDurationOption("--git-timeout", s.git_timeout);
  auto observe = ParseDurationOption("--observe-every", s.observe_every);
  auto ttl = ParseDurationOption("--lease-ttl", s.lease_ttl);
  for (const auto* r : {&interval, &git_timeout, &observe, &ttl}) {
    if (!r->ok()) return r->status();
  }
  if (*ttl < std::chrono::seconds(1)) {
    return core::Status::Invalid(
        fmt::format("--lease-ttl {}: shorter than a second; write e.g. 30s", core::Shown(s.lease_ttl)));
  }
  daemon::Options o;
  o.dir = s.dir;
  o.interval = *interval;
  o.git_pull = s.git_pull;
  o.git_timeout = *git_timeout;
  o.verify_commits = s.verify_commits;
  o.trusted_keys = s.trusted_keys;
  o.health_cadence = *observe;
  o.lease_ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  // A heartbeat a sixth of the TTL apart: five can be missed before it runs out.
  o.heartbeat = std::min<std::chrono::milliseconds>(o.heartbeat, *ttl / 6);
  auto where = state::ParseLocation(StateValue(s.state, s.dir));
  o.standby = where.ok() && where->kind == state::Location::Kind::kPostgres;
  o.apply = ToApplyOptions(s.flags, s.platform);
  return o;
}

int Run(const Settings& s) {
  SignalThread::Block();  // before the lease's heartbeat thread or the server exist
  auto options = LoopOptions(s);
  if (!options.ok()) {
    PrintError(options.status().message());
    return kExitError;
  }
  auto notify = ParseNotify(s.notify);
  if (!notify.ok()) {
    PrintError(notify.status().message());
    return kExitError;
  }
  auto session = OpenSession(s.platform, s.state, s.dir);
  if (!session.ok()) {
    PrintError(session.status().message());
    return kExitError;
  }
  state::Store& store = *session->store;
  daemon::Options o = std::move(*options);
  o.remind_after = notify->remind_after;
  auto log = [](const daemon::LogLine& l) { WriteLog(std::cout, l); };

  daemon::Metrics metrics;
  apply::ClientPlatform client(*session->connection.client);
  daemon::CountingPlatform platform(client, metrics);
  core::SystemClock clock;
  daemon::Daemon d(o, store, platform, clock, log, &metrics);
  daemon::Waker waker;
  SignalThread signals(waker);
  std::atomic<bool> looping{true};
  std::unique_ptr<state::Store> history_store;  // declared before the server: it outlives its threads
  std::mutex history_mu;
  std::unique_ptr<daemon::Server> server;
  // Served from the start: a standby answers /healthz and says so on /readyz.
  if (!s.listen.empty()) {
    server = std::make_unique<daemon::Server>([&] { return d.health(); }, [&] { return looping.load(); }, metrics);
    // A rollout's history on its page is read through a handle of the
    // server's own (requests come from the server's threads).
    auto reader = store.OpenAnother();
    if (!reader.ok()) {
      PrintError(reader.status().message());
      return kExitError;
    }
    history_store = std::move(*reader);
    server->SetPages([&] { return d.page(); },
                     [&](const std::string& rollout) {
                       std::lock_guard<std::mutex> lock(history_mu);
                       auto events = history_store->Events(rollout);
                       return events.ok() ? std::move(*events) : std::vector<state::Event>{};
                     });
    if (auto bound = server->Start(s.listen); !bound.ok()) {
      PrintError(bound.message());
      return kExitError;
    }
    log(daemon::LogLine{"info", "listen", "", "", "", "", "", "listening on " + server->url()});
  }
  if (const auto margin = state::SafetyMargin(o.lease_ttl.count());
      o.standby && s.platform.timeout_s * 1000 >= static_cast<double>(margin.count())) {
    // docs/high-availability.md: a create still in flight when the lease
    // runs out may be looked up too early by the daemon that takes over.
    log(daemon::LogLine{"warn", "lease", "", "", "", "", "",
                        fmt::format("--timeout {}s is not below the lease's safety margin ({} ms, a third of "
                                    "--lease-ttl): a create still in flight when the lease runs out could be created "
                                    "again by the daemon that takes over; pass a --timeout below it or a longer "
                                    "--lease-ttl",
                                    s.platform.timeout_s, margin.count())});
  }
  for (;;) {
    if (auto started = d.Start(&waker); !started.ok()) {
      PrintError(started.message());
      return kExitError;
    }
    if (!d.holding()) break;  // asked to stop while standing by
    // Started once the lease is ours; stopped (after a bounded drain) before it is released.
    auto outbox = StartOutbox(store, *notify, log, "info", &metrics);
    if (!outbox.ok()) {
      PrintError(outbox.status().message());
      return kExitError;
    }
    d.SetOutbox(outbox->get());
    log(daemon::LogLine{"info", "start", "", "", "", "", "",
                        fmt::format("reconciling {} every {} (state {})", s.dir, s.interval, store.where())});
    core::Status ran = d.Run(waker);
    d.SetOutbox(nullptr);
    DrainOutbox(**outbox, store, kNotifyDrain, log);
    if (ran.ok()) break;
    if (!o.standby || waker.stopping()) {
      looping = false;
      PrintError(ran.message());
      return kExitError;
    }
    // A shared state: another daemon carries on; this one stands by again.
    log(daemon::LogLine{"warn", "standby", "", "", "", "", "", ran.message() + "; standing by again"});
  }
  looping = false;
  log(daemon::LogLine{"info", "stop", "", "", "", "", "",
                      d.holding() ? "stopped; the lease is released" : "stopped while standing by"});
  return kExitOk;
}

}  // namespace

Runner AddDaemonCommand(CLI::App& app) {
  auto s = std::make_shared<Settings>();
  auto* cmd = app.add_subcommand(
      "daemon", "Reconcile the manifests continuously: pull, plan and apply each interval and when a gate opens");
  cmd->add_option("dir", s->dir, "manifest directory, a git checkout with --git-pull (default: .)");
  cmd->add_option("--state", s->state, "state file (default: $OTAROLL_STATE, else DIR/.otaroll/state.db)");
  cmd->add_option("--interval", s->interval, "time between cycles, ±10 % jitter (default 5m)");
  cmd->add_flag("--git-pull", s->git_pull, "fetch and fast-forward DIR's checkout before each cycle");
  cmd->add_option("--git-timeout", s->git_timeout, "bound on every git call (default 60s)");
  auto* keys = cmd->add_option("--trusted-keys", s->trusted_keys,
                               "armored OpenPGP public keys whose signatures --verify-commits accepts");
  cmd->add_flag("--verify-commits", s->verify_commits,
                "act only on commits signed by a key of --trusted-keys (gpg with a private, temporary keyring)")
      ->needs(keys);
  cmd->add_option("--observe-every", s->observe_every,
                  "while a health gate is judging, observe at least this often (default 30s)");
  cmd->add_option("--lease-ttl", s->lease_ttl,
                  "another daemon takes over this long after the last heartbeat (default 30s; heartbeats every sixth)");
  cmd->add_option("--listen", s->listen, "serve /healthz, /readyz and /metrics on HOST:PORT (:PORT = loopback)");
  AddApplyFlags(cmd, &s->flags, "per cycle");
  AddNotifyOptions(cmd, &s->notify);
  AddPlatformOptions(cmd, &s->platform);
  return [s] { return Run(*s); };
}

}  // namespace otaroll::cli
