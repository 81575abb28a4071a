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
#include "render/pretty.h"
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
void TimeOrNull(const std::optional<core::Time>& t, PrettyJson& w) {
  if (t) {
    w.String(core::FormatRfc3339(*t));
  } else {
    w.Null();
  }
}

void WriteJob(const plan::JobRef& j, PrettyJson& w) {
  w.BeginObject();
  w.Key("job_id").StringOrNull(j.job_id);
  w.Key("intent_id").String(j.intent_id);
  w.Key("spec_hash").String(j.spec_hash);
  w.Key("status").String(j.status);
  w.Key("part").Int(j.part);
  TimeOrNull(j.created_at, w.Key("created_at"));
  w.Key("error_code").StringOrNull(j.error_code);
  w.Key("error_message").StringOrNull(j.error_message);
  w.EndObject();
}

bool IsListParam(const std::string& name) {
  return std::any_of(std::begin(spec::kListParams), std::end(spec::kListParams),
                     [&](const char* p) { return name == p; });
}

void WriteParams(const StagePlan& st, PrettyJson& w) {
  static const spec::ParamSet kNoParams;
  w.BeginObject();
  for (const auto& [name, values] : st.params ? *st.params : kNoParams) {
    // Lists stay arrays even with one item so their type never depends on the data.
    if (IsListParam(name) || values.size() != 1) {
      w.Key(name).Strings(values);
    } else {
      w.Key(name).String(values.front());
    }
  }
  w.EndObject();
}

void WriteHealth(const plan::HealthView& h, PrettyJson& w) {
  w.BeginObject();
  w.Key("job_id").String(h.job_id);
  w.Key("observed_at").String(core::FormatRfc3339(h.observed_at));
  w.Key("age_seconds").Int(std::chrono::duration_cast<std::chrono::seconds>(h.age).count());
  w.Key("finished").Int(h.finished);
  w.Key("succeeded").Int(h.succeeded);
  w.Key("failed").Int(h.failed);
  w.Key("total").Int(h.total);
  w.EndObject();
}

void WriteStage(const StagePlan& st, PrettyJson& w) {
  w.BeginObject();
  w.Key("name").String(st.name);
  w.Key("index").Int(st.index);
  w.Key("action").String(plan::ActionName(st.action));
  w.Key("reason").StringOrNull(st.reason);
  TimeOrNull(st.opens_at, w.Key("opens_at"));
  w.Key("target").String(st.target);
  w.Key("spec_hash").String(st.spec_hash);
  w.Key("previous_hash").StringOrNull(st.previous_hash);
  if (!st.duplicate_jobs.empty()) w.Key("duplicate_jobs").Strings(st.duplicate_jobs);
  w.Key("parts").Int(st.parts);
  w.Key("parts_to_create").Int(st.parts_to_create);
  WriteParams(st, w.Key("params"));
  w.Key("changes").BeginArray();
  for (const auto& c : st.changes) {
    w.BeginObject();
    w.Key("field").String(c.field);
    w.Key("before").StringOrNull(c.before);
    w.Key("after").StringOrNull(c.after);
    w.EndObject();
  }
  w.EndArray();
  w.Key("jobs").BeginArray();
  for (const auto& j : st.jobs) WriteJob(j, w);
  w.EndArray();
  if (st.health) {
    WriteHealth(*st.health, w.Key("health"));
  } else {
    w.Key("health").Null();
  }
  w.Key("file").String(st.position.file.str());
  w.Key("line").Int(st.position.line);
  w.Key("column").Int(st.position.column);
  w.EndObject();
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
// A rollout's text at the depth of the document's rollouts.
std::string RolloutText(const plan::RolloutPlan& r) {
  std::string out;
  PrettyJson w(out, 4);
  w.BeginObject();
  w.Key("name").String(r.name);
  w.Key("file").String(r.position.file.str());
  w.Key("line").Int(r.position.line);
  w.Key("column").Int(r.position.column);
  w.Key("product_key").String(r.product_key);
  w.Key("firmware_id").String(r.firmware_id);
  w.Key("paused").Bool(r.paused);
  w.Key("stages").BeginArray();
  for (const auto& st : r.stages) WriteStage(st, w);
  w.EndArray();
  w.Key("conflicts").BeginArray();
  for (const auto& c : r.conflicts) {
    w.BeginObject();
    w.Key("rollout").String(c.rollout);
    w.Key("other_first").Bool(c.other_first);
    w.Key("superseded").Bool(c.superseded);
    w.Key("unfinished_jobs").Strings(c.unfinished_jobs);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
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
  out_ << (any_ ? ",\n    " : "[\n    ") << RolloutText(rollout);
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
    for (size_t i = from; i < to; ++i) texts[i] = RolloutText(batch_[i]);
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
  std::string orphans;
  PrettyJson w(orphans, 2);
  w.BeginArray();
  for (const auto& o : rest.orphans) {
    w.BeginObject();
    w.Key("rollout").String(o.rollout);
    w.Key("stage").String(o.stage);
    WriteJob(o.job, w.Key("job"));
    w.EndObject();
  }
  w.EndArray();
  out_ << ",\n  \"orphans\": " << orphans << "\n}\n";
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
