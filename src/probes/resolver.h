// Host name lookups with a deadline, for the probes, the monitoring connection and `diagnose`.
// One c-ares channel per lookup, driven by poll() on the channel's own sockets on the calling
// thread until the answer or the deadline; at the deadline the channel is destroyed, which
// cancels the query and closes its sockets. No thread per lookup, and nothing is left running
// or open when resolve() returns. /etc/hosts, /etc/resolv.conf and nsswitch.conf's `hosts:`
// order are honoured as getaddrinfo() would; answers come in RFC 6724 order, as glibc's do.
// CARES_HOSTS (c-ares's variable), when set, names another hosts file to read (for tests).
// Why c-ares and not glibc's getaddrinfo_a: docs/architecture.md ("Choices, and why").
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/types.h"

namespace pgvigil {

/// Where the probes connect: a numeric address and port, or a unix socket path.
struct Endpoint {
  bool unix_socket = false;
  std::string address;  ///< numeric IPv4/IPv6 address, or the socket file path ('@' = abstract)
  int port = 5432;
  std::string display() const;  ///< "127.0.0.1:5432", "[::1]:5432", "/tmp/.s.PGSQL.5432"
};

struct [[nodiscard]] ResolveResult {
  std::vector<Endpoint> endpoints;  ///< in the resolver's order (RFC 6724); empty on failure
  Cause cause = Cause::kNone;       ///< kDns on failure (also when the lookup ran out of time)
  std::string error;                ///< why, when endpoints is empty
};

class Resolver {
 public:
  /// The system's configuration: /etc/hosts, resolv.conf (servers, search, ndots, timeout,
  /// attempts), nsswitch.conf's order of files and dns.
  Resolver() = default;

  /// For tests: ask only these name servers ("127.0.0.9:5353,[::1]:53", ares_set_servers_ports_csv
  /// syntax), with no search domains; /etc/hosts is still read first.
  static Resolver withServers(std::string serversCsv);

  /// The addresses of `host` (a name or an address literal), each with `port`. Returns when the
  /// lookup is answered or at the deadline, whichever comes first; the deadline is waited for in
  /// real time even when its clock is a fake one. Failure and timeout are both cause dns.
  ResolveResult resolve(const std::string& host, int port, const Deadline& deadline) const;

 private:
  std::string servers_;  ///< empty: resolv.conf's
};

}  // namespace pgvigil
