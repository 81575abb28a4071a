// `otaroll state import` and `otaroll state mv`: loading an export into an
// empty state file, renaming a rollout.
#include <fmt/format.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/names.h"
#include "state/db.h"
#include "state/request.h"
#include "state/rows.h"
#include "state/schema.h"
#include "state/sqlite_store.h"
#include "state/transfer.h"

namespace otaroll::state {

// ---------------------------------------------------------------------------
// Import and rename

namespace {

// "known rollouts: a, b, c" (at most 10, then "and N more"), or that there are none.
std::string KnownRollouts(const std::vector<std::string>& names) {
  if (names.empty()) return "it records no rollouts";
  std::string out = "known rollouts: ";
  for (size_t i = 0; i < names.size() && i < 10; ++i) out += (i == 0 ? "" : ", ") + names[i];
  if (names.size() > 10) out += fmt::format(" and {} more", names.size() - 10);
  return out;
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

core::Result<StateCounts> CountRows(const Db& db, const std::string& doing) {
  auto stmt = db.Prepare(
      "SELECT (SELECT count(*) FROM rollouts), (SELECT count(*) FROM attempts), "
      "(SELECT count(*) FROM observations), (SELECT count(*) FROM events)",
      doing);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return StateCounts{stmt->Int(0), stmt->Int(1), stmt->Int(2), stmt->Int(3)};
}

core::Result<std::vector<std::string>> RolloutNames(const Db& db, const std::string& doing) {
  auto stmt = db.Prepare("SELECT name FROM rollouts ORDER BY name", doing);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> names;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return names;
    names.push_back(stmt->Text(0));
  }
}

using nlohmann::ordered_json;

// Reads the fields of one object of an export; the first problem is kept in
// *error and later reads return placeholders, so a record is read straight
// through and checked once.
class Fields {
 public:
  Fields(const ordered_json& object, std::string where, const std::string& source, core::Status* error)
      : object_(object), where_(std::move(where)), source_(source), error_(error) {
    if (!object_.is_object()) Fail("", "must be a JSON object");
  }

  const ordered_json* Get(const char* key, bool nullable) {
    if (!error_->ok() || !object_.is_object()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end()) {
      Fail(key, "is missing");
      return nullptr;
    }
    if (it->is_null()) {
      if (!nullable) Fail(key, "must not be null");
      return nullptr;
    }
    return &*it;
  }
  std::string Text(const char* key, bool nullable = false, bool required = false) {
    const ordered_json* v = Get(key, nullable);
    if (v == nullptr) return std::string();
    if (!v->is_string()) {
      Fail(key, "must be a string");
      return std::string();
    }
    std::string text = v->get<std::string>();
    if (required && text.empty()) Fail(key, "must not be empty");
    return text;
  }
  std::optional<int64_t> Int(const char* key, int64_t min, bool nullable = false) {
    const ordered_json* v = Get(key, nullable);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) {
      Fail(key, "must be an integer");
      return std::nullopt;
    }
    int64_t n = v->get<int64_t>();
    if (n < min) {
      Fail(key, fmt::format("must be at least {}", min));
      return std::nullopt;
    }
    return n;
  }
  std::optional<core::Time> Time(const char* key, bool nullable = false) {
    const ordered_json* v = Get(key, nullable);
    if (v == nullptr) return std::nullopt;
    auto t = v->is_string() ? core::ParseRfc3339(v->get<std::string>()) : std::nullopt;
    if (!t) Fail(key, "must be an RFC 3339 time");
    return t;
  }
  void Fail(const std::string& key, const std::string& problem) {
    if (!error_->ok()) return;
    std::string place = where_.empty() || key.empty() ? where_ + key : where_ + "." + key;
    if (place.empty()) place = "the file";
    *error_ = core::Status::Invalid(fmt::format(
        "cannot import {}: {} {}; import a file written by 'otaroll state export'", source_, place, problem));
  }

 private:
  const ordered_json& object_;
  std::string where_;
  const std::string& source_;
  core::Status* error_;
};

// Byte offset → "line L, column C" of `text`.
std::string Position(const std::string& text, size_t byte) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("line {}, column {}", line, column);
}

}  // namespace

std::string DescribeCounts(const StateCounts& c) {
  std::vector<std::string> parts;
  if (c.rollouts) parts.push_back(Plural(c.rollouts, "rollout", "rollouts"));
  if (c.attempts) parts.push_back(Plural(c.attempts, "attempt", "attempts"));
  if (c.observations) parts.push_back(Plural(c.observations, "observation", "observations"));
  if (c.events) parts.push_back(Plural(c.events, "event", "events"));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  }
  return out.empty() ? std::string("nothing") : out;
}

namespace {

using ImportRows = StateRows;

// Each Parse* reads one list of the export into `rows`; the first problem is
// left in *error (naming the record and field) and ends the parse.
void ParseRollouts(const ordered_json& list, const std::string& source, core::Status* error, ImportRows& rows,
                   std::set<std::string>& names) {
  for (size_t i = 0; i < list.size() && error->ok(); ++i) {
    Fields f(list[i], fmt::format("rollouts[{}]", i), source, error);
    RolloutRecord r;
    r.name = f.Text("name");
    r.product_key = f.Text("product_key");
    r.firmware_id = f.Text("firmware_id");
    auto first = f.Time("first_seen");
    auto last = f.Time("last_seen");
    if (error->ok() && !core::IsName(r.name)) f.Fail("name", fmt::format("\"{}\" is not a rollout name", r.name));
    if (error->ok() && !names.insert(r.name).second) f.Fail("name", fmt::format("\"{}\" appears twice", r.name));
    if (!error->ok()) return;
    r.first_seen = *first;
    r.last_seen = *last;
    rows.rollouts.push_back(std::move(r));
  }
}

void ReadRequest(Fields& f, const core::Status* error, Attempt& a) {
  const ordered_json* request = f.Get("request", false);
  if (request == nullptr) return;
  if (!request->is_object()) f.Fail("request", "must be a JSON object of strings");
  RequestParams params;
  for (const auto& [key, value] : request->items()) {
    if (!error->ok()) return;
    if (!value.is_string()) {
      f.Fail("request." + key, "must be a string");
      return;
    }
    params[key] = value.get<std::string>();
  }
  if (error->ok()) a.request = RequestText(params);
}

void ParseAttempts(const ordered_json& list, const std::string& source, const std::string& path,
                   const std::set<std::string>& rollouts, core::Status* error, ImportRows& rows,
                   std::set<int64_t>& ids) {
  for (size_t i = 0; i < list.size() && error->ok(); ++i) {
    Fields f(list[i], fmt::format("attempts[{}]", i), source, error);
    Attempt a;
    auto id = f.Int("id", 1);
    a.intent_id = f.Text("intent_id", false, true);
    a.rollout = f.Text("rollout");
    a.stage = f.Text("stage", false, true);
    auto part = f.Int("part", 0);
    auto parts = f.Int("parts", 1);
    a.spec_hash = f.Text("spec_hash", false, true);
    ReadRequest(f, error, a);
    std::string status = f.Text("status");
    auto parsed_status = ParseStatus(status);
    if (error->ok() && !parsed_status) {
      f.Fail("status",
             fmt::format("\"{}\" is not one of pending, created, failed, unknown, superseded, cancelled", status));
    }
    a.job_id = f.Text("job_id", true);
    a.job_created_at = f.Time("job_created_at", true);
    a.job_status = f.Text("job_status", true);
    a.request_id = f.Text("request_id", true);
    a.error_code = f.Text("error_code", true);
    a.error_message = f.Text("error_message", true);
    auto attempt_count = f.Int("attempt_count", 0);
    auto created_at = f.Time("created_at");
    auto updated_at = f.Time("updated_at");
    a.superseded_by = f.Int("superseded_by", 1, true);
    if (error->ok() && !rollouts.count(a.rollout)) {
      f.Fail("rollout", fmt::format("\"{}\" is not among the rollouts of the file", a.rollout));
    }
    if (error->ok() && *part >= *parts) f.Fail("part", fmt::format("must be less than parts ({})", *parts));
    if (error->ok() && !ids.insert(*id).second) f.Fail("id", fmt::format("{} appears twice", *id));
    if (!error->ok()) return;
    a.id = *id;
    a.part = static_cast<int>(*part);
    a.parts = static_cast<int>(*parts);
    a.status = *parsed_status;
    a.attempt_count = static_cast<int>(*attempt_count);
    a.created_at = *created_at;
    a.updated_at = *updated_at;
    if (auto checked = CheckRequest(a, path); !checked.ok()) {
      *error = checked;
      return;
    }
    rows.attempts.push_back(std::move(a));
  }
  for (size_t i = 0; i < rows.attempts.size() && error->ok(); ++i) {
    const auto& by = rows.attempts[i].superseded_by;
    if (by && !ids.count(*by)) {
      Fields(ordered_json::object(), fmt::format("attempts[{}]", i), source, error)
          .Fail("superseded_by", fmt::format("{} is not the id of an attempt in the file", *by));
    }
  }
}

void ParseObservations(const ordered_json& list, const std::string& source, core::Status* error, ImportRows& rows) {
  const auto& statuses = TaskStatuses();
  for (size_t i = 0; i < list.size() && error->ok(); ++i) {
    Fields f(list[i], fmt::format("observations[{}]", i), source, error);
    Observation o;
    auto id = f.Int("id", 1);
    o.job_id = f.Text("job_id", false, true);
    auto at = f.Time("observed_at");
    auto total = f.Int("total", 0);
    if (const ordered_json* counts = f.Get("counts", false)) {
      if (!counts->is_object()) f.Fail("counts", "must be a JSON object");
      for (const auto& [key, value] : counts->items()) {
        if (!error->ok()) break;
        if (std::find(statuses.begin(), statuses.end(), key) == statuses.end()) {
          f.Fail("counts", fmt::format("names the unknown task status {}", key));
        } else if (!value.is_number_integer() || value.get<int64_t>() < 0) {
          f.Fail("counts." + key, "must be an integer of at least 0");
        } else {
          o.by_status[key] = value.get<int64_t>();
        }
      }
    }
    if (!error->ok()) return;
    o.observed_at = *at;
    o.total = *total;
    rows.observation_ids.push_back(*id);
    rows.observations.push_back(std::move(o));
  }
}

void ParseEvents(const ordered_json& list, const std::string& source, const std::set<int64_t>& attempt_ids,
                 core::Status* error, ImportRows& rows) {
  for (size_t i = 0; i < list.size() && error->ok(); ++i) {
    Fields f(list[i], fmt::format("events[{}]", i), source, error);
    Event e;
    auto seq = f.Int("seq", 1);
    auto at = f.Time("at");
    e.rollout = f.Text("rollout");
    e.stage = f.Text("stage");
    e.attempt_id = f.Int("attempt_id", 1, true);
    e.kind = f.Text("kind", false, true);
    e.message = f.Text("message");
    const ordered_json* data = f.Get("data", true);
    if (error->ok() && e.attempt_id && !attempt_ids.count(*e.attempt_id)) {
      f.Fail("attempt_id", fmt::format("{} is not the id of an attempt in the file", *e.attempt_id));
    }
    if (!error->ok()) return;
    e.seq = *seq;
    e.at = *at;
    e.data_json =
        data == nullptr ? std::string("{}") : data->dump(-1, ' ', false, ordered_json::error_handler_t::replace);
    rows.events.push_back(std::move(e));
  }
}

}  // namespace

core::Result<StateRows> ParseExport(const std::string& json_text, const std::string& source, const std::string& path) {
  ordered_json doc;
  try {
    doc = ordered_json::parse(json_text);
  } catch (const ordered_json::parse_error& e) {
    return core::Status::Invalid(
        fmt::format("cannot import {}: it is not valid JSON (at {}); import a file written by 'otaroll state export'",
                    source, Position(json_text, e.byte == 0 ? 0 : e.byte - 1)));
  }
  core::Status error;
  Fields top(doc, "", source, &error);
  auto format_version = top.Int("format_version", 1);
  if (!error.ok()) return error;
  if (*format_version != 1) {
    return core::Status::Unsupported(fmt::format(
        "cannot import {}: it has format_version {} and this otaroll reads format_version 1; upgrade otaroll", source,
        *format_version));
  }
  auto schema_version = top.Int("schema_version", 1);
  if (!error.ok()) return error;
  if (*schema_version > kSchemaVersion) {
    return core::Status::Unsupported(fmt::format(
        "cannot import {}: it was exported from schema version {} and this otaroll knows {}; upgrade otaroll", source,
        *schema_version, kSchemaVersion));
  }
  auto list = [&](const char* key) -> const ordered_json* {
    const ordered_json* v = top.Get(key, false);
    if (v != nullptr && !v->is_array()) {
      top.Fail(key, "must be a JSON array");
      return nullptr;
    }
    return v;
  };
  const ordered_json* rollouts = list("rollouts");
  const ordered_json* attempts = list("attempts");
  const ordered_json* observations = list("observations");
  const ordered_json* events = list("events");
  if (!error.ok()) return error;
  ImportRows rows;
  std::set<std::string> rollout_names;
  std::set<int64_t> attempt_ids;
  ParseRollouts(*rollouts, source, &error, rows, rollout_names);
  if (error.ok()) ParseAttempts(*attempts, source, path, rollout_names, &error, rows, attempt_ids);
  if (error.ok()) ParseObservations(*observations, source, &error, rows);
  if (error.ok()) ParseEvents(*events, source, attempt_ids, &error, rows);
  if (!error.ok()) return error;
  return rows;
}

namespace {

// Writes the parsed rows inside the caller's transaction; `refused` names the
// record a row the schema refuses came from.
core::Status WriteImport(const Db& db, const ImportRows& rows, const std::string& doing,
                         const std::function<core::Status(const core::Status&, const std::string&)>& refused) {
  for (size_t i = 0; i < rows.rollouts.size(); ++i) {
    if (auto run = InsertRolloutRow(db, rows.rollouts[i], doing); !run.ok()) {
      return refused(run, fmt::format("rollouts[{}]", i));
    }
  }
  for (size_t i = 0; i < rows.attempts.size(); ++i) {
    // Each request was checked as the file was read (ParseAttempts).
    if (auto run = InsertAttemptRow(db, rows.attempts[i], /*with_id=*/true, doing); !run.ok()) {
      return refused(run, fmt::format("attempts[{}]", i));
    }
  }
  for (size_t i = 0; i < rows.observations.size(); ++i) {
    if (auto run = InsertObservationRow(db, rows.observations[i], rows.observation_ids[i], doing); !run.ok()) {
      return refused(run, fmt::format("observations[{}]", i));
    }
  }
  for (size_t i = 0; i < rows.events.size(); ++i) {
    if (auto run = InsertEvent(db, rows.events[i], doing, /*with_seq=*/true); !run.ok()) {
      return refused(run, fmt::format("events[{}]", i));
    }
  }
  return core::Status::Ok();
}

}  // namespace

core::Result<StateCounts> SqliteStore::Import(const std::string& json_text, const std::string& source) {
  auto rows = ParseExport(json_text, source, path_);
  if (!rows.ok()) return rows.status();
  const std::string doing = "importing " + source;
  // A row the schema refuses (a duplicate id or job id, a status without a
  // job id, ...) names the record rather than blaming otaroll.
  auto refused = [&](const core::Status& s, const std::string& where) {
    if (s.code() != core::Status::Code::kInvalid) return s;
    return core::Status::Invalid(fmt::format(
        "cannot import {}: {} breaks a rule of the state file ({}); import a file written by 'otaroll state export'",
        source, where, sqlite3_errmsg(db_->raw())));
  };
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = CountRows(*db_, doing);
    if (!held.ok()) return held.status();
    if (held->rollouts + held->attempts + held->observations + held->events > 0) {
      return core::Status::Conflict(fmt::format(
          "cannot import {} into state file {}: it already holds {}; import only into a new state file (pass a path "
          "that does not exist yet with --state)",
          source, path_, DescribeCounts(*held)));
    }
    // superseded_by points at later attempts: check references at COMMIT.
    if (auto d = db_->Exec("PRAGMA defer_foreign_keys = ON", doing); !d.ok()) return d;
    return WriteImport(*db_, *rows, doing, refused);
  });
  if (!s.ok()) return s;
  return StateCounts{static_cast<int64_t>(rows->rollouts.size()), static_cast<int64_t>(rows->attempts.size()),
                     static_cast<int64_t>(rows->observations.size()), static_cast<int64_t>(rows->events.size())};
}

core::Result<int64_t> SqliteStore::RenameRollout(const std::string& from, const std::string& to, core::Time now) {
  if (!core::IsName(to)) {
    return core::Status::Invalid(fmt::format(
        "cannot rename rollout {} to \"{}\" in state file {}: that is not a rollout name; use 1 to 63 lowercase "
        "letters, digits, '-' and '.', starting and ending with a letter or digit",
        from, to, path_));
  }
  const std::string doing = fmt::format("renaming rollout {} to {}", from, to);
  int64_t moved = 0;
  core::Status s = Write(doing, [&]() -> core::Status {
    auto names = RolloutNames(*db_, doing);
    if (!names.ok()) return names.status();
    if (std::find(names->begin(), names->end(), from) == names->end()) {
      return core::Status::NotFound(
          fmt::format("state file {} has no rollout {} to rename; {}", path_, from, KnownRollouts(*names)));
    }
    if (std::find(names->begin(), names->end(), to) != names->end()) {
      return core::Status::Conflict(fmt::format(
          "cannot rename rollout {} to {} in state file {}: a rollout {} is already recorded; choose another name",
          from, to, path_, to));
    }
    auto count = db_->Prepare("SELECT count(*) FROM attempts WHERE rollout = ?1", doing);
    if (!count.ok()) return count.status();
    auto row = count->Bind(1, from).Step();
    if (!row.ok()) return row.status();
    moved = count->Int(0);
    // Attempts follow through ON UPDATE CASCADE.
    auto rename = db_->Prepare("UPDATE rollouts SET name = ?2 WHERE name = ?1", doing);
    if (!rename.ok()) return rename.status();
    if (auto r = rename->Bind(1, from).Bind(2, to).Run(); !r.ok()) return r;
    auto events = db_->Prepare("UPDATE events SET rollout = ?2 WHERE rollout = ?1", doing);
    if (!events.ok()) return events.status();
    if (auto r = events->Bind(1, from).Bind(2, to).Run(); !r.ok()) return r;
    auto conditions = db_->Prepare("UPDATE conditions SET rollout = ?2 WHERE rollout = ?1", doing);
    if (!conditions.ok()) return conditions.status();
    if (auto r = conditions->Bind(1, from).Bind(2, to).Run(); !r.ok()) return r;
    Event e;
    e.at = now;
    e.rollout = to;
    e.kind = "renamed";
    e.message = fmt::format("rollout {} was renamed to {} (otaroll state mv)", from, to);
    e.data_json = ordered_json{{"from", from}, {"to", to}}.dump();
    return InsertEvent(*db_, e, doing);
  });
  if (!s.ok()) return s;
  return moved;
}

}  // namespace otaroll::state
