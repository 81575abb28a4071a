// JSON rendering of a plan (schemas/plan.schema.json): the whole plan, a
// writer that adds rollouts as they are made, and a spool for a plan made
// while it is written (render.h).
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "render/render.h"

namespace otaroll::render {
namespace {

using plan::Action;
using plan::Plan;
using plan::RolloutPlan;
using plan::StagePlan;
// ---------------------------------------------------------------------------
// JSON helpers.

using OJson = nlohmann::ordered_json;

// Absent values are null, never "" or a missing key: one shape for consumers.
OJson StrOrNull(const std::string& s) {
  return s.empty() ? OJson(nullptr) : OJson(s);
}
OJson TimeOrNull(const std::optional<core::Time>& t) {
  return t ? OJson(core::FormatRfc3339(*t)) : OJson(nullptr);
}

OJson JobJson(const plan::JobRef& j) {
  OJson o = OJson::object();
  o["job_id"] = StrOrNull(j.job_id);
  o["intent_id"] = j.intent_id;
  o["spec_hash"] = j.spec_hash;
  o["status"] = j.status;
  o["part"] = j.part;
  o["created_at"] = TimeOrNull(j.created_at);
  o["error_code"] = StrOrNull(j.error_code);
  o["error_message"] = StrOrNull(j.error_message);
  return o;
}

bool IsListParam(const std::string& name) {
  return std::any_of(std::begin(spec::kListParams), std::end(spec::kListParams),
                     [&](const char* p) { return name == p; });
}

OJson StageJson(const StagePlan& st) {
  OJson o = OJson::object();
  o["name"] = st.name;
  o["index"] = st.index;
  o["action"] = plan::ActionName(st.action);
  o["reason"] = StrOrNull(st.reason);
  o["opens_at"] = TimeOrNull(st.opens_at);
  o["target"] = st.target;
  o["spec_hash"] = st.spec_hash;
  o["previous_hash"] = StrOrNull(st.previous_hash);
  if (!st.duplicate_jobs.empty()) o["duplicate_jobs"] = st.duplicate_jobs;
  o["parts"] = st.parts;
  o["parts_to_create"] = st.parts_to_create;
  OJson params = OJson::object();
  static const spec::ParamSet kNoParams;
  for (const auto& [name, values] : st.params ? *st.params : kNoParams) {
    // Lists stay arrays even with one item so their type never depends on the data.
    if (IsListParam(name) || values.size() != 1) {
      params[name] = values;
    } else {
      params[name] = values.front();
    }
  }
  o["params"] = std::move(params);
  OJson changes = OJson::array();
  for (const auto& c : st.changes) {
    OJson ch = OJson::object();
    ch["field"] = c.field;
    ch["before"] = StrOrNull(c.before);
    ch["after"] = StrOrNull(c.after);
    changes.push_back(std::move(ch));
  }
  o["changes"] = std::move(changes);
  OJson jobs = OJson::array();
  for (const auto& j : st.jobs) jobs.push_back(JobJson(j));
  o["jobs"] = std::move(jobs);
  if (st.health) {
    const auto& h = *st.health;
    OJson hj = OJson::object();
    hj["job_id"] = h.job_id;
    hj["observed_at"] = core::FormatRfc3339(h.observed_at);
    hj["age_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(h.age).count();
    hj["finished"] = h.finished;
    hj["succeeded"] = h.succeeded;
    hj["failed"] = h.failed;
    hj["total"] = h.total;
    o["health"] = std::move(hj);
  } else {
    o["health"] = nullptr;
  }
  o["file"] = st.position.file.str();
  o["line"] = st.position.line;
  o["column"] = st.position.column;
  return o;
}

}  // namespace

namespace {

// Writes a value as `dump(2)` writes it, each line after the first indented
// `by` more spaces: the text the value has at that depth of a larger
// document. nlohmann's serializer starts at that depth itself
// (current_indent), straight into the stream.
std::string NestedText(const OJson& value, size_t by) {
  std::string text;
  // Platform error messages are not guaranteed UTF-8; replace rather than throw.
  nlohmann::detail::serializer<OJson> serializer(nlohmann::detail::output_adapter<char>(text), ' ',
                                                 nlohmann::ordered_json::error_handler_t::replace);
  serializer.dump(value, true, false, 2, static_cast<unsigned int>(by));
  return text;
}

void DumpNested(const OJson& value, size_t by, std::ostream& out) {
  out << NestedText(value, by);  // whole: the stream's put() per character is slow
}
OJson RolloutJson(const plan::RolloutPlan& r) {
  OJson o = OJson::object();
  o["name"] = r.name;
  o["file"] = r.position.file.str();
  o["line"] = r.position.line;
  o["column"] = r.position.column;
  o["product_key"] = r.product_key;
  o["firmware_id"] = r.firmware_id;
  o["paused"] = r.paused;
  o["stages"] = OJson::array();
  for (const auto& st : r.stages) o["stages"].push_back(StageJson(st));
  o["conflicts"] = OJson::array();
  for (const auto& c : r.conflicts) {
    o["conflicts"].push_back({{"rollout", c.rollout},
                              {"other_first", c.other_first},
                              {"superseded", c.superseded},
                              {"unfinished_jobs", c.unfinished_jobs}});
  }
  return o;
}

}  // namespace

JsonWriter::JsonWriter(const Plan& rest, std::ostream& out) : out_(out) {
  OJson head = OJson::object();
  head["format_version"] = rest.format_version;
  head["now"] = core::FormatRfc3339(rest.now);
  head["mode"] = rest.mode;
  head["state"] = {{"source", rest.state_source}, {"exists", rest.state_exists}, {"serial", rest.state_serial}};
  head["manifest_digest"] = rest.manifest_digest;
  OJson counts = OJson::object();
  for (size_t i = 0; i < plan::kActionCount; ++i) {
    counts[plan::ActionName(static_cast<Action>(i))] = rest.summary.counts[i];
  }
  head["summary"] = {{"counts", std::move(counts)}, {"changes", rest.summary.Changes()}};
  // The document dump(2) makes of the whole plan, written a rollout at a
  // time, so no tree of the whole plan is ever built.
  out_ << "{\n";
  for (auto it = head.begin(); it != head.end(); ++it) {
    out_ << "  " << OJson(it.key()).dump() << ": ";
    DumpNested(it.value(), 2, out_);
    out_ << ",\n";
  }
  out_ << "  \"rollouts\": ";
}

void JsonWriter::Add(const RolloutPlan& rollout) {
  out_ << (any_ ? ",\n    " : "[\n    ");
  DumpNested(RolloutJson(rollout), 4, out_);
  any_ = true;
}

JsonSpool::JsonSpool(core::Spill spill, size_t batch) : spill_(std::move(spill)), batch_size_(batch) {}

void JsonSpool::Add(RolloutPlan&& rollout) {
  batch_.push_back(std::move(rollout));
  if (batch_.size() >= batch_size_) Spill();
}

// The batch's texts, made on every core, joined as they are written.
void JsonSpool::Spill() {
  constexpr size_t kParallelFrom = 64;
  std::vector<std::string> texts(batch_.size());
  core::ForEachShare(batch_.size(), kParallelFrom, [&](size_t, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) texts[i] = NestedText(RolloutJson(batch_[i]), 4);
  });
  batch_.clear();
  for (const std::string& text : texts) {
    if (!status_.ok()) return;
    if (!spill_.empty()) status_ = spill_.Write(",\n    ");
    if (status_.ok()) status_ = spill_.Write(text);
  }
}

core::Status JsonSpool::WriteTo(const Plan& rest, std::ostream& out) {
  if (!batch_.empty()) Spill();
  if (!status_.ok()) return status_;
  JsonWriter writer(rest, out);
  core::Status copied = core::Status::Ok();
  if (!spill_.empty()) {
    out << "[\n    ";
    copied = spill_.CopyTo(out);
    writer.any_ = true;
  }
  writer.Finish(rest);
  return copied;
}

void JsonWriter::Finish(const Plan& rest) {
  out_ << (any_ ? "\n  ]" : "[]");
  OJson orphans = OJson::array();
  for (const auto& o : rest.orphans) {
    orphans.push_back({{"rollout", o.rollout}, {"stage", o.stage}, {"job", JobJson(o.job)}});
  }
  out_ << ",\n  \"orphans\": ";
  DumpNested(orphans, 2, out_);
  out_ << "\n}\n";
}

void JsonTo(const Plan& plan, std::ostream& out) {
  JsonWriter writer(plan, out);
  for (const auto& r : plan.rollouts) writer.Add(r);
  writer.Finish(plan);
}

std::string Json(const Plan& plan) {
  std::ostringstream out;
  JsonTo(plan, out);
  return out.str();
}

}  // namespace otaroll::render
