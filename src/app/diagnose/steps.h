// diagnose's step order: dns, tcp, tls, auth, query, headroom, each one a probe of src/probes run
// the way `check` runs it (the same resolveEndpoints, tcpProbe, pgConnect, pgQuery and
// connections check, so the same cause for the same server), watched through a ProbeObserver to
// report each phase with its timing. Each step has its own deadline (the target's timeout), and
// every cancel is bounded by it. A step that fails stops the walk; the later ones are skipped.
#pragma once

#include <functional>
#include <string>

#include "app/diagnose/problems.h"
#include "app/diagnose/report.h"
#include "core/config.h"
#include "probes/conninfo.h"

namespace pgvigil {

struct StepsOutcome {
  bool ok = true;  ///< no step failed (a warning is not a failure)
  std::string failed_step;
  Cause failed_cause = Cause::kNone;
};

/// Walks the steps after the config step; onStep receives each step as it finishes (advice
/// filled in, not yet redacted). facts is updated with what the steps find out.
StepsOutcome runSteps(const ConnInfo& info, const TargetConfig& target, TargetFacts& facts,
                      const std::function<void(const StepReport&)>& onStep);

}  // namespace pgvigil
