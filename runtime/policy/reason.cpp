#include "runtime/policy/reason.h"

namespace trig::policy {

const char* reasonName(Reason r) {
  switch (r) {
    case Reason::None: return "none";
    case Reason::OptedOut: return "opted_out";
    case Reason::NoEmail: return "no_email";
    case Reason::Bounced: return "bounced";
    case Reason::MissingData: return "missing_data";
    case Reason::RuleLimit: return "rule_limit";
    case Reason::Outranked: return "outranked";
    case Reason::Preempted: return "preempted";
    case Reason::Restarted: return "restarted";
    case Reason::Converted: return "converted";
    case Reason::Cooldown: return "cooldown";
    case Reason::FrequencyCap: return "frequency_cap";
    case Reason::Condition: return "condition";
    case Reason::Holdout: return "holdout";
    case Reason::RuleRemoved: return "rule_removed";
    case Reason::DuplicateId: return "duplicate_message_id";
    case Reason::DuplicateContent: return "duplicate_content";
  }
  return "?";
}

}  // namespace trig::policy
