// The one log format of every command (--log-format text|json, SPEC §3):
// text stays the default; json makes every log line one JSON object (time,
// level, event, rollout, stage, attempt, job, code, message). Command output
// (a plan, a status table) is not a log and keeps its own --format.
#pragma once

#include <ostream>
#include <string>

#include "daemon/daemon.h"

namespace otaroll::cli {

enum class LogFormat { kText, kJson };
void SetLogFormat(LogFormat format);
LogFormat CurrentLogFormat();

// A log line as one JSON object (no trailing newline).
std::string LogJson(const daemon::LogLine& line);
// Writes `line` to `out` in the current format: JSON, or text as `text`
// (already escaped by the caller) when given, else "TIME LEVEL EVENT: MESSAGE".
// Thread-safe: one line at a time.
void WriteLog(std::ostream& out, const daemon::LogLine& line, const std::string& text = "");

}  // namespace otaroll::cli
