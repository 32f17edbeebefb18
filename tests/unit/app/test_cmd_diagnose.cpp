// `pgvigil diagnose`: libpq's messages map to the right problem and cause, and each problem gets
// the remedy an operator needs (no Postgres, no network).
#include <boost/test/unit_test.hpp>
#include <string>

#include "app/cmd_diagnose.h"
#include "core/redact.h"

using namespace pgvigil;

namespace {

// Real PostgreSQL 15 / libpq messages, as PQerrorMessage returns them.
const char* kRefused =
    "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n"
    "\tIs the server running on that host and accepting TCP/IP connections?\n";
const char* kNoSocket =
    "connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such file "
    "or directory\n\tIs the server running locally and accepting connections on that socket?\n";
const char* kStartingUp =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
    "starting up\n";
const char* kNotYet =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is not "
    "yet accepting connections\nDETAIL:  Consistent recovery state has not been yet reached.\n";
const char* kHotStandbyOff =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is not "
    "accepting connections\nDETAIL:  Hot standby mode is disabled.\n";
const char* kShutdown =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
    "shutting down\n";
const char* kTooMany =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients "
    "already\n";
const char* kReservedSlots =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  remaining connection slots "
    "are reserved for non-replication superuser connections\n";
const char* kPassword =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication "
    "failed for user \"pgvigil\"\n";
const char* kNoPassword =
    "connection to server at \"127.0.0.1\", port 5432 failed: fe_sendauth: no password supplied\n";
const char* kHba =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  no pg_hba.conf entry for "
    "host \"127.0.0.1\", user \"pgvigil\", database \"postgres\", no encryption\n";
const char* kHbaReject =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  pg_hba.conf rejects "
    "connection for host \"127.0.0.1\", user \"x\", database \"postgres\", no encryption\n";
const char* kNoDb =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"nosuch\" does "
    "not exist\n";
const char* kNoRole =
    "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  role \"ghost\" does not "
    "exist\n";
const char* kPeer =
    "connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  Peer "
    "authentication failed for user \"postgres\"\n";
const char* kNoSsl =
    "connection to server at \"127.0.0.1\", port 5432 failed: server does not support SSL, but "
    "SSL was required\n";
const char* kRootCert =
    "connection to server at \"127.0.0.1\", port 5432 failed: root certificate file "
    "\"/root/.postgresql/root.crt\" does not exist\nEither provide the file, use the system's "
    "trusted roots with sslrootcert=system, or change sslmode to disable server certificate "
    "verification.\n";
const char* kClosed =
    "connection to server at \"127.0.0.1\", port 5432 failed: server closed the connection "
    "unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while "
    "processing the request.\n";
const char* kDns =
    "could not translate host name \"nosuch.invalid\" to address: Name or service not known\n";

TargetFacts facts() {
  TargetFacts f;
  f.name = "main";
  f.host = "127.0.0.1";
  f.address = "127.0.0.1";
  f.port = 5432;
  f.user = "pgvigil";
  f.dbname = "postgres";
  f.password_source = "PGPASSWORD";
  return f;
}

std::string all(const Advice& a) {
  std::string s = a.explanation + "\n";
  for (const auto& r : a.remedies) s += r + "\n";
  return s;
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cmd_diagnose)

BOOST_AUTO_TEST_CASE(libpq_messages_map_to_problems) {
  struct Case {
    const char* message;
    Problem problem;
    Cause cause;
  } cases[] = {
      {kRefused, Problem::kRefused, Cause::kRefused},
      {kNoSocket, Problem::kNoSocket, Cause::kRefused},
      {kStartingUp, Problem::kStartingUp, Cause::kStartingUp},
      {kNotYet, Problem::kStartingUp, Cause::kStartingUp},
      {kHotStandbyOff, Problem::kHotStandbyOff, Cause::kStartingUp},
      {kShutdown, Problem::kShuttingDown, Cause::kShuttingDown},
      {kTooMany, Problem::kTooManyConnections, Cause::kTooManyConnections},
      {kReservedSlots, Problem::kTooManyConnections, Cause::kTooManyConnections},
      {kPassword, Problem::kPasswordFailed, Cause::kAuthFailed},
      {kNoPassword, Problem::kNoPassword, Cause::kAuthFailed},
      {kHba, Problem::kHbaNoEntry, Cause::kAuthFailed},
      {kHbaReject, Problem::kHbaReject, Cause::kAuthFailed},
      {kNoDb, Problem::kNoDatabase, Cause::kNoDatabase},
      {kNoRole, Problem::kRoleMissing, Cause::kAuthFailed},
      {kPeer, Problem::kPeerAuthFailed, Cause::kAuthFailed},
      {kNoSsl, Problem::kTlsNotOffered, Cause::kTls},
      {kRootCert, Problem::kTlsCertificate, Cause::kTls},
      {kClosed, Problem::kReset, Cause::kReset},
      {kDns, Problem::kDnsFailure, Cause::kDns},
      {"something nobody has seen", Problem::kInternal, Cause::kInternal},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.message) {
      BOOST_TEST(toString(classifyConnectionError(c.message)) == toString(c.problem));
      BOOST_TEST(toString(causeOf(classifyConnectionError(c.message))) == toString(c.cause));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_stopped_service_gets_the_start_commands_of_each_platform) {
  Advice a = adviceFor(Problem::kRefused, facts());
  std::string s = all(a);
  BOOST_TEST(contains(a.explanation, "127.0.0.1:5432"));
  BOOST_TEST(contains(s, "systemctl start postgresql@15-main"));
  BOOST_TEST(contains(s, "docker start"));
  BOOST_TEST(contains(s, "net start postgresql-x64-15"));
  BOOST_TEST(contains(s, "tried port 5432"));
  BOOST_TEST(contains(s, "`port` in postgresql.conf"));
  BOOST_TEST(contains(s, "listen_addresses"));
}

BOOST_AUTO_TEST_CASE(the_start_command_names_the_configured_service) {
  TargetFacts f = facts();
  f.restart.method = RestartMethod::kSystemd;
  f.restart.unit = "pg-main.service";
  BOOST_TEST(contains(all(adviceFor(Problem::kRefused, f)), "systemctl start pg-main.service"));
  f.restart.method = RestartMethod::kDocker;
  f.restart.container = "pgc";
  BOOST_TEST(contains(all(adviceFor(Problem::kRefused, f)), "docker start pgc"));
  f.restart.method = RestartMethod::kWindowsService;
  f.restart.service = "postgresql-x64-16";
  BOOST_TEST(contains(all(adviceFor(Problem::kRefused, f)), "net start postgresql-x64-16"));
  // A hung server is restarted, not started.
  f.restart.method = RestartMethod::kSystemd;
  BOOST_TEST(
      contains(all(adviceFor(Problem::kStartupTimeout, f)), "systemctl restart pg-main.service"));
}

BOOST_AUTO_TEST_CASE(refused_with_a_local_socket_points_at_listen_addresses_or_the_port) {
  TargetFacts f = facts();
  f.local_socket_on_port = true;
  std::string s = all(adviceFor(Problem::kNoListenerTcp, f));
  BOOST_TEST(contains(s, "listen_addresses = 'localhost'"));
  BOOST_TEST(contains(s, "restart"));
  f.local_socket_on_port = false;
  f.other_ports = {5433};
  s = all(adviceFor(Problem::kWrongPort, f));
  BOOST_TEST(contains(s, "port 5432"));
  BOOST_TEST(contains(s, "port 5433"));
  BOOST_TEST(contains(s, "set port=5433"));
}

BOOST_AUTO_TEST_CASE(auth_problems_say_which_file_or_command_fixes_them) {
  TargetFacts f = facts();
  std::string hba = all(adviceFor(Problem::kHbaNoEntry, f, "no encryption"));
  BOOST_TEST(contains(hba, "pg_hba.conf"));
  BOOST_TEST(contains(hba, "host    postgres   pgvigil   127.0.0.1/32   scram-sha-256"));
  BOOST_TEST(contains(hba, "pg_reload_conf()"));

  std::string pw = all(adviceFor(Problem::kPasswordFailed, f));
  BOOST_TEST(contains(pw, "PGPASSWORD"));
  BOOST_TEST(contains(pw, ".pgpass"));
  BOOST_TEST(contains(pw, "127.0.0.1:5432:postgres:pgvigil:PASSWORD"));
  BOOST_TEST(contains(pw, "via PGPASSWORD"));

  f.passfile_problem = "/root/.pgpass has group or world access, so libpq ignores it";
  BOOST_TEST(contains(all(adviceFor(Problem::kNoPassword, f)), "libpq ignores it"));

  BOOST_TEST(contains(all(adviceFor(Problem::kNoDatabase, f)), "createdb -O pgvigil postgres"));
  BOOST_TEST(contains(all(adviceFor(Problem::kRoleMissing, f)), "CREATE ROLE pgvigil LOGIN"));
  BOOST_TEST(contains(all(adviceFor(Problem::kPeerAuthFailed, f)), "pg_ident.conf"));
}

BOOST_AUTO_TEST_CASE(unix_socket_hba_line_is_local) {
  TargetFacts f = facts();
  f.unix_socket = true;
  f.host = "/var/run/postgresql";
  f.socket_path = "/var/run/postgresql/.s.PGSQL.5432";
  BOOST_TEST(contains(all(adviceFor(Problem::kHbaNoEntry, f)),
                      "local   postgres   pgvigil   scram-sha-256"));
  BOOST_TEST(
      contains(adviceFor(Problem::kNoSocket, f).explanation, "/var/run/postgresql/.s.PGSQL.5432"));
}

BOOST_AUTO_TEST_CASE(recovery_and_standby_say_wait_and_how_to_see_progress) {
  std::string s = all(adviceFor(Problem::kStartingUp, facts()));
  BOOST_TEST(contains(s, "wait"));
  BOOST_TEST(contains(s, "redo in progress"));
  BOOST_TEST(contains(s, "pg_controldata"));
  BOOST_TEST(contains(s, "recovery_grace (10m)"));
  std::string h = all(adviceFor(Problem::kHotStandbyOff, facts()));
  BOOST_TEST(contains(h, "hot_standby = on"));
  BOOST_TEST(contains(h, "pg_stat_replication"));
}

BOOST_AUTO_TEST_CASE(saturation_advice_depends_on_the_server_version) {
  TargetFacts f = facts();
  f.server_version_num = 160002;
  std::string s16 = all(adviceFor(Problem::kTooManyConnections, f));
  BOOST_TEST(contains(s16, "GRANT pg_use_reserved_connections TO pgvigil"));
  BOOST_TEST(contains(s16, "superuser_reserved_connections"));
  BOOST_TEST(contains(s16, "state LIKE 'idle%'"));
  BOOST_TEST(contains(s16, "pg_terminate_backend"));
  f.server_version_num = 150004;
  std::string s15 = all(adviceFor(Problem::kSaturated, f, "96% of 97 usable"));
  BOOST_TEST(contains(s15, "pg_use_reserved_connections"));
  BOOST_TEST(contains(s15, "(this server is 15: upgrade for it)"));
  BOOST_TEST(!contains(s16, "upgrade for it"));
  BOOST_TEST(contains(s15, "superuser_reserved_connections"));
  BOOST_TEST(contains(s15, "96% of 97 usable"));
}

BOOST_AUTO_TEST_CASE(tls_and_timeouts) {
  TargetFacts f = facts();
  f.sslmode = "require";
  BOOST_TEST(contains(all(adviceFor(Problem::kTlsNotOffered, f)), "ssl = on"));
  BOOST_TEST(contains(adviceFor(Problem::kTlsNotOffered, f).explanation, "sslmode=require"));
  BOOST_TEST(contains(all(adviceFor(Problem::kTlsCertificate, f)), "sslrootcert"));
  f.timeout = std::chrono::milliseconds{1500};
  std::string t = all(adviceFor(Problem::kStartupTimeout, f));
  BOOST_TEST(contains(t, "within 1500ms"));
  BOOST_TEST(contains(t, "postmaster"));
  BOOST_TEST(contains(t, "kill -CONT"));
}

BOOST_AUTO_TEST_CASE(every_problem_has_an_explanation_and_a_remedy) {
  for (int i = int(Problem::kDnsFailure); i <= int(Problem::kInternal); ++i) {
    const Problem p = static_cast<Problem>(i);
    TargetFacts f = facts();
    f.other_ports = {5433};
    Advice a = adviceFor(p, f, "detail");
    BOOST_TEST_CONTEXT(toString(p)) {
      BOOST_TEST(!a.explanation.empty());
      BOOST_TEST(!a.remedies.empty());
    }
  }
}

// diagnose passes everything it prints through redactSecrets(): advice that looked like a secret
// (`password: X`, `password=X`) would come out masked.
BOOST_AUTO_TEST_CASE(advice_survives_the_redactor_unchanged) {
  for (int i = int(Problem::kDnsFailure); i <= int(Problem::kInternal); ++i) {
    const Problem p = static_cast<Problem>(i);
    TargetFacts f = facts();
    f.other_ports = {5433};
    f.passfile_problem = "/root/.pgpass has group or world access, so libpq ignores it";
    const std::string text = all(adviceFor(p, f, "detail"));
    BOOST_TEST_CONTEXT(toString(p)) {
      BOOST_TEST(redactSecrets(text, {}) == text);
    }
  }
}

BOOST_AUTO_TEST_CASE(step_lines_show_mark_word_timing_cause_and_remedy) {
  StepReport ok;
  ok.step = "tcp";
  ok.status = StepStatus::kPass;
  ok.took = std::chrono::microseconds{230};
  ok.detail = "connected to 127.0.0.1:5432";
  BOOST_TEST(formatStep(ok) == "\u2713 tcp       OK      0.2ms  connected to 127.0.0.1:5432\n");

  StepReport bad;
  bad.step = "auth";
  bad.status = StepStatus::kFail;
  bad.took = std::chrono::microseconds{1'520'000};
  bad.detail = "password authentication failed for user \"pgvigil\"";
  bad.cause = Cause::kAuthFailed;
  bad.phase = Phase::kAuth;
  bad.advice = {"the server rejected the password", {"set PGPASSWORD", "or ~/.pgpass"}};
  BOOST_TEST(formatStep(bad) ==
             "\u2717 auth      FAIL    1.52s  password authentication failed for user \"pgvigil\"\n"
             "    cause:  auth_failed (phase auth): the server rejected the password\n"
             "    remedy: set PGPASSWORD\n"
             "    remedy: or ~/.pgpass\n");

  StepReport skipped;
  skipped.step = "query";
  skipped.detail = "not run: an earlier step failed";
  BOOST_TEST(formatStep(skipped) == "- query     SKIP           not run: an earlier step failed\n");
}

BOOST_AUTO_TEST_SUITE_END()
