// The server certificate of a TLS session: when it expires (issue 11). libpq hands out the
// OpenSSL object of the session (PQsslStruct "OpenSSL"); the peer certificate's notAfter is
// read from it and turned into a wall-clock time.
#pragma once

#include <libpq-fe.h>

#include <optional>

#include "core/clock.h"

namespace pgvigil {

/// notAfter of the server certificate when conn is a TLS session that has one; nullopt
/// otherwise (no TLS, no certificate, unreadable time).
std::optional<WallTime> serverCertNotAfter(PGconn* conn);

}  // namespace pgvigil
