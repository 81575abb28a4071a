#include "notify/webhook.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util/temp_dir.h"

namespace otaroll::notify {
namespace {

TEST(Webhook, AUrlIsKeptAndShownOnlyAsSchemeHostAndPort) {
  auto hook = ParseWebhook("https://user:pw@hooks.slack.com:8443/services/T0/B0/secret?x=1", Format::kSlack, {});
  ASSERT_TRUE(hook.ok()) << hook.status().message();
  EXPECT_EQ(hook->url, "https://user:pw@hooks.slack.com:8443/services/T0/B0/secret?x=1");
  EXPECT_EQ(hook->display, "https://hooks.slack.com:8443/…");
  EXPECT_EQ(hook->id.size(), 12u);
  EXPECT_EQ(hook->format, Format::kSlack);
  // The same URL is the same webhook (its cursor); another is another.
  EXPECT_EQ(ParseWebhook("https://user:pw@hooks.slack.com:8443/services/T0/B0/secret?x=1", Format::kJson, {})->id,
            hook->id);
  EXPECT_NE(ParseWebhook("https://hooks.slack.com/services/T0/B0/other", Format::kJson, {})->id, hook->id);
}

TEST(Webhook, TheUrlAndHeadersComeFromTheEnvironmentOrAFile) {
  test_util::TempDir dir;
  const std::string token = dir.Write("token", "Bearer s3cr3t\n");
  ::setenv("OTAROLL_TEST_HOOK", "http://127.0.0.1:9/hook", 1);
  ::setenv("OTAROLL_TEST_KEY", "k-123", 1);
  auto hook = ParseWebhook("env:OTAROLL_TEST_HOOK", Format::kJson,
                           {"Authorization: file:" + token, "X-Api-Key:env:OTAROLL_TEST_KEY"});
  ASSERT_TRUE(hook.ok()) << hook.status().message();
  EXPECT_EQ(hook->url, "http://127.0.0.1:9/hook");
  ASSERT_EQ(hook->headers.size(), 2u);
  EXPECT_EQ(hook->headers[0], std::make_pair(std::string("Authorization"), std::string("Bearer s3cr3t")));
  EXPECT_EQ(hook->headers[1], std::make_pair(std::string("X-Api-Key"), std::string("k-123")));
  const std::string url_file = dir.Write("url", "https://example.test/h\n");
  EXPECT_EQ(ParseWebhook("file:" + url_file, Format::kJson, {})->url, "https://example.test/h");
}

TEST(Webhook, MistakesAreNamedWithoutShowingTheSecret) {
  auto message = [](const std::string& value, std::vector<std::string> headers = {}) {
    auto hook = ParseWebhook(value, Format::kJson, headers);
    EXPECT_FALSE(hook.ok());
    return hook.ok() ? std::string() : hook.status().message();
  };
  ::unsetenv("OTAROLL_TEST_NOPE");
  EXPECT_EQ(message("hooks.slack.com/services/T0/B0/secret"),
            "--notify-webhook: the value is not an http:// or https:// URL with a host (it is not shown: it may hold "
            "a token); pass the receiver's URL, env:VAR or file:PATH");
  EXPECT_EQ(message("https:///path"), message("ftp://x"));
  EXPECT_EQ(message("env:OTAROLL_TEST_NOPE"),
            "--notify-webhook: environment variable OTAROLL_TEST_NOPE is not set or empty; export it, or take the "
            "value from file:PATH");
  EXPECT_EQ(message("file:/nonexistent/url"),
            "--notify-webhook: cannot read /nonexistent/url: No such file or directory; check the path and its "
            "permissions");
  EXPECT_EQ(message("https://h.test/x", {"Authorization: Bearer s3cr3t"}),
            "--notify-header Authorization: a value on the command line is visible to every user of this machine "
            "(ps); take it from env:VAR or file:PATH");
  EXPECT_EQ(message("https://h.test/x", {"Bearer s3cr3t"}),
            "--notify-header: not \"Name: env:VAR\" or \"Name: file:PATH\" (the value is not shown: it may hold a "
            "token)");
  EXPECT_EQ(message("https://h.test/x", {"Authorization: env:OTAROLL_TEST_NOPE"}),
            "--notify-header Authorization: environment variable OTAROLL_TEST_NOPE is not set or empty; export it, or "
            "take the value from file:PATH");
  EXPECT_EQ(ParseFormat("xml").status().message(), "--notify-format: \"xml\" is not a format; use json or slack");
}

}  // namespace
}  // namespace otaroll::notify
