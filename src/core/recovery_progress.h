// Recovery that is waited out only while it moves (issue 10): what the agent reads of a starting
// or recovering PostgreSQL, and the pure parsers of what it reads. The reading itself (files in
// the data directory, /proc, the server log) is the probes layer's (probes/recovery_reader.h),
// done off the agent's loop; TargetSupervisor decides with the readings (docs/health-model.md,
// "Recovery progress").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace pgvigil {

/// Where a progress value came from (/status `recovery.source`).
inline constexpr std::string_view kProgressStartupProcess = "startup_process";
inline constexpr std::string_view kProgressServerLog = "server_log";
inline constexpr std::string_view kProgressPostmasterPid = "postmaster_pid";

/// One reading of a target's recovery progress.
struct RecoveryReading {
  /// "" when nothing could be read (no data directory known, not readable, not this host's).
  std::string source;
  /// What moves while recovery progresses: the startup process's activity ("recovering
  /// 000000010000000000000023"), the LSN of the last "redo in progress" line, or the
  /// postmaster.pid status. Compared as text: a change is progress.
  std::string value;
  std::string server_status;  ///< postmaster.pid's status line (starting, stopping, standby...)
  std::string problem;        ///< why nothing could be read, one line (when source is empty)

  bool readable() const { return !source.empty(); }
};

/// What postmaster.pid says (its first and eighth lines); nullopt when it is not a pid file.
struct PostmasterPid {
  long pid = 0;
  std::string status;  ///< "" when the file has no status line yet
};
std::optional<PostmasterPid> parsePostmasterPid(std::string_view text);

/// The activity in a startup process's title ("postgres: startup recovering 0000000100000000000
/// 00023", also "postgres: 15/main: startup waiting for ..."): "recovering 0000...", or nullopt
/// when the title is not a startup process's. `cmdline` as read from /proc/PID/cmdline (NULs and
/// padding allowed).
std::optional<std::string> startupActivity(std::string_view cmdline);

/// The LSN of the last PG15+ `log_startup_progress_interval` line in a piece of server log
/// ("redo in progress, elapsed time: 12.01 s, current LSN: 0/1A2B3C4D" -> "0/1A2B3C4D"); nullopt
/// when there is none.
std::optional<std::string> lastRedoProgress(std::string_view logTail);

}  // namespace pgvigil
