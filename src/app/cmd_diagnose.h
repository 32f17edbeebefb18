// `pgvigil diagnose`: walks one connection attempt step by step — config, dns, tcp, tls, auth,
// query, headroom — printing each step as it finishes (✓/✗ and OK/FAIL, with its timing). A failed
// step says its cause in plain words and the usual remedy (start the service, the port,
// listen_addresses, pg_hba.conf, the password, createdb, recovery, saturation, sslmode).
// Exit 0 when every step passes, 2 when one fails, 3 on a config or usage error.
//
// The parts live in app/diagnose/: steps (the step order, over the probes' own functions watched
// through a ProbeObserver, so diagnose and check give the same cause), problems and remedies (the
// catalogue), facts (what the remedies name), report (text and JSON). This file loads the config
// and runs the steps for each target.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "app/diagnose/problems.h"
#include "app/diagnose/report.h"
#include "core/config.h"
#include "core/types.h"

namespace pgvigil {

struct DiagnoseOptions {
  std::string config_path;  ///< empty: $PGVIGIL_CONFIG, then the platform default
  std::string target;       ///< -t; empty: every target in the config, one after the other
  std::string conninfo;     ///< --conninfo: diagnose this instead of a config target
  /// --env-dir: diagnose the database an application's .env folder names (with -c: and say
  /// whether it is one of the config's targets).
  std::string env_dir;
  std::optional<Millis> timeout;  ///< bound on each network step; default: the target's timeout
  bool json = false;              ///< --format json: one JSON document at the end
};

/// `pgvigil diagnose`. Never throws.
int runDiagnose(const DiagnoseOptions& options, std::ostream& out, std::ostream& err);

}  // namespace pgvigil
