// Delivers one webhook's notifications from the state's event log, the
// outbox (SPEC §7, docs/notifications.md):
//   - a thread of its own, with a store handle and an HTTP transport of its
//     own, so that a slow or dead receiver never blocks or slows the caller
//     (the daemon's loop, an apply);
//   - it reads the events after its cursor (stored per webhook in state, so
//     nothing is lost across restarts), POSTs each one that Notifies, and
//     moves the cursor past it once the receiver answered 2xx: delivery is
//     at-least-once, each POST carrying the event's Idempotency-Key;
//   - a failure (no answer, 408, 429, 5xx, any other status) is retried,
//     the same event again, after a backoff that doubles from
//     first_backoff up to max_backoff, with jitter; a receiver that rejects
//     the content itself (400, 413, 415, 422) will never take it: the event
//     is passed over and reported;
//   - Wake() says new events were appended; without it the log is read
//     again every `poll`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "core/status.h"
#include "notify/webhook.h"
#include "platform/http.h"
#include "state/store.h"

namespace otaroll::notify {

struct SenderOptions {
  std::chrono::milliseconds poll{std::chrono::seconds(5)};
  std::chrono::milliseconds first_backoff{std::chrono::seconds(1)};
  std::chrono::milliseconds max_backoff{std::chrono::minutes(5)};
  size_t batch = 100;
};

// One POST's result, as the caller logs and counts it.
struct Delivery {
  enum class Result { kDelivered, kRetrying, kRejected, kStateError };
  Result result = Result::kDelivered;
  int64_t seq = 0;
  std::string kind;
  std::string error;  // "HTTP 503", a transport error, a state error; never the URL's path
  int attempt = 0;    // of this event, from 1
  std::chrono::milliseconds retry_in{0};
};
const char* ResultName(Delivery::Result r);  // "delivered", "retrying", "rejected", "state-error"

class Sender {
 public:
  using Report = std::function<void(const Webhook&, const Delivery&)>;

  // Reads the webhook's cursor (a new webhook starts at the end of the log,
  // so everything appended after Start is its to deliver), then starts.
  static core::Result<std::unique_ptr<Sender>> Start(Webhook hook, std::unique_ptr<state::Store> store,
                                                     std::unique_ptr<platform::HttpTransport> transport,
                                                     SenderOptions options, Report report);
  // Stops: a wait ends at once, a POST in flight ends within its transport's timeout.
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void Wake();
  // Waits until the cursor reaches `seq` (every event up to it delivered
  // or passed over), at most `bound`. True when it did.
  bool WaitFor(int64_t seq, std::chrono::milliseconds bound);
  int64_t cursor() const;
  const Webhook& hook() const { return hook_; }

 private:
  Sender(Webhook hook, std::unique_ptr<state::Store> store, std::unique_ptr<platform::HttpTransport> transport,
         SenderOptions options, Report report, int64_t cursor);
  void Loop();
  // Sends events after the cursor until they are all sent or one must wait.
  void SendBatch();
  Delivery Post(const state::Event& e, int attempt);
  void Advance(int64_t seq);
  void Pause(std::chrono::milliseconds d, bool wakeable);

  const Webhook hook_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<platform::HttpTransport> transport_;
  const SenderOptions options_;
  const Report report_;
  std::minstd_rand rng_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t cursor_;
  bool stop_ = false;
  bool woken_ = false;
  int64_t failing_seq_ = 0;  // the event being retried, and how often it failed
  int failures_ = 0;
  std::thread thread_;
};

// The seq of the last event in `store` (0 when none): what a caller waits
// for before it exits.
core::Result<int64_t> LastSeq(state::Store& store);

}  // namespace otaroll::notify
