// diagnose's idle step: the server settings that close sessions an application pool keeps open
// (idle_session_timeout, idle_in_transaction_session_timeout), the ones that decide how an idle
// TCP connection is kept alive (tcp_keepalives_idle/interval/count) and
// client_connection_check_interval, read from pg_settings by the diagnose session, and what they
// mean for a pool: the "ECONNRESET / Connection terminated unexpectedly after an idle period"
// pattern and the pool settings to match (node-postgres, Prisma, HikariCP). Only settings that
// differ from PostgreSQL's defaults are reported. The pure part; steps.cpp runs the query.
#pragma once

#include <string>
#include <vector>

#include "app/diagnose/problems.h"

namespace pgvigil {

/// The names diagnose reads, in the order it reports them.
const std::vector<std::string>& idleSettingNames();

/// One row of pg_settings.
struct ServerSetting {
  std::string name;
  std::string setting;   ///< as pg_settings shows it, in `unit`
  std::string unit;      ///< "ms", "s" or ""
  std::string boot_val;  ///< PostgreSQL's default (in `unit`)
  std::string source;    ///< "default", "configuration file", "command line", "user", ...
  /// Set somewhere (source is not "default") to something other than PostgreSQL's default.
  bool nonDefault() const;
};

struct IdleVerdict {
  bool warn = false;               ///< a setting closes sessions a pool keeps open
  std::string detail;              ///< one line naming each non-default setting with its value
  std::vector<std::string> notes;  ///< what each non-default setting means, one per line
  Advice advice;                   ///< for a warning: the explanation and the pool settings
};

/// `user` is the role the settings were read as (a role's ALTER ROLE ... SET shows for it only).
IdleVerdict judgeIdleSettings(const std::vector<ServerSetting>& settings, const std::string& user);

}  // namespace pgvigil
