// What apply reports, as one typed stream: every thing done (a job created,
// an unknown outcome adopted, a job superseded or pruned) and every problem
// (an outcome still unknown, a rejection, a lost lease), each with its
// rollout, stage, attempt, job and error code, and one human sentence. The
// CLI renders it; logs, metrics and notifications read the same events.
#pragma once

#include <string>

namespace otaroll::apply {

enum class EventKind {
  kCreated,        // a create succeeded
  kAdopted,        // an unknown outcome was resolved to a job found on the platform
  kNotCreated,     // nothing was created (throttled, never sent, or the lookup found nothing): tried again later
  kFailed,         // the platform rejected the create: not retried until the stage changes (or --retry-failed)
  kUnknown,        // the outcome of a create is (still) unknown: looked up before anything else
  kDuplicate,      // the platform holds more than one job for one intent
  kSuperseded,     // a replaced stage's old job was superseded (and maybe its tasks cancelled)
  kCancelled,      // tasks of a job were cancelled (a halted stage with onHalt: cancel)
  kPruned,         // an orphaned job's tasks were cancelled (--prune)
  kObserveFailed,  // counting a job's tasks for a health gate failed
  kCancelFailed,   // cancelling a job's tasks failed
  kSkipped,        // a stage or part was not started (--max-creates, --prune-limit, an empty tree)
  kLeaseLost,      // the lease was taken away: the run stopped before its next create
  kStopped,        // the platform refused the credentials: the run stopped
};
const char* EventKindName(EventKind kind);  // "created", "adopted", "not-created", …

struct ApplyEvent {
  EventKind kind = EventKind::kCreated;
  std::string rollout;  // "" when the event is about the whole run
  std::string stage;
  std::string attempt;  // intent id
  std::string job;      // platform job id
  std::string code;     // error code, e.g. "Throttling.User", "otaroll.NotCreated"
  std::string message;  // one sentence, as the CLI prints it
  // A problem makes the run's exit code 1 (Report::ok); the CLI prints
  // problems as errors at the end, the rest as they happen.
  bool problem = false;
  int done = 0;  // creates attempted so far in this run
  int due = 0;   // creates known to be due (grows when a created stage opens the next one)
};

}  // namespace otaroll::apply
