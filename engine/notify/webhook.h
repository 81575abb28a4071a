// A notification receiver as the command line names it (SPEC §7,
// docs/notifications.md): --notify-webhook URL (or env:VAR, file:PATH),
// --notify-format json|slack, --notify-header 'Name: env:VAR|file:PATH'.
// The URL and header values are secrets (a Slack URL is its own token):
// they are read once here and never printed, logged, stored or exported;
// messages and metrics name a webhook by `id` and `display` only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace otaroll::notify {

enum class Format { kJson, kSlack };

struct Webhook {
  std::string url;  // secret
  Format format = Format::kJson;
  std::vector<std::pair<std::string, std::string>> headers;  // values secret
  std::string id;       // 12 hex digits of SHA-256(url): its cursor in state, its metric label
  std::string display;  // scheme, host and port only: "https://hooks.slack.com/…"
};

// Reads where a secret comes from: env:VAR or file:PATH (the file's first
// line; systemd's LoadCredential puts it in $CREDENTIALS_DIRECTORY).
// `what` names the option in messages.
core::Result<std::string> ReadSecret(const std::string& source, const std::string& what);

// "json" or "slack".
core::Result<Format> ParseFormat(const std::string& text);

// `value` is a URL, env:VAR or file:PATH; each header is "Name: env:VAR" or
// "Name: file:PATH" (a value written on the command line is refused: every
// user of the machine can read it with ps).
core::Result<Webhook> ParseWebhook(const std::string& value, Format format, const std::vector<std::string>& headers);

}  // namespace otaroll::notify
