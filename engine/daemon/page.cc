#include "daemon/page.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/escape.h"

namespace otaroll::daemon {

namespace {

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .3em} h2{font-size:1.1em;margin:1.2em 0 .4em}
.meta{color:#555;margin:.2em 0} .bad{color:#b00020;font-weight:600} .ok{color:#1b7f3b;font-weight:600}
.stages{display:flex;flex-wrap:wrap;gap:.5em}
.stage{border:1px solid #ccc;border-left-width:6px;border-radius:4px;padding:.4em .6em;min-width:14em;max-width:26em;background:#fff}
.stage .name{font-weight:600} .stage .action{float:right;font-size:.85em;text-transform:uppercase}
.stage .why{font-size:.85em;color:#444;margin-top:.3em}
.in-sync{border-left-color:#1b7f3b} .create,.replace{border-left-color:#1565c0} .waiting{border-left-color:#f9a825}
.held{border-left-color:#8e24aa} .blocked{border-left-color:#9e9e9e} .halted,.unknown{border-left-color:#b00020}
.bar{display:flex;height:.7em;background:#e0e0e0;border-radius:3px;overflow:hidden;margin:.3em 0}
.bar .s{background:#43a047} .bar .f{background:#e53935} .bar .p{background:#90caf9}
.conflict{color:#8a6d00;font-size:.9em}
table{border-collapse:collapse;font-size:.9em} td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top}
)";

std::string Head(const std::string& title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"30\"><meta name=\"viewport\" content=\"width=device-width\">"
      "<title>{}</title><style>{}</style></head><body>\n",
      HtmlEscape(title), kStyle);
}

// The summed task counts of the stage's current jobs, from their last
// observations: succeeded / failed / in progress, and the oldest age.
std::string Progress(const plan::StagePlan& s, const std::map<std::string, state::Observation>& seen, core::Time now) {
  int64_t succeeded = 0, failed = 0, total = 0;
  std::optional<core::Time> oldest;
  for (const auto& job : s.jobs) {
    if (job.spec_hash != s.spec_hash || job.job_id.empty()) continue;
    auto it = seen.find(job.job_id);
    if (it == seen.end()) continue;
    succeeded += it->second.Count("SUCCEEDED");
    failed += it->second.Count("FAILED") + it->second.Count("CANCELED");
    total += it->second.total;
    if (!oldest || it->second.observed_at < *oldest) oldest = it->second.observed_at;
  }
  if (!oldest || total <= 0) return "";
  const int64_t running = std::max<int64_t>(total - succeeded - failed, 0);
  auto pct = [&](int64_t n) { return 100.0 * static_cast<double>(n) / static_cast<double>(total); };
  return fmt::format(
      "<div class=\"bar\" title=\"{} succeeded, {} failed, {} in progress of {}\"><div class=\"s\" "
      "style=\"width:{:.1f}%\"></div><div class=\"f\" style=\"width:{:.1f}%\"></div><div class=\"p\" "
      "style=\"width:{:.1f}%\"></div></div><div class=\"why\">{} succeeded · {} failed · {} in progress of {} "
      "devices (observed {} ago)</div>",
      succeeded, failed, running, total, pct(succeeded), pct(failed), pct(running), succeeded, failed, running, total,
      Humanize(now - *oldest));
}

std::string StageCell(const plan::StagePlan& s, const std::map<std::string, state::Observation>& seen, core::Time now) {
  const std::string action = plan::ActionName(s.action);
  std::string jobs;
  for (const auto& job : s.jobs) {
    if (job.spec_hash == s.spec_hash && !job.job_id.empty() && job.status == "created") {
      jobs += (jobs.empty() ? "" : ", ") + HtmlEscape(job.job_id);
    }
  }
  std::string out =
      fmt::format("<div class=\"stage {}\"><span class=\"action\">{}</span><div class=\"name\">{}</div><div>{}</div>",
                  action, action, HtmlEscape(s.name), HtmlEscape(s.target));
  if (!jobs.empty()) out += fmt::format("<div class=\"why\">job {}</div>", jobs);
  out += Progress(s, seen, now);
  if (s.opens_at && *s.opens_at > now) {
    out += fmt::format("<div class=\"why\"><strong>opens in {}</strong> ({})</div>", Humanize(*s.opens_at - now),
                       HtmlEscape(core::FormatRfc3339(*s.opens_at)));
  }
  if (!s.reason.empty()) out += fmt::format("<div class=\"why\">{}</div>", HtmlEscape(s.reason));
  return out + "</div>";
}

std::string RolloutSection(const plan::RolloutPlan& r, const PageModel& m, core::Time now, bool link) {
  const std::string name = HtmlEscape(r.name);
  std::string out = fmt::format("<section class=\"rollout\" id=\"{}\"><h2>{}</h2>", name,
                                link ? fmt::format("<a href=\"/rollouts/{}\">{}</a>", name, name) : name);
  out += fmt::format("<div class=\"meta\">product {} · firmware {} · {}:{}{}</div>", HtmlEscape(r.product_key),
                     HtmlEscape(r.firmware_id), HtmlEscape(r.position.file.str()), r.position.line,
                     r.paused ? " · <strong>paused</strong>" : "");
  for (const auto& c : r.conflicts) {
    out += fmt::format("<div class=\"conflict\">conflict with {}: {}</div>", HtmlEscape(c.rollout),
                       c.superseded    ? "spec.supersedes: no wait"
                       : c.other_first ? "it goes first; this rollout waits for it to finish"
                                       : "this rollout goes first");
  }
  out += "<div class=\"stages\">";
  for (const auto& s : r.stages) out += StageCell(s, m.observations, now);
  return out + "</div></section>\n";
}

std::string EventTable(const std::vector<state::Event>& events, bool newest_first) {
  std::string out = "<table><tr><th>at</th><th>rollout</th><th>stage</th><th>event</th><th>message</th></tr>";
  auto row = [&](const state::Event& e) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       HtmlEscape(core::FormatRfc3339(e.at)), HtmlEscape(e.rollout), HtmlEscape(e.stage),
                       HtmlEscape(e.kind), HtmlEscape(e.message));
  };
  if (newest_first) {
    for (auto it = events.rbegin(); it != events.rend(); ++it) row(*it);
  } else {
    for (const auto& e : events) row(e);
  }
  return out + "</table>\n";
}

std::string Overview(const Health& h, core::Time now) {
  auto commit = [](const std::string& c) { return c.empty() ? std::string("(none)") : HtmlEscape(c.substr(0, 12)); };
  std::string out =
      fmt::format("<div class=\"meta\">{} · commit {} · last valid commit {} · manifest digest {}</div>",
                  h.ready ? "<span class=\"ok\">ready</span>"
                          : fmt::format("<span class=\"bad\">not ready: {}</span>", HtmlEscape(h.not_ready)),
                  commit(h.commit), commit(h.valid_commit), HtmlEscape(h.digest.substr(0, 12)));
  out += fmt::format("<div class=\"meta\">last cycle {} · last successful cycle {} · {} cycles · lease {}</div>\n",
                     h.last_cycle ? Humanize(now - *h.last_cycle) + " ago" : "never",
                     h.last_success ? Humanize(now - *h.last_success) + " ago" : "never", h.cycles,
                     h.lease_held ? "held" : "<span class=\"bad\">not held</span>");
  for (const auto& e : h.tree_errors) out += fmt::format("<div class=\"bad\">{}</div>", HtmlEscape(e));
  return out;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  const std::string printable = core::Printable(text);  // no control characters
  std::string out;
  out.reserve(printable.size());
  for (char c : printable) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Humanize(core::Duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = 0;
  const int64_t days = s / 86400, hours = s % 86400 / 3600, minutes = s % 3600 / 60;
  if (days > 0) return hours > 0 ? fmt::format("{} d {} h", days, hours) : fmt::format("{} d", days);
  if (hours > 0) return minutes > 0 ? fmt::format("{} h {} min", hours, minutes) : fmt::format("{} h", hours);
  if (minutes > 0) return fmt::format("{} min", minutes);
  return fmt::format("{} s", s);
}

std::string StatusPage(const PageModel& m, const Health& health, core::Time now) {
  std::string out = Head("otaroll");
  out += "<h1>otaroll</h1>\n" + Overview(health, now);
  if (m.plan.rollouts.empty()) out += "<p>No rollouts planned yet.</p>\n";
  for (const auto& r : m.plan.rollouts) out += RolloutSection(r, m, now, true);
  out += "<h2>Recent events</h2>\n" + EventTable(m.events, true);
  out += fmt::format("<p class=\"meta\">rendered {}</p></body></html>\n", HtmlEscape(core::FormatRfc3339(now)));
  return out;
}

std::optional<std::string> RolloutPage(const PageModel& m, const std::string& name,
                                       const std::vector<state::Event>& history, core::Time now) {
  auto it = std::find_if(m.plan.rollouts.begin(), m.plan.rollouts.end(),
                         [&](const plan::RolloutPlan& r) { return r.name == name; });
  if (it == m.plan.rollouts.end()) return std::nullopt;
  std::string out = Head("otaroll: " + name);
  out += "<p><a href=\"/\">all rollouts</a></p>\n" + RolloutSection(*it, m, now, false);
  out += "<h2>History</h2>\n" + EventTable(history, false);
  return out + "</body></html>\n";
}

}  // namespace otaroll::daemon
