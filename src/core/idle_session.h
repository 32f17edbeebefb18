// A long-lived session that respects the server's idle_session_timeout (issue 10). PostgreSQL 14+
// ends a session idle for longer than idle_session_timeout with a FATAL (57P05) in its log. The
// monitoring session is idle between rounds, so with a timeout shorter than the interval it was
// ended (and reopened after the next round) every few seconds. Instead, the session reads the
// timeout that applies to it (the server's, or its role's or database's) and, while idle, sends a
// tiny query before the timeout would end it: one round trip, no new backend, nothing in the
// server's log (docs/health-model.md, "The monitoring session and idle_session_timeout").
//
// Pure: the caller (ConnectionWatch's poll thread) says what happened and when; this says when
// the next keep-alive query is due.
#pragma once

#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/types.h"

namespace pgvigil {

/// The SQLSTATE of a session the server ended for idleness (idle_session_timeout).
inline constexpr std::string_view kSqlstateIdleSessionTimeout = "57P05";

/// What the keep-alive query asks: the timeout in force for this session, NULL before
/// PostgreSQL 14 (no such setting).
inline constexpr std::string_view kIdleSessionTimeoutQuery =
    "SELECT current_setting('idle_session_timeout', true)";

/// A time setting as current_setting() shows it ("0", "250ms", "2s", "5min", "1h", "1d"; a bare
/// number is milliseconds, idle_session_timeout's unit). nullopt when it is not one.
std::optional<Millis> parseTimeSetting(std::string_view text);

/// How long after its last message an idle session is sent a keep-alive query, for a timeout
/// `timeout` (> 0): half of it, but never more than 5 s before it ends, so that the poll
/// thread's own delays (a connect of another target, a scheduling hiccup) stay far inside the
/// margin while a long timeout costs few queries (one every 55 s for 1 min). At least 10 ms.
Millis keepAliveAfter(Millis timeout);

class IdleSessionKeepAlive {
 public:
  /// The session has just opened: the timeout is read at once (nothing known yet).
  void opened(SteadyTime now);
  /// A message went to the server (any query, the keep-alive one included): the server's
  /// idle clock starts again when it answers, so counting from the send is the safe side.
  void sent(SteadyTime now);
  /// The keep-alive query answered: the session's timeout (nullopt: no such setting, or an
  /// answer that could not be read: nothing to keep alive).
  void timeoutRead(std::optional<Millis> timeout);
  void closed();

  /// Whether a keep-alive query is due now (the session must be idle to send it).
  bool due(SteadyTime now) const;
  /// When the next keep-alive query is due; nullopt when none will be.
  std::optional<SteadyTime> nextDue() const;
  /// The session's idle_session_timeout (0: off) once read.
  std::optional<Millis> timeout() const { return timeout_; }
  /// How often an idle session is sent a keep-alive query; nullopt when it need not be.
  std::optional<Millis> every() const;

 private:
  bool open_ = false;
  bool readPending_ = false;  ///< the timeout is still to be read
  SteadyTime lastSent_{};
  std::optional<Millis> timeout_;
};

}  // namespace pgvigil
