// Moving a whole state between backends (`otaroll state export|import`,
// docs/state.md "Export, import, rename"): every row of every history table
// as plain values, and the export document they are written as and read
// from. Each backend reads and writes the rows; the document is made and
// checked here, once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "state/events.h"
#include "state/snapshot.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

struct StateRows {
  std::vector<RolloutRecord> rollouts;    // by name
  std::vector<Attempt> attempts;          // by id
  std::vector<Observation> observations;  // by id
  std::vector<int64_t> observation_ids;   // observations[i]'s id
  std::vector<Event> events;              // by seq
};

// The export document of `rows` (format_version 1, schema_version, serial,
// then the rows) as stable pretty JSON ending in a newline. Corruption naming
// `where` when an event's data is not JSON.
core::Result<StateExport> ExportDocument(const StateRows& rows, int64_t serial, const std::string& where);

// Parses and checks a whole export (`source` names it in messages); nothing
// is written. `where` names the state it is for.
core::Result<StateRows> ParseExport(const std::string& json_text, const std::string& source, const std::string& where);

}  // namespace otaroll::state
