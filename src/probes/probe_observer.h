// What a probe sees, phase by phase, for a caller that wants to watch it (`pgvigil diagnose`).
// The probes call these hooks as each phase ends, with the time since the probe started (on the
// deadline's clock). Every hook does nothing by default, and a probe given no observer uses
// ProbeObserver::none(): the agent's hot path pays one empty virtual call per phase.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/round_result.h"

namespace pgvigil {

struct Endpoint;
struct ResolveResult;

class ProbeObserver {
 public:
  virtual ~ProbeObserver() = default;

  /// resolveEndpoints() returned: the endpoints, or why there are none.
  virtual void resolved(const ResolveResult& /*result*/, Micros /*took*/) {}
  /// One endpoint's TCP connect of the tcp probe ended: err 0 = connected, else the errno;
  /// timedOut when the deadline ended it. (A session's own connect shows as sessionPhase leaving
  /// connect: libpq does it.)
  virtual void tcpAttempt(const Endpoint& /*endpoint*/, int /*err*/, bool /*timedOut*/,
                          Micros /*took*/) {}
  /// A libpq session moved to another phase (connect -> startup -> auth -> query = up).
  virtual void sessionPhase(Phase /*phase*/, Micros /*at*/) {}
  /// The session asked the server for TLS (sslmode allows it): the negotiation began.
  virtual void tlsStarted(Micros /*at*/) {}
  /// The server answered the startup: TLS is in use or not (protocol/cipher when it is).
  /// took: the time spent negotiating TLS (0 when none was asked for).
  virtual void tlsSettled(bool /*inUse*/, const std::string& /*protocol*/,
                          const std::string& /*cipher*/, Micros /*took*/) {}
  /// The session is up: credentials accepted and the database opened.
  virtual void authenticated(Micros /*at*/) {}
  /// A query ended: ok, or its failure (cause, phase, message, sqlstate).
  virtual void queryDone(const CheckOutcome& /*outcome*/) {}

  /// The observer that observes nothing.
  static ProbeObserver& none();
};

}  // namespace pgvigil
