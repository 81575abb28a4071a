// Rendering a plan for people and machines: text (terminal), JSON
// (schemas/plan.schema.json) and Markdown (a pull-request comment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/files.h"
#include "plan/plan.h"

namespace otaroll::render {

struct TextOptions {
  bool color = false;  // ANSI colour; the CLI decides (terminal, NO_COLOR)
};
std::string Text(const plan::Plan& plan, const TextOptions& options);

// Pretty-printed, keys in a fixed order, trailing newline.
std::string Json(const plan::Plan& plan);
// The same document written to `out` a rollout at a time (`plan --format
// json` on a large tree never holds the whole document).
void JsonTo(const plan::Plan& plan, std::ostream& out);

// GitHub comments hold 65,536 characters; stay well below.
inline constexpr size_t kDefaultMarkdownLimit = 60000;
std::string Markdown(const plan::Plan& plan, size_t max_bytes = kDefaultMarkdownLimit);

// The same three, written while the plan is made (plan::BuildEach), for a
// plan too large to hold: Add() each rollout's plan in order, then Finish()
// with the rest of the plan. The functions above are these over a whole
// plan, so the output is the same byte for byte.
//
// Text: the rollouts' text is kept (it is the output), up to `keep_up_to`
// bytes; past that overflowed() and Finish() has no rollouts (Markdown's
// full-plan section, which cannot be longer than the comment).
class TextWriter {
 public:
  explicit TextWriter(const TextOptions& options, size_t keep_up_to = SIZE_MAX);
  void Add(const plan::RolloutPlan& rollout);
  bool overflowed() const { return overflow_; }
  std::string Finish(const plan::Plan& rest) const;
  // From now on the rollouts' text goes to `spill` (a nameless temporary
  // file) whenever `chunk` bytes of it are made, instead of being held: a
  // large plan's text is megabytes. Finish() is for a writer without one.
  void SpillTo(core::Spill spill, size_t chunk = size_t{1} << 18);
  // The same text written to `out`, its rollouts not copied again.
  // Writing to the spill failed, or reading it back did: that error.
  core::Status WriteTo(const plan::Plan& rest, std::ostream& out);

 private:
  std::string Head(const plan::Plan& rest) const;  // counts, state, time
  std::string Tail(const plan::Plan& rest) const;  // orphans
  TextOptions options_;
  size_t keep_up_to_;
  std::string rollouts_;  // made and not spilled yet
  size_t count_ = 0;
  bool overflow_ = false;
  std::optional<core::Spill> spill_;
  size_t chunk_ = 0;
  core::Status status_ = core::Status::Ok();
};

// JSON: the counts come first in the document, so the writer is made with
// the rest of a plan already made and writes each rollout to `out` as it is
// added. A plan made while it is written goes through a JsonSpool instead.
class JsonWriter {
 public:
  JsonWriter(const plan::Plan& rest, std::ostream& out);
  void Add(const plan::RolloutPlan& rollout);
  void Finish(const plan::Plan& rest);

 private:
  friend class JsonSpool;
  std::ostream& out_;
  bool any_ = false;
};

// JSON of a plan written as it is made: each rollout is added as it is
// planned, made into text a batch at a time on every core and kept in
// `spill` (a nameless temporary file), and WriteTo() writes the whole
// document once the counts are known, as often as asked.
class JsonSpool {
 public:
  explicit JsonSpool(core::Spill spill, size_t batch = 256);
  void Add(plan::RolloutPlan&& rollout);
  // Writing to the spill fails, or reading it back does: that error.
  core::Status WriteTo(const plan::Plan& rest, std::ostream& out);

 private:
  void Spill();
  core::Spill spill_;
  size_t batch_size_;
  std::vector<plan::RolloutPlan> batch_;
  core::Status status_ = core::Status::Ok();
};

// Markdown: keeps only what can still fit in `max_bytes`.
class MarkdownWriter {
 public:
  explicit MarkdownWriter(size_t max_bytes = kDefaultMarkdownLimit);
  void Add(const plan::RolloutPlan& rollout);
  std::string Finish(const plan::Plan& rest);

 private:
  struct Counts {
    long long rollouts = 0, stages = 0, orphans = 0;
  };
  struct Kept : Counts {
    std::string text;
  };
  void Unit(const std::function<std::string()>& text, long long rollouts, long long stages, long long orphans);

  size_t max_bytes_;
  TextWriter text_;
  std::vector<Kept> kept_;  // the first units, while they fit
  size_t units_ = 0;        // every unit, kept or not
  size_t unit_bytes_ = 0;   // of every unit made so far
  Counts total_;
  long long rollouts_ = 0, in_sync_rollouts_ = 0;
};

}  // namespace otaroll::render
