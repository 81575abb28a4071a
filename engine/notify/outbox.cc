#include "notify/outbox.h"

#include <mutex>

#include "notify/payload.h"
#include "platform/curl_transport.h"

namespace otaroll::notify {

struct Outbox::Entry {
  std::mutex mu;
  std::string last_error;
  std::unique_ptr<Sender> sender;
};

core::Result<std::unique_ptr<Outbox>> Outbox::Start(state::Store& store, std::vector<Webhook> hooks,
                                                    SenderOptions options, Sender::Report report) {
  auto box = std::unique_ptr<Outbox>(new Outbox());
  for (Webhook& hook : hooks) {
    auto entry = std::make_unique<Entry>();
    auto handle = store.OpenAnother();
    if (!handle.ok()) return handle.status();
    platform::CurlTransport::Options t;
    t.connect_timeout = std::chrono::seconds(5);
    t.total_timeout = std::chrono::seconds(10);
    t.max_response_bytes = size_t{1} << 20;
    Entry* e = entry.get();
    auto sender = Sender::Start(std::move(hook), std::move(*handle), std::make_unique<platform::CurlTransport>(t),
                                options, [e, report](const Webhook& h, const Delivery& d) {
                                  {
                                    std::lock_guard<std::mutex> lock(e->mu);
                                    if (d.result != Delivery::Result::kDelivered) e->last_error = d.error;
                                  }
                                  if (report) report(h, d);
                                });
    if (!sender.ok()) return sender.status();
    entry->sender = std::move(*sender);
    box->senders_.push_back(std::move(entry));
  }
  return box;
}

Outbox::~Outbox() = default;

void Outbox::Wake() {
  for (auto& e : senders_) e->sender->Wake();
}

std::vector<Undelivered> Outbox::Drain(state::Store& store, std::chrono::milliseconds bound) {
  std::vector<Undelivered> left;
  if (senders_.empty()) return left;
  auto last = LastSeq(store);
  const int64_t target = last.ok() ? *last : 0;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  Wake();
  for (auto& e : senders_) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero()));
    if (e->sender->WaitFor(target, remaining)) continue;
    Undelivered u;
    u.hook = &e->sender->hook();
    auto events = store.EventsAfter(e->sender->cursor(), static_cast<size_t>(target - e->sender->cursor()));
    if (events.ok()) {
      for (const auto& ev : *events) u.count += Notifies(ev) ? 1 : 0;
    }
    std::lock_guard<std::mutex> lock(e->mu);
    u.last_error = e->last_error;
    if (u.count > 0) left.push_back(u);
  }
  return left;
}

}  // namespace otaroll::notify
