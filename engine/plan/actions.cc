#include "plan/plan.h"

namespace otaroll::plan {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kInSync: return "in-sync";
    case Action::kCreate: return "create";
    case Action::kReplace: return "replace";
    case Action::kWaiting: return "waiting";
    case Action::kHeld: return "held";
    case Action::kBlocked: return "blocked";
    case Action::kUnknown: return "unknown";
    case Action::kHalted: return "halted";
    case Action::kOrphaned: return "orphaned";
  }
  return "unknown";
}

}  // namespace otaroll::plan
