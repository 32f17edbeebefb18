// The tcp check (SPEC.md §3): can a socket to the conninfo's host:port (or its unix socket
// DIR/.s.PGSQL.PORT) be opened before the deadline? A non-blocking connect() and poll(), so
// it never outlasts its deadline; host names are resolved with a bounded lookup too. The socket
// is closed normally (FIN, not RST) right after connecting: PostgreSQL logs nothing for a
// client that connects and leaves without sending a byte.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/round_result.h"
#include "probes/conninfo.h"
#include "probes/probe_observer.h"

namespace pgvigil {

/// Where the probes connect: a numeric address and port, or a unix socket path.
struct Endpoint {
  bool unix_socket = false;
  std::string address;  ///< numeric IPv4/IPv6 address, or the socket file path ('@' = abstract)
  int port = 5432;
  std::string display() const;  ///< "127.0.0.1:5432", "[::1]:5432", "/tmp/.s.PGSQL.5432"
};

struct [[nodiscard]] ResolveResult {
  std::vector<Endpoint> endpoints;  ///< in getaddrinfo order; empty on failure
  Cause cause = Cause::kNone;       ///< kDns on failure (also when the lookup ran out of time)
  std::string error;                ///< why, when endpoints is empty
};

/// The endpoints of the conninfo's first host: hostaddr if set, an address literal as is, a
/// socket directory (or the default: $PGHOST, else /var/run/postgresql) as DIR/.s.PGSQL.PORT, a
/// name through getaddrinfo() on a helper thread that the caller stops waiting for at the
/// deadline. A missing port follows $PGPORT, then 5432, as libpq does.
ResolveResult resolveEndpoints(const ConnInfo& info, const Deadline& deadline);

/// Connects to each endpoint in turn until one accepts. check = "tcp". A timeout names the
/// connect phase; a failed or hung name lookup is cause dns (a restart cannot cure it).
/// observer hears the lookup and each endpoint's attempt (diagnose); by default nobody does.
CheckOutcome tcpProbe(const ConnInfo& info, const Deadline& deadline,
                      ProbeObserver& observer = ProbeObserver::none());

/// "12.3ms" / "3.0s": how the probes print durations in messages.
std::string formatSeconds(Micros elapsed);

}  // namespace pgvigil
