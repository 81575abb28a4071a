// The PostgreSQL state's readers: the snapshot, the event log and rollouts.
#include <fmt/format.h>

#include <string>

#include "state/columns.h"
#include "state/pg_schema.h"
#include "state/pg_store.h"

namespace otaroll::state {

namespace {

// The latest observation of each job: greatest observed_ms, then greatest id.
constexpr const char* kSelectLatestObservations =
    "SELECT DISTINCT ON (job_id) job_id, observed_at, total, confirm, queued, notified, in_progress, succeeded, "
    "failed, canceled FROM observations ORDER BY job_id, observed_ms DESC, id DESC";

}  // namespace

core::Result<Snapshot> PgStore::ReadSnapshot() {
  Snapshot snap;
  snap.exists = true;
  snap.source = where_;
  auto serial = Exec("SELECT value FROM serial WHERE id = 1", {}, "reading its serial");
  if (!serial.ok()) return serial.status();
  snap.serial = serial->Int(0, 0);
  auto attempts = Exec(fmt::format("SELECT {} FROM attempts ORDER BY id", kAttemptColumns), {}, "reading attempts");
  if (!attempts.ok()) return attempts.status();
  snap.attempts.reserve(attempts->size());
  for (size_t i = 0; i < attempts->size(); ++i) {
    auto a = AttemptFromRow(PgRow{*attempts, i}, where_);
    if (!a.ok()) return a.status();
    snap.attempts.push_back(std::move(*a));
  }
  auto observations = Exec(kSelectLatestObservations, {}, "reading observations");
  if (!observations.ok()) return observations.status();
  const auto& statuses = TaskStatuses();
  for (size_t i = 0; i < observations->size(); ++i) {
    const PgRow row{*observations, i};
    Observation o;
    o.job_id = row.Text(0);
    auto at = TimeColumn(row, 1, where_, "an observation of job " + o.job_id);
    if (!at.ok()) return at.status();
    o.observed_at = *at;
    o.total = row.Int(2);
    for (size_t k = 0; k < statuses.size(); ++k) {
      if (int64_t n = row.Int(static_cast<int>(3 + k)); n != 0) o.by_status[statuses[k]] = n;
    }
    snap.observations[o.job_id] = std::move(o);
  }
  return snap;
}

core::Result<Snapshot> PgStore::Load() {
  Snapshot snap;
  core::Status s = Read("reading the state", [&]() -> core::Status {
    auto read = ReadSnapshot();
    if (!read.ok()) return read.status();
    snap = std::move(*read);
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return snap;
}

core::Result<std::unique_ptr<PgStore>> PgStore::OpenWithoutCreating(const std::string& uri) {
  auto db = PgDb::Connect(uri);
  if (!db.ok()) return db.status();
  auto version = PgSchemaVersion(**db);
  if (!version.ok()) return version.status();
  if (*version == 0) return std::unique_ptr<PgStore>();
  return std::unique_ptr<PgStore>(new PgStore(std::move(*db), uri));
}

core::Result<Snapshot> PgStore::LoadWithoutCreating(const std::string& uri) {
  auto store = OpenWithoutCreating(uri);
  if (!store.ok()) return store.status();
  if (*store == nullptr) {
    Snapshot none;
    none.source = ShownPgUri(uri);
    return none;
  }
  return (*store)->Load();
}

core::Result<int64_t> PgStore::Serial() {
  auto row = Exec("SELECT value FROM serial WHERE id = 1", {}, "reading its serial");
  if (!row.ok()) return row.status();
  return row->Int(0, 0);
}

core::Result<std::vector<Event>> PgStore::ReadEvents(const std::string& sql, const Params& params) {
  auto rows = Exec(sql, params, "reading events");
  if (!rows.ok()) return rows.status();
  std::vector<Event> events;
  events.reserve(rows->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    auto e = EventRow(PgRow{*rows, i}, where_);
    if (!e.ok()) return e.status();
    events.push_back(std::move(*e));
  }
  return events;
}

core::Result<std::vector<Event>> PgStore::Events(const std::string& rollout_filter) {
  return ReadEvents(fmt::format("SELECT {} FROM events WHERE $1 = '' OR rollout = $1 ORDER BY seq", kEventColumns),
                    {rollout_filter});
}

core::Result<std::vector<Event>> PgStore::RecentEvents(const std::string& rollout_filter, size_t limit) {
  return ReadEvents(fmt::format("SELECT * FROM (SELECT {} FROM events WHERE $1 = '' OR rollout = $1 ORDER BY seq "
                                "DESC LIMIT $2) AS recent ORDER BY seq",
                                kEventColumns),
                    {rollout_filter, std::to_string(limit)});
}

core::Result<std::vector<Event>> PgStore::EventsAfter(int64_t after, size_t limit) {
  return ReadEvents(fmt::format("SELECT {} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2", kEventColumns),
                    {std::to_string(after), std::to_string(limit)});
}

core::Result<std::vector<RolloutRecord>> PgStore::Rollouts() {
  auto rows = Exec("SELECT name, product_key, firmware_id, first_seen, last_seen FROM rollouts ORDER BY name", {},
                   "reading rollouts");
  if (!rows.ok()) return rows.status();
  std::vector<RolloutRecord> out;
  for (size_t i = 0; i < rows->size(); ++i) {
    const PgRow row{*rows, i};
    RolloutRecord r;
    r.name = row.Text(0);
    r.product_key = row.Text(1);
    r.firmware_id = row.Text(2);
    auto first = TimeColumn(row, 3, where_, "rollout " + r.name + " first_seen");
    if (!first.ok()) return first.status();
    auto last = TimeColumn(row, 4, where_, "rollout " + r.name + " last_seen");
    if (!last.ok()) return last.status();
    r.first_seen = *first;
    r.last_seen = *last;
    out.push_back(std::move(r));
  }
  return out;
}

core::Result<int64_t> PgStore::Cursor(const std::string& sink) {
  int64_t cursor = 0;
  const std::string doing = "reading a notification cursor";
  core::Status s = Write(doing, [&]() -> core::Status {
    auto start = Exec(
        "INSERT INTO notify_cursors (sink, seq) VALUES ($1, (SELECT coalesce(max(seq), 0) FROM events)) "
        "ON CONFLICT (sink) DO NOTHING",
        {sink}, doing);
    if (!start.ok()) return start.status();
    auto read = Exec("SELECT seq FROM notify_cursors WHERE sink = $1", {sink}, doing);
    if (!read.ok()) return read.status();
    cursor = read->size() > 0 ? read->Int(0, 0) : 0;
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return cursor;
}

core::Status PgStore::SetCursor(const std::string& sink, int64_t seq) {
  const std::string doing = "moving a notification cursor";
  return Write(doing, [&]() -> core::Status {
    return Exec(
               "INSERT INTO notify_cursors (sink, seq) VALUES ($1, $2) "
               "ON CONFLICT (sink) DO UPDATE SET seq = greatest(notify_cursors.seq, excluded.seq)",
               {sink, std::to_string(seq)}, doing)
        .status();
  });
}

core::Result<std::vector<Condition>> PgStore::Conditions() {
  auto rows =
      Exec("SELECT rollout, stage, state, reason, commit_id, since, reminded FROM conditions ORDER BY rollout, stage",
           {}, "reading conditions");
  if (!rows.ok()) return rows.status();
  std::vector<Condition> out;
  for (size_t i = 0; i < rows->size(); ++i) {
    const PgRow row{*rows, i};
    Condition c;
    c.rollout = row.Text(0);
    c.stage = row.Text(1);
    c.state = row.Text(2);
    c.reason = row.Text(3);
    c.commit = row.Text(4);
    auto since = TimeColumn(row, 5, where_, fmt::format("condition of {}/{} since", c.rollout, c.stage));
    if (!since.ok()) return since.status();
    c.since = *since;
    c.reminded = row.Text(6) == "t";
    out.push_back(std::move(c));
  }
  return out;
}

core::Status PgStore::PutCondition(const Condition& c) {
  const std::string doing = fmt::format("recording the condition of {}/{}", c.rollout, c.stage);
  return Write(doing, [&]() -> core::Status {
    return Exec(
               "INSERT INTO conditions (rollout, stage, state, reason, commit_id, since, reminded) VALUES ($1, $2, "
               "$3, $4, $5, $6, $7) ON CONFLICT (rollout, stage) DO UPDATE SET state = excluded.state, reason = "
               "excluded.reason, commit_id = excluded.commit_id, since = excluded.since, reminded = "
               "excluded.reminded",
               {c.rollout, c.stage, c.state, c.reason, c.commit, core::FormatRfc3339(c.since),
                std::string(c.reminded ? "true" : "false")},
               doing)
        .status();
  });
}

core::Status PgStore::ClearCondition(const std::string& rollout, const std::string& stage) {
  const std::string doing = fmt::format("clearing the condition of {}/{}", rollout, stage);
  return Write(doing, [&]() -> core::Status {
    return Exec("DELETE FROM conditions WHERE rollout = $1 AND stage = $2", {rollout, stage}, doing).status();
  });
}

}  // namespace otaroll::state
