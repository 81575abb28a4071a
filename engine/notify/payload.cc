#include "notify/payload.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/sha256.h"
#include "core/time.h"

namespace otaroll::notify {

namespace {

nlohmann::json Data(const state::Event& e) {
  auto data = nlohmann::json::parse(e.data_json.empty() ? "{}" : e.data_json, nullptr, false);
  return data.is_object() ? data : nlohmann::json::object();
}

// Slack's markup: &, < and > are escaped, nothing else is needed.
std::string SlackEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

const char* Emoji(const std::string& kind) {
  if (kind == "created" || kind == "adopted" || kind == "not-created") return ":white_check_mark:";
  if (kind == "reminder") return ":hourglass:";
  return ":rotating_light:";
}

}  // namespace

bool Notifies(const state::Event& e) {
  static const char* const kKinds[] = {"created",      "halted",         "failed",     "adopted", "duplicate",
                                       "tree-invalid", "tree-untrusted", "lease-lost", "reminder"};
  for (const char* k : kKinds) {
    if (e.kind == k) return true;
  }
  // "not-created" is also written when a create was throttled; only the
  // conclusion of a lookup resolves an unknown outcome.
  if (e.kind != "not-created") return false;  // parsed only for the one kind that needs its data
  const nlohmann::json data = Data(e);
  return data.contains("resolved") && data["resolved"] == true;
}

std::string Title(const state::Event& e) {
  if (e.kind == "created") return "stage created";
  if (e.kind == "halted") return "stage halted";
  if (e.kind == "failed") return "create rejected";
  if (e.kind == "adopted") return "unknown outcome resolved: the job exists";
  if (e.kind == "not-created") return "unknown outcome resolved: nothing was created";
  if (e.kind == "duplicate") return "duplicate jobs on the platform";
  if (e.kind == "tree-invalid") return "manifest tree invalid";
  if (e.kind == "tree-untrusted") return "commit not trusted";
  if (e.kind == "lease-lost") return "lease lost";
  if (e.kind == "reminder") return "reminder";
  return e.kind;
}

std::string IdempotencyKey(const state::Event& e) {
  const std::string digest = core::Sha256Hex(fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}", e.seq, core::FormatRfc3339(e.at),
                                                         e.kind, e.rollout, e.stage, e.message, e.data_json));
  return fmt::format("otaroll-{}-{}", e.seq, digest.substr(0, 16));
}

std::string Body(const state::Event& e, Format format) {
  const nlohmann::json data = Data(e);
  if (format == Format::kJson) {
    nlohmann::ordered_json doc;
    doc["id"] = IdempotencyKey(e);
    doc["seq"] = e.seq;
    doc["kind"] = e.kind;
    doc["title"] = Title(e);
    doc["at"] = core::FormatRfc3339(e.at);
    doc["rollout"] = e.rollout.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(e.rollout);
    doc["stage"] = e.stage.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(e.stage);
    doc["message"] = e.message;
    doc["data"] = data;
    return doc.dump();
  }
  std::string where;
  if (!e.rollout.empty()) where = e.stage.empty() ? e.rollout : e.rollout + "/" + e.stage;
  std::string text = fmt::format("{} *otaroll: {}*{}\n{}", Emoji(e.kind), Title(e),
                                 where.empty() ? "" : " · `" + SlackEscape(where) + "`", SlackEscape(e.message));
  try {  // the data of an event otaroll wrote; a hand-edited one is shown without its details
    if (data.contains("health") && data["health"].is_object()) {
      const auto& h = data["health"];
      text +=
          fmt::format("\n>succeeded {} · failed {} · finished {} of {} (observed {})", h.value("succeeded", int64_t{0}),
                      h.value("failed", int64_t{0}), h.value("finished", int64_t{0}), h.value("total", int64_t{0}),
                      SlackEscape(h.value("observed_at", std::string())));
    }
  } catch (const nlohmann::json::exception&) {
  }
  const std::string commit =
      data.contains("commit") && data["commit"].is_string() ? data["commit"].get<std::string>() : "";
  text += fmt::format("\n_{}{}_", core::FormatRfc3339(e.at),
                      commit.empty() ? "" : " · commit " + SlackEscape(commit.substr(0, 12)));
  return nlohmann::json{{"text", text}}.dump();
}

}  // namespace otaroll::notify
