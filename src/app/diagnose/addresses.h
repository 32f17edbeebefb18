// diagnose's addresses step: a host name with several addresses (`localhost` -> ::1 and
// 127.0.0.1) is tried address by address — a TCP connect and a libpq login with hostaddr= pinned
// to that address — and the report says which address each kind of client driver ends up on.
// The classic case is "works in psql, fails in Node": the server listens on 127.0.0.1 only,
// localhost resolves to ::1 first, libpq moves on to the next address and Node 17-19 does not.
// This file is the pure part (the verdict from the results); steps.cpp runs the probes.
#pragma once

#include <string>
#include <vector>

#include "app/diagnose/problems.h"

namespace pgvigil {

/// One resolved address, tried on its own.
struct AddressProbe {
  std::string address;  ///< numeric, "::1" / "127.0.0.1"
  int port = 5432;
  bool tcp_ok = false;
  std::string tcp_error;    ///< "Connection refused", "no answer within the timeout"; "" when ok
  bool login_ok = false;    ///< a libpq session with hostaddr= pinned to this address logged in
  std::string login_error;  ///< libpq's message (one line) when the login failed after TCP
  bool answers() const { return tcp_ok && login_ok; }
  std::string display() const;  ///< "[::1]:5432", "127.0.0.1:5432"
};

/// What one kind of client does with the address list, and where it ends up.
struct DriverOutcome {
  std::string driver;     ///< "libpq (psql, psycopg, Ruby pg, PHP pgsql)"
  std::string behaviour;  ///< "tries each address in order until one answers"
  std::string address;    ///< the address it connects to, or the one it fails on
  bool ok = false;
};

/// Each driver's outcome for addresses in the resolver's order (RFC 6724, as glibc's
/// getaddrinfo returns them). Facts (docs/troubleshooting.md, "Which address really answers"):
/// libpq tries every address in order; node-postgres uses Node's net.connect: Node <= 16 looks
/// up one address with IPv4 first (dns.lookup verbatim=false), Node 17-19 one address in the
/// resolver's order and no fallback, Node >= 20 tries each address in turn (autoSelectFamily, on
/// by default since 20.0.0). pgvigil's session probe tries every address in order, as libpq.
std::vector<DriverOutcome> driverOutcomes(const std::vector<AddressProbe>& probes);

struct AddressVerdict {
  bool warn = false;   ///< not every address answers
  std::string detail;  ///< one line: "localhost -> ::1 refused, 127.0.0.1 answers"
  Advice advice;       ///< for a warning: what it means and what to change
};

AddressVerdict judgeAddresses(const std::string& host, const std::vector<AddressProbe>& probes);

}  // namespace pgvigil
