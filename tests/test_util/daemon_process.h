// A running `otaroll daemon` (the real binary) for the CLI tests: its log,
// its endpoints, signals; and Eventually, the bounded wait every test uses.
#pragma once

#include <httplib.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "test_util/apply_rig.h"
#include "test_util/child.h"

namespace otaroll::test_util {

// Polls `done` every 20 ms until it holds or `bound` passes.
template <typename F>
bool Eventually(F done, std::chrono::milliseconds bound = std::chrono::seconds(30)) {
  const auto deadline = Clock::now() + bound;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

// A running `otaroll daemon`: its log, its endpoints, signals.
class DaemonProcess {
 public:
  // `env` is added to ChildOptions' (another access key, say).
  DaemonProcess(const std::string& dir, const std::string& state, const std::string& platform_url,
                std::vector<std::string> more, const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {
        kBin, "daemon", dir,   "--state",   state, "--endpoint",        platform_url, "--listen",
        ":0", "--qps",  "500", "--timeout", "2",   "--connect-timeout", "1"};
    args.insert(args.end(), more.begin(), more.end());
    RunOptions options = ChildOptions(180);
    for (const auto& [name, value] : env) options.env[name] = value;
    child_ = std::make_unique<Child>(args, options);
  }
  Child& child() { return *child_; }
  pid_t pid() const { return child_->pid(); }
  std::string Log() const { return child_->Out(); }
  size_t Count(const std::string& needle) const {
    const std::string log = Log();
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
  bool WaitFor(const std::string& needle, std::chrono::milliseconds bound = std::chrono::seconds(30)) const {
    return Eventually([&] { return Log().find(needle) != std::string::npos; }, bound);
  }
  // The endpoints' base URL, from the "listening on" line.
  std::string url() const {
    std::smatch m;
    const std::string log = Log();
    static const std::regex kListening("listening on (http://[0-9.]+:[0-9]+)");
    return std::regex_search(log, m, kListening) ? m[1].str() : "";
  }
  std::string Get(const std::string& path, int* status) const {
    httplib::Client c(url());
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    auto r = c.Get(path);
    *status = r ? r->status : -1;
    return r ? r->body : "";
  }

 private:
  std::unique_ptr<Child> child_;
};

}  // namespace otaroll::test_util
