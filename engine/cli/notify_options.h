// The notification options apply and the daemon share (SPEC §7,
// docs/notifications.md): --notify-webhook (repeatable), --notify-format,
// --notify-header (repeatable), --remind-after; and what both do with them:
// start the outbox once the state is open, log each POST that did not go
// through, and drain the outbox, bounded, before exiting.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "notify/outbox.h"
#include "notify/webhook.h"
#include "state/store.h"

namespace otaroll::cli {

struct NotifySettings {
  std::vector<std::string> webhooks;
  std::string format = "json";
  std::vector<std::string> headers;
  std::string remind_after = "24h";
};
void AddNotifyOptions(CLI::App* command, NotifySettings* settings);

struct NotifyConfig {
  std::vector<notify::Webhook> hooks;
  core::Duration remind_after{};
};
// Reads the secrets and checks every value; the messages name the option.
core::Result<NotifyConfig> ParseNotify(const NotifySettings& settings);

// Starts a sender per webhook. Each POST is told to `log` (delivered at
// `delivered_level`, "" = not logged; failures as warnings, refusals as
// errors) and counted in `metrics` when given.
core::Result<std::unique_ptr<notify::Outbox>> StartOutbox(state::Store& store, const NotifyConfig& config,
                                                          const daemon::LogSink& log,
                                                          const std::string& delivered_level, daemon::Metrics* metrics);

// How long apply and the daemon wait for their notifications before exiting.
inline constexpr std::chrono::milliseconds kNotifyDrain{std::chrono::seconds(5)};

// Waits up to `bound` for what the log holds now; logs a warning per
// webhook with notifications left (they stay in the outbox).
void DrainOutbox(notify::Outbox& outbox, state::Store& store, std::chrono::milliseconds bound,
                 const daemon::LogSink& log);

}  // namespace otaroll::cli
