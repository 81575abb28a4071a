#include "cli/notify_options.h"

#include <fmt/format.h>

#include "core/escape.h"
#include "manifest/duration.h"

namespace otaroll::cli {

void AddNotifyOptions(CLI::App* command, NotifySettings* s) {
  command->add_option("--notify-webhook", s->webhooks,
                      "POST a notification of each event a person must know of to this URL (or env:VAR, file:PATH); "
                      "repeatable");
  command->add_option("--notify-format", s->format, "json (default) or slack (an incoming-webhook message)");
  command->add_option("--notify-header", s->headers,
                      "'Name: env:VAR' or 'Name: file:PATH': a header sent with every notification (a token); "
                      "repeatable");
  command->add_option("--remind-after", s->remind_after,
                      "remind of a stage halted, held, waiting or unknown this long (default 24h; 0 = never)");
}

core::Result<NotifyConfig> ParseNotify(const NotifySettings& s) {
  NotifyConfig config;
  if (s.remind_after != "0") {
    auto d = manifest::ParseDuration(s.remind_after);
    if (!d.error.empty() || d.value <= core::Duration::zero()) {
      return core::Status::Invalid(fmt::format(
          "--remind-after {}: not a duration; write e.g. 12h or 2d, or 0 for never", core::Shown(s.remind_after)));
    }
    config.remind_after = d.value;
  }
  auto format = notify::ParseFormat(s.format);
  if (!format.ok()) return format.status();
  if (s.webhooks.empty() && !s.headers.empty()) {
    return core::Status::Invalid("--notify-header needs --notify-webhook: there is nothing to send it to");
  }
  for (const std::string& value : s.webhooks) {
    auto hook = notify::ParseWebhook(value, *format, s.headers);
    if (!hook.ok()) return hook.status();
    for (const auto& other : config.hooks) {
      if (other.id == hook->id) {
        return core::Status::Invalid(
            fmt::format("--notify-webhook {} is given twice; each receiver once", hook->display));
      }
    }
    config.hooks.push_back(std::move(*hook));
  }
  return config;
}

namespace {

std::string Name(const notify::Webhook& hook) {
  return fmt::format("webhook {} ({})", hook.id, hook.display);
}

std::string Seconds(std::chrono::milliseconds d) {
  return d < std::chrono::seconds(1) ? fmt::format("{} ms", d.count()) : fmt::format("{} s", (d.count() + 500) / 1000);
}

}  // namespace

core::Result<std::unique_ptr<notify::Outbox>> StartOutbox(state::Store& store, const NotifyConfig& config,
                                                          const daemon::LogSink& log,
                                                          const std::string& delivered_level,
                                                          daemon::Metrics* metrics) {
  auto report = [log, delivered_level, metrics](const notify::Webhook& hook, const notify::Delivery& d) {
    using R = notify::Delivery::Result;
    if (metrics != nullptr) metrics->Notification(hook.id, notify::ResultName(d.result));
    daemon::LogLine line;
    line.kind = "notify";
    switch (d.result) {
      case R::kDelivered:
        if (delivered_level.empty()) return;
        line.level = delivered_level;
        line.message = fmt::format("{}: delivered event {} ({})", Name(hook), d.seq, d.kind);
        break;
      case R::kRetrying:
        line.level = "warn";
        line.message = fmt::format("{}: event {} ({}) not delivered ({}); sent again in {} (attempt {})", Name(hook),
                                   d.seq, d.kind, core::Printable(d.error), Seconds(d.retry_in), d.attempt + 1);
        break;
      case R::kRejected:
        line.level = "error";
        line.message = fmt::format(
            "{}: the receiver refused event {} ({}) for its content ({}); passed over: check --notify-format",
            Name(hook), d.seq, d.kind, d.error);
        break;
      case R::kStateError:
        line.level = "error";
        line.message = fmt::format("{}: {}", Name(hook), d.error);
        break;
    }
    log(line);
  };
  notify::SenderOptions options;
  return notify::Outbox::Start(store, config.hooks, options, report);
}

void DrainOutbox(notify::Outbox& outbox, state::Store& store, std::chrono::milliseconds bound,
                 const daemon::LogSink& log) {
  for (const notify::Undelivered& u : outbox.Drain(store, bound)) {
    daemon::LogLine line;
    line.level = "warn";
    line.kind = "notify";
    line.message = fmt::format(
        "{}: {} notification{} not delivered yet{}; they stay in the state's outbox and the next apply or daemon "
        "with this webhook sends them",
        Name(*u.hook), u.count, u.count == 1 ? "" : "s",
        u.last_error.empty() ? "" : " (last error: " + core::Printable(u.last_error) + ")");
    log(line);
  }
}

}  // namespace otaroll::cli
