#include "notify/webhook.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>

#include "core/escape.h"
#include "core/sha256.h"

namespace otaroll::notify {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  s.erase(0, first);
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

// RFC 9110 token characters.
bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// "https://user:pw@host:8443/path?q" → "host:8443".
std::string Host(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  return rest;
}

// "https://user:pw@host:8443/path?q" → "https://host:8443/…".
std::string Display(const std::string& url) {
  return fmt::format("{}://{}/…", url.substr(0, url.find("://")), Host(url));
}

}  // namespace

core::Result<std::string> ReadSecret(const std::string& source, const std::string& what) {
  if (StartsWith(source, "env:")) {
    const std::string var = source.substr(4);
    const char* value = var.empty() ? nullptr : std::getenv(var.c_str());
    if (value == nullptr || *value == '\0') {
      return core::Status::Invalid(
          fmt::format("{}: environment variable {} is not set or empty; export it, or take the value from file:PATH",
                      what, core::Printable(var.empty() ? "(none)" : var)));
    }
    return std::string(value);
  }
  if (StartsWith(source, "file:")) {
    const std::string path = source.substr(5);
    std::ifstream in(path);
    if (!in) {
      return core::Status::Invalid(fmt::format("{}: cannot read {}: {}; check the path and its permissions", what,
                                               core::Printable(path), std::strerror(errno)));
    }
    std::string line;
    std::getline(in, line);
    line = Trim(line);
    if (line.empty()) {
      return core::Status::Invalid(
          fmt::format("{}: {} is empty; write the value on its first line", what, core::Printable(path)));
    }
    return line;
  }
  return core::Status::Invalid(fmt::format("{}: take the value from env:VAR or file:PATH", what));
}

core::Result<Format> ParseFormat(const std::string& text) {
  if (text == "json") return Format::kJson;
  if (text == "slack") return Format::kSlack;
  return core::Status::Invalid(
      fmt::format("--notify-format: \"{}\" is not a format; use json or slack", core::Printable(text)));
}

core::Result<Webhook> ParseWebhook(const std::string& value, Format format, const std::vector<std::string>& headers) {
  Webhook hook;
  hook.format = format;
  if (StartsWith(value, "env:") || StartsWith(value, "file:")) {
    auto url = ReadSecret(value, "--notify-webhook");
    if (!url.ok()) return url.status();
    hook.url = *url;
  } else {
    hook.url = value;
  }
  const bool http = StartsWith(hook.url, "http://") || StartsWith(hook.url, "https://");
  const bool clean = hook.url.find_first_of(" \t\r\n") == std::string::npos;
  if (!http || !clean || Host(hook.url).empty()) {
    // Never the value itself: it may be a token put in the wrong place.
    return core::Status::Invalid(
        "--notify-webhook: the value is not an http:// or https:// URL with a host (it is not shown: it may hold a "
        "token); pass the receiver's URL, env:VAR or file:PATH");
  }
  hook.id = core::Sha256Hex(hook.url).substr(0, 12);
  hook.display = Display(hook.url);
  for (const std::string& h : headers) {
    const auto colon = h.find(':');
    const std::string name = Trim(h.substr(0, colon));
    if (colon == std::string::npos || !IsHeaderName(name)) {
      return core::Status::Invalid(
          "--notify-header: not \"Name: env:VAR\" or \"Name: file:PATH\" (the value is not shown: it may hold a "
          "token)");
    }
    const std::string source = Trim(h.substr(colon + 1));
    if (!StartsWith(source, "env:") && !StartsWith(source, "file:")) {
      return core::Status::Invalid(fmt::format(
          "--notify-header {}: a value on the command line is visible to every user of this machine (ps); take it "
          "from env:VAR or file:PATH",
          name));
    }
    auto secret = ReadSecret(source, "--notify-header " + name);
    if (!secret.ok()) return secret.status();
    if (secret->find_first_of("\r\n") != std::string::npos) {
      return core::Status::Invalid(fmt::format("--notify-header {}: the value has a line break", name));
    }
    hook.headers.emplace_back(name, *secret);
  }
  return hook;
}

}  // namespace otaroll::notify
