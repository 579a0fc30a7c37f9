#pragma once
// Why a send (or a firing) did not go out: the reasons of suppressed and dropped records. The
// names are the CLI contract (`trig run --explain`; docs/language.md, "The delivery policy"), so
// they are one list, here below both the policies that give most of them and the engine that
// gives the rest.
#include <cstdint>

namespace trig::policy {

enum class Reason : uint8_t {
  None,
  OptedOut,          // `subscribed` is false
  NoEmail,           // no `email` trait
  Bounced,           // the address hard bounced
  MissingData,       // a template variable with no value and no default
  RuleLimit,         // `limit N per D`: the firing was stopped
  Outranked,         // lost arbitration
  Preempted,         // a higher-priority send went out while this step was pending
  Restarted,         // a new firing of the rule replaced this flow
  Converted,         // the rule's goal was reached
  Cooldown,          // `cooldown D`: the template went out to the customer within D
  FrequencyCap,      // `cap N per D`
  Condition,         // the step's own `unless` held when it was due
  Holdout,           // the split chose a `holdout` variant: a control group gets nothing
  RuleRemoved,       // `trig serve`: a reload removed the rule while its flow was running
  DuplicateId,       // Dropped: same messageId as an accepted event
  DuplicateContent,  // Dropped: same content within the `dedup` window (keep it last: the
                     // engine counts suppressions in an array up to it)
};

const char* reasonName(Reason r);

}  // namespace trig::policy
