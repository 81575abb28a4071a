// Every webhook of a process (--notify-webhook, repeatable), each with its
// own Sender (sender.h): what the daemon and apply start once they may write
// to the state, wake after they append events, and drain before they exit.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "notify/sender.h"
#include "notify/webhook.h"
#include "state/store.h"

namespace otaroll::notify {

// A webhook's notifications that were not delivered when Drain gave up.
struct Undelivered {
  const Webhook* hook = nullptr;
  int64_t count = 0;
  std::string last_error;  // the last failure said by its sender, if any
};

class Outbox {
 public:
  // One sender per webhook, each on a handle of its own (store.OpenAnother)
  // and a libcurl transport of its own. No webhooks: an outbox that does
  // nothing.
  static core::Result<std::unique_ptr<Outbox>> Start(state::Store& store, std::vector<Webhook> hooks,
                                                     SenderOptions options, Sender::Report report);
  ~Outbox();

  bool empty() const { return senders_.empty(); }
  void Wake();
  // Waits, at most `bound` in all, until every notification in the log now
  // is delivered; returns those that were not, per webhook.
  std::vector<Undelivered> Drain(state::Store& store, std::chrono::milliseconds bound);

 private:
  struct Entry;
  std::vector<std::unique_ptr<Entry>> senders_;
};

}  // namespace otaroll::notify
