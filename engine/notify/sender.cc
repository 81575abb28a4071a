#include "notify/sender.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <variant>

#include "notify/payload.h"

namespace otaroll::notify {

const char* ResultName(Delivery::Result r) {
  switch (r) {
    case Delivery::Result::kDelivered: return "delivered";
    case Delivery::Result::kRetrying: return "retrying";
    case Delivery::Result::kRejected: return "rejected";
    case Delivery::Result::kStateError: return "state-error";
  }
  return "?";
}

core::Result<std::unique_ptr<Sender>> Sender::Start(Webhook hook, std::unique_ptr<state::Store> store,
                                                    std::unique_ptr<platform::HttpTransport> transport,
                                                    SenderOptions options, Report report) {
  auto cursor = store->Cursor(hook.id);
  if (!cursor.ok()) return cursor.status();
  return std::unique_ptr<Sender>(
      new Sender(std::move(hook), std::move(store), std::move(transport), options, std::move(report), *cursor));
}

Sender::Sender(Webhook hook, std::unique_ptr<state::Store> store, std::unique_ptr<platform::HttpTransport> transport,
               SenderOptions options, Report report, int64_t cursor)
    : hook_(std::move(hook)),
      store_(std::move(store)),
      transport_(std::move(transport)),
      options_(options),
      report_(std::move(report)),
      rng_(std::random_device{}()),
      cursor_(cursor) {
  thread_ = std::thread([this] { Loop(); });
}

Sender::~Sender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Sender::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool Sender::WaitFor(int64_t seq, std::chrono::milliseconds bound) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, bound, [&] { return cursor_ >= seq; });
}

int64_t Sender::cursor() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cursor_;
}

void Sender::Pause(std::chrono::milliseconds d, bool wakeable) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_ || (wakeable && woken_); });
  woken_ = false;
}

void Sender::Loop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    SendBatch();
  }
}

void Sender::Advance(int64_t seq) {
  if (auto s = store_->SetCursor(hook_.id, seq); !s.ok()) {
    // Delivered all the same: a restart sends it again (at-least-once).
    Delivery d;
    d.result = Delivery::Result::kStateError;
    d.seq = seq;
    d.error = s.message();
    report_(hook_, d);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    cursor_ = seq;
  }
  cv_.notify_all();
}

void Sender::SendBatch() {
  const int64_t from = cursor();
  auto events = store_->EventsAfter(from, options_.batch);
  if (!events.ok()) {
    Delivery d;
    d.result = Delivery::Result::kStateError;
    d.error = events.status().message();
    d.retry_in = options_.first_backoff;
    report_(hook_, d);
    Pause(options_.first_backoff, false);
    return;
  }
  if (events->empty()) {
    Pause(options_.poll, true);
    return;
  }
  int64_t passed = from;  // events that are not notifications: passed over in one write
  for (const state::Event& e : *events) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    if (!Notifies(e)) {
      passed = e.seq;
      continue;
    }
    if (passed > cursor()) Advance(passed);
    const int attempt = (failing_seq_ == e.seq ? failures_ : 0) + 1;
    Delivery d = Post(e, attempt);
    if (d.result != Delivery::Result::kRetrying) {
      failing_seq_ = 0;
      failures_ = 0;
      report_(hook_, d);
      Advance(e.seq);
      passed = e.seq;
      continue;
    }
    failing_seq_ = e.seq;
    failures_ = attempt;
    // Doubling from first_backoff, capped, with jitter in [1/2, 1] of it.
    auto backoff = options_.first_backoff;
    for (int i = 1; i < attempt && backoff < options_.max_backoff; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.max_backoff);
    std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, std::max<int64_t>(backoff.count(), 1));
    d.retry_in = std::chrono::milliseconds(jitter(rng_));
    report_(hook_, d);
    Pause(d.retry_in, false);
    return;  // read again from the cursor: the same event first
  }
  if (passed > cursor()) Advance(passed);
}

Delivery Sender::Post(const state::Event& e, int attempt) {
  platform::HttpRequest request;
  request.method = "POST";
  request.url = hook_.url;
  request.body = Body(e, hook_.format);
  request.headers = {
      {"Content-Type", "application/json"}, {"Idempotency-Key", IdempotencyKey(e)}, {"X-Otaroll-Event", e.kind}};
  for (const auto& h : hook_.headers) request.headers.push_back(h);
  Delivery d;
  d.seq = e.seq;
  d.kind = e.kind;
  d.attempt = attempt;
  platform::HttpResult result = transport_->Send(request);
  if (const auto* error = std::get_if<platform::TransportError>(&result)) {
    d.result = Delivery::Result::kRetrying;
    d.error = error->message;
    return d;
  }
  const long status = std::get<platform::HttpResponse>(result).status;
  if (status >= 200 && status < 300) {
    d.result = Delivery::Result::kDelivered;
    return d;
  }
  d.error = fmt::format("HTTP {}", status);
  const bool refused = status == 400 || status == 413 || status == 415 || status == 422;
  d.result = refused ? Delivery::Result::kRejected : Delivery::Result::kRetrying;
  return d;
}

core::Result<int64_t> LastSeq(state::Store& store) {
  auto last = store.RecentEvents("", 1);
  if (!last.ok()) return last.status();
  return last->empty() ? 0 : last->back().seq;
}

}  // namespace otaroll::notify
