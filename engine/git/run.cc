#include "git/run.h"

#include "core/escape.h"

namespace otaroll::git {

core::Result<core::ProcessResult> RunGit(const std::string& dir, const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout, std::string input, size_t max_output) {
  std::vector<std::string> argv = {"git", "-C", dir};
  argv.insert(argv.end(), args.begin(), args.end());
  core::ProcessOptions o;
  o.timeout = timeout;
  o.input = std::move(input);
  o.max_output = max_output;
  // Never wait for a person: no password prompt, no editor.
  o.env = {{"GIT_TERMINAL_PROMPT", "0"}, {"GIT_EDITOR", "true"}, {"LC_ALL", "C"}};
  return core::RunProcess(argv, o);
}

std::string Chomp(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string GitSays(const core::ProcessResult& r) {
  return core::Shown(Chomp(r.err.empty() ? r.out : r.err), 200);
}

}  // namespace otaroll::git
