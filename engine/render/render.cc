#include "render/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <string_view>
#include <utility>
#include <vector>

#include "core/escape.h"

namespace otaroll::render {
namespace {

using plan::Action;
using plan::Plan;
using plan::RolloutPlan;
using plan::StagePlan;

// ---------------------------------------------------------------------------
// Shared phrasing. Text and Markdown say the same things in the same words so
// that a reader moving between the terminal and a pull request is not confused.

// Non-change counts in the order they are listed after "N to create, M to replace".
constexpr std::pair<Action, const char*> kOtherCounts[] = {
    {Action::kWaiting, "waiting"},   {Action::kHeld, "held"},     {Action::kBlocked, "blocked"},
    {Action::kUnknown, "unknown"},   {Action::kHalted, "halted"}, {Action::kInSync, "in sync"},
    {Action::kOrphaned, "orphaned"},
};

std::string ChangeCounts(const plan::Summary& s) {
  return fmt::format("{} to create, {} to replace", s.Count(Action::kCreate), s.Count(Action::kReplace));
}

std::vector<std::string> OtherCounts(const plan::Summary& s) {
  std::vector<std::string> out;
  for (auto [action, label] : kOtherCounts) {
    if (s.Count(action) > 0) out.push_back(fmt::format("{} {}", s.Count(action), label));
  }
  return out;
}

std::string Plural(long long n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string StateLine(const Plan& p) {
  if (p.mode == "baseline") return fmt::format("Baseline: {} (every stage of it counts as created)", p.state_source);
  if (!p.state_exists) return fmt::format("State: {} does not exist yet: nothing has been created.", p.state_source);
  return fmt::format("State: {} (serial {})", p.state_source, p.state_serial);
}

// ASCII symbols: greppable (`grep '^  ~ '`) and safe on any terminal or log viewer.
char Symbol(Action a) {
  switch (a) {
    case Action::kInSync: return '=';
    case Action::kCreate: return '+';
    case Action::kReplace: return '~';
    case Action::kWaiting: return '>';
    case Action::kHeld: return 'H';
    case Action::kBlocked: return '!';
    case Action::kUnknown: return '?';
    case Action::kHalted: return 'X';
    case Action::kOrphaned: return '-';
  }
  return '?';
}

// SGR parameters: green create, yellow replace/waiting, cyan held (a deliberate
// stop, not a problem), red blocked/unknown/halted, magenta orphaned, dim in-sync.
const char* ColorCode(Action a) {
  switch (a) {
    case Action::kCreate: return "32";
    case Action::kReplace:
    case Action::kWaiting: return "33";
    case Action::kHeld: return "36";
    case Action::kBlocked:
    case Action::kUnknown:
    case Action::kHalted: return "31";
    case Action::kInSync: return "2";
    case Action::kOrphaned: return "35";
  }
  return "0";
}

bool AllInSync(const RolloutPlan& r) {
  // A stage with duplicate jobs is never folded away: the operator must see it.
  return std::all_of(r.stages.begin(), r.stages.end(),
                     [](const StagePlan& s) { return s.action == Action::kInSync && s.duplicate_jobs.empty(); });
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string JobIds(const std::vector<const plan::JobRef*>& jobs) {
  std::vector<std::string> ids;
  for (const auto* j : jobs) ids.push_back(j->job_id);
  if (ids.empty()) return "";
  return (ids.size() == 1 ? "job " : "jobs ") + Join(ids, ", ");
}

// The one-line explanation after the target: the planner's reason, the instant
// a time gate opens, and what is (or will be) in state for the stage.
std::string Details(const StagePlan& st) {
  std::vector<std::string> parts;
  std::string reason = st.reason;
  if (st.opens_at) {
    std::string at = core::FormatRfc3339(*st.opens_at);
    // The planner may already name the instant; do not say it twice.
    if (reason.find(at) == std::string::npos) {
      while (!reason.empty() && reason.back() == '.') reason.pop_back();
      reason = reason.empty() ? "opens " + at : reason + ": opens " + at;
    }
  }
  if (!st.duplicate_jobs.empty()) {
    parts.push_back(
        fmt::format("DUPLICATE jobs {} for one part of this stage; cancel the extra one's tasks on the "
                    "platform",
                    Join(st.duplicate_jobs, ", ")));
  }
  if (!reason.empty()) parts.push_back(reason);
  if (st.action == Action::kInSync) {
    std::vector<const plan::JobRef*> current;
    for (const auto& j : st.jobs) {
      if (j.spec_hash == st.spec_hash && !j.job_id.empty()) current.push_back(&j);
    }
    if (!current.empty()) parts.push_back(JobIds(current));
  }
  if (st.action == Action::kReplace && st.reason.empty()) {
    std::vector<const plan::JobRef*> old;
    for (const auto& j : st.jobs) {
      if (j.spec_hash == st.previous_hash && !j.job_id.empty()) old.push_back(&j);
    }
    if (!old.empty()) parts.push_back("replaces " + JobIds(old));
  }
  if ((st.action == Action::kCreate || st.action == Action::kReplace) && st.parts > 1) {
    parts.push_back(st.parts_to_create == st.parts ? fmt::format("{} jobs", st.parts)
                                                   : fmt::format("{} of {} jobs", st.parts_to_create, st.parts));
  }
  return Join(parts, "; ");
}

// "GrayPercent: 10 → 20", "+ TimeoutInMinutes: 720", "- RetryCount: 1". The
// escape function lets Markdown escape the user's values but not our arrows.
template <typename Esc>
std::string ChangeText(const spec::FieldChange& c, Esc esc) {
  if (c.before.empty() && c.after.empty()) return esc(c.field);
  if (c.before.empty()) return "+ " + esc(c.field) + ": " + esc(c.after);
  if (c.after.empty()) return "- " + esc(c.field) + ": " + esc(c.before);
  return esc(c.field) + ": " + esc(c.before) + " → " + esc(c.after);
}

std::string HealthText(const plan::HealthView& h) {
  return fmt::format("health of job {} observed {} ago: {}/{} finished, {} succeeded, {} failed", h.job_id,
                     core::FormatDuration(h.age), h.finished, h.total, h.succeeded, h.failed);
}

// Health is shown on every stage that is not yet in sync: it explains why a
// gate is open, closed or halted. Once in sync the observation is history.
bool ShowHealth(const StagePlan& st) {
  return st.health && st.action != Action::kInSync;
}

std::string OrphanText(const plan::Orphan& o) {
  std::vector<std::string> notes;
  if (o.job.status != "created") notes.push_back(o.job.status);
  if (o.job.created_at) notes.push_back("created " + core::FormatRfc3339(*o.job.created_at));
  if (!o.job.error_code.empty()) notes.push_back(o.job.error_code);
  std::string what = o.job.job_id.empty() ? "intent " + o.job.intent_id : "job " + o.job.job_id;
  return fmt::format("{}/{}  {}{}", o.rollout, o.stage, what, notes.empty() ? "" : " (" + Join(notes, ", ") + ")");
}

// Terminal columns, not bytes: targets and reasons may hold UTF-8.
size_t Width(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string Pad(std::string_view s, size_t width) {
  std::string out(s);
  size_t w = Width(s);
  if (w < width) out.append(width - w, ' ');
  return out;
}

// Reasons and values can come from the platform (error messages) or the
// manifests: no control character of theirs reaches the terminal, and a
// newline must not break the one-line-per-stage layout.
std::string Clean(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return core::Printable(out);
}

// One conflict, as text and Markdown say it (plan.h, Conflict).
std::string ConflictText(const plan::Conflict& c) {
  if (c.other_first && c.superseded) {
    return fmt::format("overlaps {} (same product): listed in spec.supersedes, so this rollout does not wait for it",
                       c.rollout);
  }
  if (c.other_first) {
    return fmt::format(
        "conflicts with {} (same product, could hold the same devices): {} goes first; this rollout's first stage "
        "waits until it has finished{}",
        c.rollout, c.rollout,
        c.unfinished_jobs.empty() ? "" : fmt::format(" ({} of its jobs still running)", c.unfinished_jobs.size()));
  }
  if (c.superseded) {
    return fmt::format("overlaps {} (same product): it lists this rollout in spec.supersedes and does not wait",
                       c.rollout);
  }
  return fmt::format(
      "conflicts with {} (same product, could hold the same devices): this rollout goes first; {} waits until it has "
      "finished",
      c.rollout, c.rollout);
}

struct Painter {
  bool on;
  std::string operator()(const char* code, std::string_view s) const {
    if (!on) return std::string(s);
    return fmt::format("\x1b[{}m{}\x1b[0m", code, s);
  }
};

void TextRollout(const RolloutPlan& r, const Painter& paint, std::string& out) {
  auto conflicts = [&] {
    for (const auto& c : r.conflicts) out += "  " + paint("33", "! conflict:") + " " + Clean(ConflictText(c)) + '\n';
  };
  if (AllInSync(r)) {
    out += paint("2", fmt::format("= rollout {}: {} in sync", r.name,
                                  Plural(static_cast<long long>(r.stages.size()), "stage", "stages")));
    out += '\n';
    conflicts();
    return;
  }
  out += fmt::format("{}  ({}:{}:{})  product {}, firmware {}{}\n", paint("1", "rollout " + r.name),
                     Clean(r.position.file.str()), r.position.line, r.position.column, Clean(r.product_key),
                     Clean(r.firmware_id), r.paused ? ", paused" : "");
  conflicts();
  size_t name_w = 0, target_w = 0;
  for (const auto& st : r.stages) {
    name_w = std::max(name_w, Width(st.name));
    target_w = std::max(target_w, Width(st.target));
  }
  for (const auto& st : r.stages) {
    const char* code = ColorCode(st.action);
    std::string action = plan::ActionName(st.action);
    std::string line = fmt::format("  {} {}  {}{}  {}  {}", paint(code, std::string(1, Symbol(st.action))),
                                   Pad(st.name, name_w), paint(code, action), std::string(7 - action.size(), ' '),
                                   Pad(Clean(st.target), target_w), Clean(Details(st)));
    // Padding must not leave trailing blanks (diffs and golden files hate them).
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
    for (const auto& c : st.changes) {
      const char* ccode = c.before.empty() ? "32" : c.after.empty() ? "31" : "33";
      out += "        " + paint(ccode, ChangeText(c, Clean)) + '\n';
    }
    if (ShowHealth(st)) out += "        " + Clean(HealthText(*st.health)) + '\n';
  }
}

// ---------------------------------------------------------------------------
// Markdown helpers.

// User strings (reasons, values, paths, platform error messages) must not be
// able to break a table, open HTML, format text or mention people.
std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "<br>";
    } else if (c == '\t') {
      out += ' ';
    } else if (u < 0x20 || u == 0x7f) {
      // other controls (\r, ESC, ...) are dropped
    } else if (std::string_view("\\`*_[]~|").find(c) != std::string_view::npos) {
      out += '\\';  // "\|" is how GFM tables take a pipe, even inside code spans
      out += c;
    } else if (c == '<' || c == '>' || c == '&' || c == '@') {
      out += fmt::format("&#{};", static_cast<int>(c));  // no HTML, no @mentions
    } else {
      out += c;
    }
  }
  return out;
}

std::string MdTable(const RolloutPlan& r) {
  std::string out = fmt::format("\n**{}** · product {} · firmware {} · {}:{}:{}{}\n\n", Esc(r.name), Esc(r.product_key),
                                Esc(r.firmware_id), Esc(r.position.file.str()), r.position.line, r.position.column,
                                r.paused ? " · **paused**" : "");
  for (const auto& c : r.conflicts) out += "⚠ conflict: " + Esc(ConflictText(c)) + "\n\n";
  out += "| stage | action | target | details |\n|---|---|---|---|\n";
  for (const auto& st : r.stages) {
    std::vector<std::string> cell;
    if (std::string d = Details(st); !d.empty()) cell.push_back(Esc(d));
    for (const auto& c : st.changes) cell.push_back(ChangeText(c, [](const std::string& s) { return Esc(s); }));
    if (ShowHealth(st)) cell.push_back(Esc(HealthText(*st.health)));
    bool change = st.action == Action::kCreate || st.action == Action::kReplace;
    out += fmt::format("| {} | {}{}{} | {} | {} |\n", Esc(st.name), change ? "**" : "", plan::ActionName(st.action),
                       change ? "**" : "", Esc(st.target), Join(cell, "<br>"));
  }
  return out;
}

// A fence longer than any backtick run inside, so user text cannot close it.
std::string Fence(std::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

std::string LeftOutNote(long long rollouts, long long stages, long long orphans) {
  std::vector<std::string> what;
  if (rollouts > 0) {
    what.push_back(fmt::format("{} ({})", Plural(rollouts, "rollout", "rollouts"), Plural(stages, "stage", "stages")));
  }
  if (orphans > 0) what.push_back(Plural(orphans, "orphaned job", "orphaned jobs"));
  return fmt::format(
      "\n**{} not shown** to keep this comment within its size limit, and the full plan is omitted; "
      "run `otaroll plan` (or see the JSON plan) for all.\n",
      Join(what, " and "));
}

constexpr std::string_view kDetailsOmitted =
    "\nThe full plan is omitted to keep this comment within its size limit; run `otaroll plan` for it.\n";

// Cuts at a UTF-8 boundary: the last resort when even the summary does not fit.
std::string Truncate(std::string s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

}  // namespace

TextWriter::TextWriter(const TextOptions& options, size_t keep_up_to) : options_(options), keep_up_to_(keep_up_to) {}

void TextWriter::Add(const RolloutPlan& rollout) {
  ++count_;
  if (overflow_) return;
  TextRollout(rollout, Painter{options_.color}, rollouts_);
  if (rollouts_.size() > keep_up_to_) {
    overflow_ = true;
    rollouts_ = std::string();
  }
  if (spill_ && rollouts_.size() >= chunk_) {
    if (status_.ok()) status_ = spill_->Write(rollouts_);
    rollouts_.clear();
  }
}

void TextWriter::SpillTo(core::Spill spill, size_t chunk) {
  spill_.emplace(std::move(spill));
  chunk_ = chunk;
}

std::string TextWriter::Head(const Plan& rest) const {
  std::string out = "Plan: " + ChangeCounts(rest.summary);
  if (auto others = OtherCounts(rest.summary); !others.empty()) out += "; " + Join(others, ", ");
  out += ".\n" + Clean(StateLine(rest)) + "\nNow: " + core::FormatRfc3339(rest.now) + "\n\n";
  if (count_ == 0) out += "No rollouts in the manifests.\n";
  return out;
}

std::string TextWriter::Tail(const Plan& rest) const {
  Painter paint{options_.color};
  std::string out;
  if (!rest.orphans.empty()) {
    out += "\norphaned (in state, no longer in the manifests; nothing is called unless --prune):\n";
    for (const auto& o : rest.orphans) {
      out += "  " + paint(ColorCode(Action::kOrphaned), "-") + " " + Clean(OrphanText(o)) + '\n';
    }
  }
  return out;
}

std::string TextWriter::Finish(const Plan& rest) const {
  return Head(rest) + rollouts_ + Tail(rest);
}

core::Status TextWriter::WriteTo(const Plan& rest, std::ostream& out) {
  if (!status_.ok()) return status_;
  out << Head(rest);
  if (spill_) {
    if (core::Status copied = spill_->CopyTo(out); !copied.ok()) return copied;
  }
  out << rollouts_ << Tail(rest);
  return core::Status::Ok();
}

std::string Text(const Plan& plan, const TextOptions& options) {
  TextWriter writer(options);
  for (const auto& r : plan.rollouts) writer.Add(r);
  return writer.Finish(plan);
}

MarkdownWriter::MarkdownWriter(size_t max_bytes) : max_bytes_(max_bytes), text_(TextOptions{false}, max_bytes) {}

// Units are added whole or not at all: one table per rollout that is not
// entirely in sync, then the orphans. Only units that could still fit are
// kept; the others are counted.
void MarkdownWriter::Unit(const std::function<std::string()>& text, long long rollouts, long long stages,
                          long long orphans) {
  ++units_;
  total_.rollouts += rollouts;
  total_.stages += stages;
  total_.orphans += orphans;
  if (unit_bytes_ > max_bytes_) return;  // no later unit can be shown: counted only
  std::string made = text();
  unit_bytes_ += made.size();
  if (unit_bytes_ <= max_bytes_) kept_.push_back(Kept{{rollouts, stages, orphans}, std::move(made)});
}

void MarkdownWriter::Add(const RolloutPlan& rollout) {
  text_.Add(rollout);
  ++rollouts_;
  if (AllInSync(rollout)) {
    ++in_sync_rollouts_;
    return;
  }
  Unit([&] { return MdTable(rollout); }, 1, static_cast<long long>(rollout.stages.size()), 0);
}

std::string MarkdownWriter::Finish(const Plan& rest) {
  std::string head = "**otaroll plan**: ";
  auto others = OtherCounts(rest.summary);
  if (rest.HasChanges()) {
    others.insert(others.begin(), ChangeCounts(rest.summary));
    head += Join(others, " · ");
  } else {
    head += "No changes." + (others.empty() ? "" : " " + Join(others, " · "));
  }
  head += '\n';
  if (!rest.orphans.empty()) {
    Unit(
        [&] {
          std::string text =
              "\n**Orphaned** (in state, no longer in the manifests; nothing is called unless `--prune`):\n\n";
          for (const auto& o : rest.orphans) text += "- " + Esc(OrphanText(o)) + '\n';
          return text;
        },
        0, 0, static_cast<long long>(rest.orphans.size()));
  }

  std::string tail;
  if (rollouts_ == 0) {
    tail += "\nNo rollouts in the manifests.\n";
  } else if (in_sync_rollouts_ > 0) {
    tail += fmt::format("\n{} with every stage in sync {} not listed.\n",
                        Plural(in_sync_rollouts_, "rollout", "rollouts"), in_sync_rollouts_ == 1 ? "is" : "are");
  }
  tail += "\n" + Esc(StateLine(rest)) + " · now " + core::FormatRfc3339(rest.now) + "\n";

  // Room for the closing note: after the last unit only the full plan can be
  // left out; before it, the note listing what is left out. A note built from
  // the totals is at least as long as one built from any smaller counts.
  const size_t left_out_max = LeftOutNote(total_.rollouts, total_.stages, total_.orphans).size();
  std::string body = head;
  size_t shown = 0;
  Counts left = total_;
  for (const auto& u : kept_) {
    size_t reserve = shown + 1 == units_ ? kDetailsOmitted.size() : left_out_max;
    if (body.size() + u.text.size() + tail.size() + reserve > max_bytes_) break;
    body += u.text;
    left.rollouts -= u.rollouts;
    left.stages -= u.stages;
    left.orphans -= u.orphans;
    ++shown;
  }

  std::string out;
  if (shown == units_) {
    out = body + tail;
    if (text_.overflowed()) {  // longer than the whole comment may be
      out += kDetailsOmitted;
    } else {
      std::string text = text_.Finish(rest);
      std::string fence = Fence(text);
      std::string details =
          "\n<details><summary>Full plan</summary>\n\n" + fence + "text\n" + text + fence + "\n\n</details>\n";
      out += out.size() + details.size() <= max_bytes_ ? details : std::string(kDetailsOmitted);
    }
  } else {
    out = body + LeftOutNote(left.rollouts, left.stages, left.orphans) + tail;
  }
  // Only a limit smaller than the summary and notes themselves gets here.
  if (out.size() > max_bytes_) {
    out = head;
    if (units_ != 0) out += LeftOutNote(total_.rollouts, total_.stages, total_.orphans);
  }
  return Truncate(std::move(out), max_bytes_);
}

std::string Markdown(const Plan& plan, size_t max_bytes) {
  MarkdownWriter writer(max_bytes);
  for (const auto& r : plan.rollouts) writer.Add(r);
  return writer.Finish(plan);
}

}  // namespace otaroll::render
