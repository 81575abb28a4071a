#include "cli/log.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/escape.h"

namespace otaroll::cli {

namespace {
std::atomic<LogFormat> g_format{LogFormat::kText};
std::mutex g_mu;
}  // namespace

void SetLogFormat(LogFormat format) {
  g_format = format;
}

LogFormat CurrentLogFormat() {
  return g_format;
}

std::string LogJson(const daemon::LogLine& l) {
  nlohmann::ordered_json j;
  j["time"] = core::FormatRfc3339(core::SystemClock().Now());
  j["level"] = l.level;
  j["event"] = l.kind;
  for (const auto& [k, v] : {std::pair<const char*, const std::string&>{"rollout", l.rollout},
                             {"stage", l.stage},
                             {"attempt", l.attempt},
                             {"job", l.job},
                             {"code", l.code}}) {
    if (!v.empty()) j[k] = v;
  }
  j["message"] = l.message;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WriteLog(std::ostream& out, const daemon::LogLine& l, const std::string& text) {
  std::string line;
  if (g_format == LogFormat::kJson) {
    line = LogJson(l);
  } else if (!text.empty()) {
    line = text;
  } else {
    line = fmt::format("{} {} {}: {}", core::FormatRfc3339(core::SystemClock().Now()), l.level, l.kind,
                       core::Printable(l.message));
  }
  std::lock_guard<std::mutex> lock(g_mu);
  out << line << "\n" << std::flush;
}

}  // namespace otaroll::cli
