// The sender against a real receiver on loopback, over the real transport,
// with the cursor in a real SQLite state file.
#include "notify/sender.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "notify/payload.h"
#include "platform/curl_transport.h"
#include "state/sqlite_store.h"
#include "test_util/receiver.h"
#include "test_util/temp_dir.h"

namespace otaroll::notify {
namespace {

using std::chrono::milliseconds;
using test_util::Receiver;

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/state.db";
    auto store = state::SqliteStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }

  void Append(const std::string& kind, const std::string& data = "") {
    state::Event e;
    e.at = *core::ParseRfc3339("2026-11-30T10:00:00Z");
    e.rollout = "hvac";
    e.stage = "canary";
    e.kind = kind;
    e.message = "attempt a1: " + kind;
    e.data_json = data;
    ASSERT_TRUE(store_->AppendEvent(e).ok());
  }

  std::unique_ptr<Sender> Start(const std::string& url, SenderOptions options = Fast()) {
    auto hook = ParseWebhook(url, Format::kJson, {});
    EXPECT_TRUE(hook.ok()) << hook.status().message();
    auto handle = store_->OpenAnother();
    EXPECT_TRUE(handle.ok());
    platform::CurlTransport::Options t;
    t.connect_timeout = milliseconds(2000);
    t.total_timeout = milliseconds(5000);
    auto sender = Sender::Start(*hook, std::move(*handle), std::make_unique<platform::CurlTransport>(t), options,
                                [this](const Webhook&, const Delivery& d) {
                                  std::lock_guard<std::mutex> lock(mu_);
                                  deliveries_.push_back(d);
                                  reported_.notify_all();
                                });
    EXPECT_TRUE(sender.ok()) << sender.status().message();
    return sender.ok() ? std::move(*sender) : nullptr;
  }

  static SenderOptions Fast() {
    SenderOptions o;
    o.poll = milliseconds(50);
    o.first_backoff = milliseconds(20);
    o.max_backoff = milliseconds(200);
    return o;
  }

  int64_t Last() { return *LastSeq(*store_); }

  std::vector<Delivery> deliveries() {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }
  // Waits (bounded) until the sender has reported `n` POSTs.
  bool Reported(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return reported_.wait_for(lock, std::chrono::seconds(20), [&] { return deliveries_.size() >= n; });
  }

  test_util::TempDir dir_;
  std::string path_;
  std::unique_ptr<state::SqliteStore> store_;
  std::mutex mu_;
  std::vector<Delivery> deliveries_;
  std::condition_variable reported_;
};

TEST_F(SenderTest, DeliversEachNotificationOnceInOrderAndPassesOverTheRest) {
  Receiver receiver;
  Append("cycle");  // before the webhook existed: not its to send
  auto sender = Start(receiver.Url());
  Append("intent");
  Append("created", R"({"job":"J1"})");
  Append("cycle");
  Append("not-created");  // a throttled create: not a notification
  Append("not-created", R"({"resolved":true})");
  Append("failed");
  sender->Wake();
  ASSERT_TRUE(sender->WaitFor(Last(), std::chrono::seconds(20)));
  const auto got = receiver.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].event, "created");
  EXPECT_EQ(got[1].event, "not-created");
  EXPECT_EQ(got[2].event, "failed");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].path, "/hook");
  const auto body = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(body["kind"], "created");
  EXPECT_EQ(body["id"], got[0].idempotency_key);
  EXPECT_EQ(body["data"]["job"], "J1");
  EXPECT_EQ(*store_->Cursor(sender->hook().id), Last());
}

TEST_F(SenderTest, AFailingReceiverGetsTheSameEventAgainWithTheSameKeyUntilItTakesIt) {
  Receiver receiver;
  receiver.Answer({503, 500, 429});
  auto sender = Start(receiver.Url());
  Append("created");
  Append("halted");
  sender->Wake();
  ASSERT_TRUE(sender->WaitFor(Last(), std::chrono::seconds(20)));
  const auto got = receiver.requests();
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got[i].idempotency_key, got[0].idempotency_key) << i;
  EXPECT_EQ(got[3].answered, 200);
  EXPECT_EQ(got[4].event, "halted");
  const auto d = deliveries();
  ASSERT_GE(d.size(), 5u);
  EXPECT_EQ(d[0].result, Delivery::Result::kRetrying);
  EXPECT_EQ(d[0].error, "HTTP 503");
  EXPECT_EQ(d[2].attempt, 3);
  EXPECT_GT(d[2].retry_in, milliseconds(0));
  EXPECT_EQ(d[3].result, Delivery::Result::kDelivered);
}

TEST_F(SenderTest, AnEventTheReceiverRefusesForItsContentIsPassedOver) {
  Receiver receiver;
  receiver.Answer({422});
  auto sender = Start(receiver.Url());
  Append("created");
  Append("failed");
  sender->Wake();
  ASSERT_TRUE(sender->WaitFor(Last(), std::chrono::seconds(20)));
  ASSERT_EQ(receiver.requests().size(), 2u);
  EXPECT_EQ(deliveries()[0].result, Delivery::Result::kRejected);
  EXPECT_EQ(deliveries()[0].error, "HTTP 422");
}

TEST_F(SenderTest, NothingIsLostWhileTheReceiverIsDownAcrossARestart) {
  const int port = test_util::DownPort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  {
    auto sender = Start(url);
    Append("created");
    Append("halted");
    sender->Wake();
    // It tries twice, fails, and keeps the cursor before the first event.
    ASSERT_TRUE(Reported(2));
    EXPECT_EQ(deliveries()[0].result, Delivery::Result::kRetrying);
    EXPECT_EQ(deliveries()[0].error, "cannot connect to 127.0.0.1:" + std::to_string(port) + ": connection refused");
  }  // the process stops with nothing delivered
  auto hook = ParseWebhook(url, Format::kJson, {});
  EXPECT_EQ(*store_->Cursor(hook->id), 0);
  Receiver receiver(port);
  auto sender = Start(url);
  ASSERT_TRUE(sender->WaitFor(Last(), std::chrono::seconds(20)));
  const auto got = receiver.delivered();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].event, "created");
  EXPECT_EQ(got[1].event, "halted");
}

TEST_F(SenderTest, ASlowReceiverDoesNotHoldTheCallerAndStopsWithinItsTimeout) {
  Receiver receiver;
  receiver.Delay(milliseconds(3000));
  auto sender = Start(receiver.Url());
  Append("created");
  const auto started = std::chrono::steady_clock::now();
  sender->Wake();
  // The caller goes on: appending and waking do not wait for the POST.
  Append("failed");
  sender->Wake();
  EXPECT_FALSE(sender->WaitFor(Last(), milliseconds(100)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1000));
  ASSERT_TRUE(sender->WaitFor(Last(), std::chrono::seconds(20)));
  EXPECT_EQ(receiver.delivered().size(), 2u);
}

}  // namespace
}  // namespace otaroll::notify
