// One failure, one cause (docs/reference.md §3): a pure mapping from where a connection attempt or
// query failed (its phase), the server's SQLSTATE (when it sent one), the error text, and an errno
// seen on the socket, to a Cause. libpq often reports connection failures with no SQLSTATE, only
// PQerrorMessage() text, so the text is matched too (the server's messages are English: probes
// connect with lc_messages unchanged, but the messages we match are the C-locale ones, which is
// what PostgreSQL sends before a session's settings apply).
#pragma once

#include <string_view>

#include "core/types.h"

namespace pgvigil {

/// sqlstate: "" when unknown. message: PQerrorMessage()/PQresultErrorMessage() text or ours.
/// errnoHint: an errno from our own socket calls (ECONNREFUSED, ETIMEDOUT, ...), 0 when none.
/// Never returns kNone.
Cause classify(Phase phase, std::string_view sqlstate, std::string_view message, int errnoHint = 0);

/// The SQLSTATE embedded in a verbose libpq message ("FATAL:  57P03:  the database ..."), or ""
/// when the text carries none.
std::string_view sqlstateFromMessage(std::string_view message);

}  // namespace pgvigil
