// What a notification says (docs/notifications.md): which events of the
// state's log a person must know of, and the body POSTed for one, as
// otaroll's JSON document (schemas/notification.schema.json) or a Slack
// incoming-webhook message. Event messages hold no secret (state never
// does); manifest text in them is escaped for Slack's markup.
#pragma once

#include <string>

#include "notify/webhook.h"
#include "state/events.h"

namespace otaroll::notify {

// created, halted, failed, adopted and not-created after a lookup (an
// unknown outcome resolved), duplicate, tree-invalid, tree-untrusted,
// lease-lost, reminder.
bool Notifies(const state::Event& e);

// A short heading for the kind: "stage created", "stage halted", …
std::string Title(const state::Event& e);

// The same for every delivery of one event: "otaroll-<seq>-<16 hex digits
// of the event's SHA-256>" (a restored backup that reuses a seq with other
// content gets another key).
std::string IdempotencyKey(const state::Event& e);

std::string Body(const state::Event& e, Format format);

}  // namespace otaroll::notify
