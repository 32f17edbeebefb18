// The tcp check (docs/reference.md §3): can a socket to the conninfo's host:port (or its unix
// socket DIR/.s.PGSQL.PORT) be opened before the deadline? A non-blocking connect() and poll(), so
// it never outlasts its deadline; host names are resolved with a bounded lookup too. The socket
// is closed normally (FIN, not RST) right after connecting: PostgreSQL logs nothing for a
// client that connects and leaves without sending a byte.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/round_result.h"
#include "probes/conninfo.h"
#include "probes/probe_observer.h"
#include "probes/resolver.h"  // Endpoint, ResolveResult

namespace pgvigil {

/// The endpoints of the conninfo's first host: hostaddr if set, an address literal as is, a
/// socket directory (or the default: $PGHOST, else /var/run/postgresql) as DIR/.s.PGSQL.PORT, a
/// name through the Resolver (c-ares, on the calling thread, cancelled at the deadline). A
/// missing port follows $PGPORT, then 5432, as libpq does.
ResolveResult resolveEndpoints(const ConnInfo& info, const Deadline& deadline);
/// The same with a given resolver (tests point it at their own name servers).
ResolveResult resolveEndpoints(const ConnInfo& info, const Deadline& deadline,
                               const Resolver& resolver);

/// Hands libpq the addresses a host name resolved to, so that it never resolves the name itself
/// (its getaddrinfo() would block a poll loop) and still tries each address in turn until one
/// answers, as libpq does with a name (psql works where Node 17-19 fails: localhost -> ::1 first,
/// server on 127.0.0.1 only): host=NAME,NAME,... hostaddr=A1,A2,... (the name stays for TLS
/// host checks and messages). Nothing changes for a unix socket, an address literal, a conninfo
/// with hostaddr= or several hosts of its own. Returns how many addresses were pinned (0: none).
std::size_t pinResolvedAddresses(ConnInfo& info, const ResolveResult& resolved);

/// "[::1]:5432, 127.0.0.1:5432": the endpoints as messages name them.
std::string displayEndpoints(const std::vector<Endpoint>& endpoints);

/// Connects to each endpoint in turn until one accepts. check = "tcp". A timeout names the
/// connect phase; a failed or hung name lookup is cause dns (a restart cannot cure it).
/// observer hears the lookup and each endpoint's attempt (diagnose); by default nobody does.
CheckOutcome tcpProbe(const ConnInfo& info, const Deadline& deadline,
                      ProbeObserver& observer = ProbeObserver::none());

/// "12.3ms" / "3.0s": how the probes print durations in messages.
std::string formatSeconds(Micros elapsed);

}  // namespace pgvigil
