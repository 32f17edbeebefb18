// What diagnose finds out about a target beyond the probes' answers, for the remedies: who it
// connects as and where the password comes from (conninfo, environment, password file), which
// PostgreSQL is installed, and which ports have a local server socket (to tell a stopped server
// from a wrong port or a server that does not listen on TCP).
#pragma once

#include "app/diagnose/problems.h"
#include "core/config.h"
#include "probes/conninfo.h"

namespace pgvigil {

/// Facts that come from the conninfo and the environment alone (libpq's PG* variables).
TargetFacts factsFor(const TargetConfig& target, const ConnInfo& info, Millis timeout);

/// Refused, or no socket: looks for the servers that do run here (their unix sockets), records
/// them in facts, and returns the finer problem: kNoListenerTcp (a server on this port that does
/// not listen on this address), kWrongPort (servers on other ports only), or p unchanged.
Problem refineRefused(Problem p, TargetFacts& facts);

/// The first element of a libpq list ("a,b" -> "a").
std::string firstOf(const std::string& list);

}  // namespace pgvigil
