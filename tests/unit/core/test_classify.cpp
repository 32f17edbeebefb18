// classify(): every cause from the texts libpq 15 and the server really produce (copied from
// PQerrorMessage() output against a live server, with verbose error verbosity where a SQLSTATE
// shows), and from SQLSTATE alone.
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <string>

#include "core/classify.h"

using pgvigil::Cause;
using pgvigil::classify;
using pgvigil::Phase;
using pgvigil::sqlstateFromMessage;

namespace {
std::string name(Cause c) {
  return std::string(pgvigil::toString(c));
}

struct Case {
  Phase phase;
  const char* sqlstate;
  const char* message;
  int err;
  Cause want;
};

const Case kCases[] = {
    // Refused: TCP and unix socket.
    {Phase::kConnect, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n"
     "\tIs the server running on that host and accepting TCP/IP connections?\n",
     0, Cause::kRefused},
    {Phase::kConnect, "",
     "connection to server on socket \"/tmp/pgvigil-pg-x/.s.PGSQL.5432\" failed: No such file "
     "or directory\n\tIs the server running locally and accepting connections on that socket?\n",
     0, Cause::kRefused},
    {Phase::kConnect, "", "", ECONNREFUSED, Cause::kRefused},
    // Timeouts.
    {Phase::kConnect, "",
     "connection to server at \"10.255.255.1\", port 5432 failed: timeout "
     "expired\n",
     0, Cause::kTimeout},
    {Phase::kConnect, "", "", ETIMEDOUT, Cause::kTimeout},
    {Phase::kQuery, "57014", "ERROR:  canceling statement due to statement timeout\n", 0,
     Cause::kTimeout},
    // Reset.
    {Phase::kQuery, "",
     "server closed the connection unexpectedly\n\tThis probably means the server terminated "
     "abnormally\n\tbefore or while processing the request.\n",
     0, Cause::kReset},
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: server closed the connection "
     "unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while "
     "processing the request.\n",
     0, Cause::kReset},
    {Phase::kQuery, "", "could not receive data from server: Connection reset by peer\n", 0,
     Cause::kReset},
    {Phase::kQuery, "", "no connection to the server\n", 0, Cause::kReset},
    {Phase::kConnect, "", "", ECONNRESET, Cause::kReset},
    {Phase::kQuery, "57P01",
     "FATAL:  57P01: terminating connection due to unexpected postmaster exit\n", 0, Cause::kReset},
    // DNS.
    {Phase::kDns, "",
     "could not translate host name \"nohost.invalid\" to address: Name or service not known\n", 0,
     Cause::kDns},
    {Phase::kDns, "",
     "could not translate host name \"db\" to address: Temporary failure in name resolution\n", 0,
     Cause::kDns},
    // TLS.
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: server does not support SSL, but "
     "SSL was required\n",
     0, Cause::kTls},
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: SSL error: certificate verify "
     "failed\n",
     0, Cause::kTls},
    {Phase::kStartup, "", "SSL SYSCALL error: EOF detected\n", 0, Cause::kTls},
    // verify-full with a certificate for another name, and verify-ca without a CA file, as
    // libpq 15 says them (tests/integration/test_tls_targets.cpp sees both from a real server).
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: server certificate for "
     "\"localhost\" does not match host name \"127.0.0.1\"\n",
     0, Cause::kTls},
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: root certificate file "
     "\"/root/.postgresql/root.crt\" does not exist\nEither provide the file or change sslmode to "
     "disable server certificate verification.\n",
     0, Cause::kTls},
    // Starting up / recovery / standby, with and without SQLSTATE.
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
     "starting up\n",
     0, Cause::kStartingUp},
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  57P03: the database "
     "system is starting up\nLOCATION:  ProcessStartupPacket, postmaster.c:2461\n",
     0, Cause::kStartingUp},
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
     "not accepting connections\nDETAIL:  Hot standby mode is disabled.\n",
     0, Cause::kStartingUp},
    {Phase::kStartup, "57P03",
     "FATAL:  the database system is not yet accepting connections\nDETAIL:  Consistent "
     "recovery state has not been yet reached.\n",
     0, Cause::kStartingUp},
    {Phase::kStartup, "", "FATAL:  the database system is in recovery mode\n", 0,
     Cause::kStartingUp},
    // Shutting down.
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
     "shutting down\n",
     0, Cause::kShuttingDown},
    {Phase::kStartup, "57P03", "FATAL:  the database system is shutting down\n", 0,
     Cause::kShuttingDown},
    {Phase::kQuery, "57P01", "FATAL:  terminating connection due to administrator command\n", 0,
     Cause::kShuttingDown},
    {Phase::kQuery, "",
     "FATAL:  terminating connection due to administrator command\nserver closed the connection "
     "unexpectedly\n",
     0, Cause::kShuttingDown},
    {Phase::kQuery, "57P02",
     "FATAL:  terminating connection because of crash of another server process\n", 0,
     Cause::kShuttingDown},
    // Too many connections.
    {Phase::kStartup, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients "
     "already\n",
     0, Cause::kTooManyConnections},
    {Phase::kAuth, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  remaining connection "
     "slots are reserved for non-replication superuser connections\n",
     0, Cause::kTooManyConnections},
    {Phase::kAuth, "",
     "FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute\n", 0,
     Cause::kTooManyConnections},
    {Phase::kAuth, "53300", "FATAL:  too many connections for role \"app\"\n", 0,
     Cause::kTooManyConnections},
    // Authentication.
    {Phase::kAuth, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication "
     "failed for user \"pgvigil\"\n",
     0, Cause::kAuthFailed},
    {Phase::kAuth, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password "
     "authentication failed for user \"pgvigil\"\nLOCATION:  auth_failed, auth.c:326\n",
     0, Cause::kAuthFailed},
    {Phase::kAuth, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: fe_sendauth: no password "
     "supplied\n",
     0, Cause::kAuthFailed},
    {Phase::kAuth, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  no pg_hba.conf entry for "
     "host \"127.0.0.1\", user \"x\", database \"postgres\", no encryption\n",
     0, Cause::kAuthFailed},
    {Phase::kAuth, "28000", "FATAL:  role \"nobody\" does not exist\n", 0, Cause::kAuthFailed},
    {Phase::kAuth, "", "FATAL:  role \"nobody\" does not exist\n", 0, Cause::kAuthFailed},
    // Missing database.
    {Phase::kAuth, "",
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"nodb\" does "
     "not exist\n",
     0, Cause::kNoDatabase},
    {Phase::kAuth, "3D000", "FATAL:  database \"nodb\" does not exist\n", 0, Cause::kNoDatabase},
    // Query errors.
    {Phase::kQuery, "42P01",
     "ERROR:  relation \"nope\" does not exist\nLINE 1: SELECT * FROM nope\n", 0,
     Cause::kQueryError},
    {Phase::kQuery, "42601", "ERROR:  syntax error at or near \"SELEC\"\n", 0, Cause::kQueryError},
    {Phase::kQuery, "", "ERROR:  42883: function nope() does not exist\n", 0, Cause::kQueryError},
    {Phase::kQuery, "25006", "ERROR:  cannot execute CREATE TABLE in a read-only transaction\n", 0,
     Cause::kQueryError},
    // Protocol and anything unknown.
    {Phase::kStartup, "", "expected authentication request from server, but received H\n", 0,
     Cause::kInternal},
    {Phase::kQuery, "", "out of memory\n", 0, Cause::kInternal},
    {Phase::kStartup, "08P01", "FATAL:  invalid length of startup packet\n", 0, Cause::kInternal},
    {Phase::kConnect, "08006", "could not connect\n", 0, Cause::kRefused},
    {Phase::kQuery, "08006", "connection failure\n", 0, Cause::kReset},
};
}  // namespace

BOOST_AUTO_TEST_SUITE(classify_cause)

BOOST_AUTO_TEST_CASE(every_real_message_maps_to_its_cause) {
  int i = 0;
  for (const auto& c : kCases) {
    Cause got = classify(c.phase, c.sqlstate, c.message, c.err);
    BOOST_TEST(name(got) == name(c.want), "case " << i << " (" << c.message << ")");
    ++i;
  }
}

BOOST_AUTO_TEST_CASE(never_none) {
  BOOST_TEST(name(classify(Phase::kNone, "", "", 0)) == name(Cause::kInternal));
  BOOST_TEST(name(classify(Phase::kDns, "", "", 0)) == name(Cause::kDns));
}

BOOST_AUTO_TEST_CASE(sqlstate_beats_text) {
  // The SQLSTATE decides even when the text would say otherwise.
  BOOST_TEST(name(classify(Phase::kAuth, "53300", "anything at all", 0)) ==
             name(Cause::kTooManyConnections));
  BOOST_TEST(name(classify(Phase::kAuth, "28P01", "anything at all", 0)) ==
             name(Cause::kAuthFailed));
  BOOST_TEST(name(classify(Phase::kAuth, "3D000", "anything at all", 0)) ==
             name(Cause::kNoDatabase));
  BOOST_TEST(name(classify(Phase::kStartup, "57P03", "anything at all", 0)) ==
             name(Cause::kStartingUp));
  BOOST_TEST(name(classify(Phase::kQuery, "57P01", "anything at all", 0)) ==
             name(Cause::kShuttingDown));
  BOOST_TEST(name(classify(Phase::kQuery, "22012", "ERROR:  division by zero", 0)) ==
             name(Cause::kQueryError));
}

BOOST_AUTO_TEST_CASE(sqlstate_is_read_from_verbose_messages) {
  BOOST_TEST(sqlstateFromMessage("connection to server at \"127.0.0.1\", port 5432 failed: "
                                 "FATAL:  57P03: the database system is starting up\n") == "57P03");
  BOOST_TEST(sqlstateFromMessage("ERROR:  42P01: relation \"x\" does not exist") == "42P01");
  BOOST_TEST(sqlstateFromMessage("FATAL:  the database system is starting up") == "");
  BOOST_TEST(sqlstateFromMessage("Connection refused") == "");
}

BOOST_AUTO_TEST_SUITE_END()
