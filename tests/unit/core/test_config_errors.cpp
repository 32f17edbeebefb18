// Every validation error of docs/reference.md §2, each at its exact FILE:LINE:COL, with a
// suggestion for misspelt keys, and all of them in one pass.
#include <boost/test/unit_test.hpp>

#include "core/config_loader.h"

using namespace pgvigil;

namespace {

// A valid target that each case below breaks in one place. Line 1 is "targets:".
std::string withTarget(const std::string& extraTargetLines, const std::string& before = "") {
  return before + "targets:\n  - name: main\n    conninfo: \"host=127.0.0.1\"\n" + extraTargetLines;
}

struct Case {
  std::string yaml;
  std::string expected;  ///< the whole error line
};

void expectOneError(const Case& c) {
  auto r = loadConfigString(c.yaml, "t.yaml", Env::none());
  BOOST_TEST_INFO("yaml:\n" << c.yaml);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u, formatErrors(r.errors));
  BOOST_TEST(r.errors[0].toString() == c.expected);
  BOOST_TEST(!r.config.has_value());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_errors)

BOOST_AUTO_TEST_CASE(unknown_keys_suggest_the_closest) {
  expectOneError({withTarget("    intervl: 5s\n"),
                  "t.yaml:4:5: targets[0]: unknown key 'intervl'; did you mean 'interval'?"});
  expectOneError({withTarget("    tiemout: 2s\n"),
                  "t.yaml:4:5: targets[0]: unknown key 'tiemout'; did you mean 'timeout'?"});
  expectOneError({withTarget("    restart:\n      backof: { initial: 1s }\n"),
                  "t.yaml:5:7: targets[0].restart: unknown key 'backof'; did you mean 'backoff'?"});
  expectOneError({withTarget("    checks:\n      connections: { warning: 80% }\n"),
                  "t.yaml:5:22: targets[0].checks.connections: unknown key 'warning'; did you "
                  "mean 'warn'?"});
  expectOneError({withTarget("    colour: blue\n"),
                  "t.yaml:4:5: targets[0]: unknown key 'colour' (expected one of: name, "
                  "conninfo, url, host, port, dbname, user, password, interval, timeout, "
                  "unhealthy_after, healthy_after, checks, restart, recovery, "
                  "application_name, monitoring_session, tls_expiry_warning)"});
  expectOneError({withTarget("", "agent:\n  listn: \"127.0.0.1:1\"\n"),
                  "t.yaml:2:3: agent: unknown key 'listn'; did you mean 'listen'?"});
  expectOneError({withTarget("", "defaults:\n  unhealty_after: 2\n"),
                  "t.yaml:2:3: defaults: unknown key 'unhealty_after'; did you mean "
                  "'unhealthy_after'?"});
  expectOneError({withTarget("    <<: {interval: 5s}\n"),
                  "t.yaml:4:5: targets[0]: unknown key '<<': YAML merge keys are not supported; "
                  "put shared keys under defaults:"});
  expectOneError({withTarget("", "target: []\n"),
                  "t.yaml:1:1: unknown top-level key 'target'; did you mean 'targets'?"});
  expectOneError({withTarget("", "interval: 5s\n"),
                  "t.yaml:1:1: unknown top-level key 'interval'; target keys go under "
                  "defaults: or under a target in targets:"});
  expectOneError({withTarget("", "listen: \"127.0.0.1:1\"\n"),
                  "t.yaml:1:1: unknown top-level key 'listen'; it belongs under agent:"});
}

BOOST_AUTO_TEST_CASE(wrong_types) {
  expectOneError({withTarget("    interval: { every: 5s }\n"),
                  "t.yaml:4:15: targets[0].interval: expected a duration such as 5s, got a "
                  "mapping"});
  expectOneError({withTarget("    unhealthy_after: abc\n"),
                  "t.yaml:4:22: targets[0].unhealthy_after: expected a whole number, got 'abc'"});
  expectOneError({withTarget("    healthy_after: 2.5\n"),
                  "t.yaml:4:20: targets[0].healthy_after: expected a whole number, got '2.5'"});
  expectOneError({withTarget("    checks:\n      tcp: maybe\n"),
                  "t.yaml:5:12: targets[0].checks.tcp: expected true or false, got 'maybe'"});
  expectOneError({withTarget("    checks:\n      query: true\n"),
                  "t.yaml:5:14: targets[0].checks.query: expected an SQL query such as \"SELECT "
                  "1\" or false, got 'true'"});
  expectOneError({withTarget("    checks:\n      query: \"\"\n"),
                  "t.yaml:5:14: targets[0].checks.query: empty query; write `query: false` to "
                  "turn the liveness query off"});
  expectOneError({withTarget("    checks: [tcp]\n"),
                  "t.yaml:4:13: targets[0].checks: expected a mapping with tcp, query, "
                  "connections, got a list"});
  expectOneError(
      {withTarget("    restart:\n      command: /usr/bin/pg_ctlcluster 15 main restart\n"),
       "t.yaml:5:16: targets[0].restart.command: expected a list of strings (argv, "
       "never run through a shell), such as [\"/usr/bin/pg_ctlcluster\", \"15\", "
       "\"main\", \"restart\"], got a plain value"});
  expectOneError({withTarget("    restart:\n      command: [\"/bin/x\", [nested]]\n"),
                  "t.yaml:5:27: targets[0].restart.command: expected a string, got a list"});
  expectOneError({withTarget("    restart:\n      backoff: { multiplier: two }\n"),
                  "t.yaml:5:30: targets[0].restart.backoff.multiplier: expected a number such as "
                  "2 or 1.5, got 'two'"});
  expectOneError({withTarget("", "agent:\n  log: stdout\n"),
                  "t.yaml:2:8: agent.log: expected a mapping with format, output, file, rotate, "
                  "level, got a plain value"});
  expectOneError(
      {withTarget("", "agent: [listen]\n"), "t.yaml:1:8: agent: expected a mapping, got a list"});
  expectOneError({"targets:\n  main:\n    conninfo: host=x\n",
                  "t.yaml:2:3: targets: expected a list (each item starting with '- name: "
                  "...'), got a mapping"});
  expectOneError({"targets:\n  - main\n",
                  "t.yaml:2:5: targets[0]: expected a mapping with name, conninfo and other "
                  "target keys, got a plain value"});
}

BOOST_AUTO_TEST_CASE(bad_values) {
  expectOneError({withTarget("    interval: 5\n"),
                  "t.yaml:4:15: targets[0].interval: missing unit in duration '5'; expected a "
                  "duration such as 250ms, 5s, 2m, 1h or 1h30m"});
  expectOneError({withTarget("    interval: -5s\n"),
                  "t.yaml:4:15: targets[0].interval: negative duration '-5s' is not allowed"});
  expectOneError({withTarget("    interval: 5 seconds\n"),
                  "t.yaml:4:15: targets[0].interval: missing unit in duration '5 seconds'; "
                  "expected a duration such as 250ms, 5s, 2m, 1h or 1h30m"});
  expectOneError({withTarget("    checks:\n      connections: { warn: 80 }\n"),
                  "t.yaml:5:28: targets[0].checks.connections.warn: missing '%' in percentage "
                  "'80' (write 80%)"});
  expectOneError({withTarget("", "agent:\n  log: { rotate: { size: 10XB } }\n"),
                  "t.yaml:2:26: agent.log.rotate.size: unknown unit 'XB' in size '10XB'; units "
                  "are B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB"});
  expectOneError({withTarget("    restart:\n      method: sytemd\n"),
                  "t.yaml:5:15: targets[0].restart.method: unknown restart method 'sytemd' "
                  "(expected none, command, systemd, windows-service, docker); did you mean "
                  "'systemd'?"});
  expectOneError({withTarget("", "agent:\n  log: { format: jsno }\n"),
                  "t.yaml:2:18: agent.log.format: unknown log format 'jsno' (expected text, "
                  "json); did you mean 'json'?"});
  expectOneError({withTarget("", "agent:\n  log: { output: stdot }\n"),
                  "t.yaml:2:18: agent.log.output: unknown log output 'stdot' (expected stdout, "
                  "stderr, file, syslog, journald, eventlog); did you mean 'stdout'?"});
  expectOneError({withTarget("", "agent:\n  log: { level: verbose }\n"),
                  "t.yaml:2:17: agent.log.level: unknown log level 'verbose' (expected debug, "
                  "info, warning, error)"});
  expectOneError({"targets:\n  - name: Main_DB\n    conninfo: host=x\n",
                  "t.yaml:2:11: targets[0].name: invalid target name 'Main_DB': use only a-z, "
                  "0-9, '_' and '-'"});
  expectOneError({"targets:\n  - name: main\n    conninfo: \"\"\n",
                  "t.yaml:3:15: targets[0].conninfo: must not be empty; libpq keywords "
                  "(host=... dbname=...) or a postgresql:// URI"});
  expectOneError({withTarget("    restart:\n      docker_host: ftp://x\n"),
                  "t.yaml:5:20: targets[0].restart.docker_host: invalid docker_host 'ftp://x'; "
                  "expected unix:///var/run/docker.sock, npipe:////./pipe/docker_engine or "
                  "tcp://HOST:PORT"});
  expectOneError({withTarget("    application_name: \"\"\n"),
                  "t.yaml:4:23: targets[0].application_name: must not be empty"});
}

BOOST_AUTO_TEST_CASE(out_of_range_values) {
  expectOneError({withTarget("    timeout: 5s\n"),
                  "t.yaml:4:14: targets[0].timeout: timeout (5s) must be shorter than interval "
                  "(5s)"});
  expectOneError({withTarget("    interval: 2s\n"),
                  "t.yaml:4:15: targets[0].interval: timeout (3s) must be shorter than interval "
                  "(2s)"});
  expectOneError({withTarget("    interval: 50ms\n    timeout: 10ms\n"),
                  "t.yaml:4:15: targets[0].interval: must be at least 100ms, got 50ms"});
  expectOneError({withTarget("    unhealthy_after: 0\n"),
                  "t.yaml:4:22: targets[0].unhealthy_after: must be between 1 and 1000, got 0"});
  expectOneError({withTarget("    healthy_after: -1\n"),
                  "t.yaml:4:20: targets[0].healthy_after: must be between 1 and 1000, got -1"});
  expectOneError({withTarget("    checks:\n      connections: { warn: 95%, critical: 90% }\n"),
                  "t.yaml:5:28: targets[0].checks.connections.warn: warn (95%) must be lower "
                  "than critical (90%)"});
  expectOneError({withTarget("    checks:\n      connections: { critical: 50% }\n"),
                  "t.yaml:5:32: targets[0].checks.connections.critical: warn (80%) must be lower "
                  "than critical (50%)"});
  expectOneError({withTarget("    checks:\n      connections: { warn: 120% }\n"),
                  "t.yaml:5:28: targets[0].checks.connections.warn: percentage '120%' is out of "
                  "range; expected 0% to 100%"});
  expectOneError({withTarget("    restart:\n      backoff: { multiplier: 0.5 }\n"),
                  "t.yaml:5:30: targets[0].restart.backoff.multiplier: must be between 1 and "
                  "100, got 0.5"});
  expectOneError({withTarget("    restart:\n      backoff: { jitter: 150% }\n"),
                  "t.yaml:5:26: targets[0].restart.backoff.jitter: percentage '150%' is out of "
                  "range; expected 0% to 100%"});
  expectOneError({withTarget("    restart:\n      backoff: { initial: 10m, max: 1m }\n"),
                  "t.yaml:5:37: targets[0].restart.backoff.max: backoff max (1m) must not be "
                  "shorter than initial (10m)"});
  expectOneError({withTarget("    restart:\n      budget: { max: 0 }\n"),
                  "t.yaml:5:22: targets[0].restart.budget.max: must be between 1 and 1000, got 0"});
  expectOneError({withTarget("    restart:\n      timeout: 0s\n"),
                  "t.yaml:5:16: targets[0].restart.timeout: must be greater than 0"});
  expectOneError({withTarget("", "agent:\n  log: { rotate: { keep: 0 } }\n"),
                  "t.yaml:2:26: agent.log.rotate.keep: must be between 1 and 1000, got 0"});
}

BOOST_AUTO_TEST_CASE(restart_methods_need_their_target) {
#ifdef __linux__
  expectOneError({withTarget("    restart:\n      method: systemd\n"),
                  "t.yaml:5:15: targets[0].restart.method: method systemd needs restart.unit "
                  "(e.g. postgresql@15-main.service)"});
#endif
#ifdef _WIN32
  expectOneError({withTarget("    restart:\n      method: windows-service\n"),
                  "t.yaml:5:15: targets[0].restart.method: method windows-service needs "
                  "restart.service (e.g. postgresql-x64-15)"});
#endif
#ifndef _WIN32
  expectOneError({withTarget("    restart:\n      method: docker\n"),
                  "t.yaml:5:15: targets[0].restart.method: method docker needs "
                  "restart.container (a container name or id)"});
#endif
  expectOneError({withTarget("    restart:\n      method: command\n      command: []\n"),
                  "t.yaml:5:15: targets[0].restart.method: method command needs "
                  "restart.command (an argv list such as [\"/usr/bin/pg_ctlcluster\", \"15\", "
                  "\"main\", \"restart\"])"});
#ifdef __linux__
  // Method in defaults, unit in the target: fine once merged.
  auto r = loadConfigString("defaults:\n  restart: { method: systemd }\n" +
                                withTarget("    restart: { unit: postgresql@15-main.service }\n"),
                            "t.yaml", Env::none());
  BOOST_TEST(r.ok(), formatErrors(r.errors));
#endif
}

// Issue 9 / docs/reference.md §8: a method this build cannot perform is an error at the method,
// naming what it does support, instead of validating and then doing nothing until the budget is
// spent.
BOOST_AUTO_TEST_CASE(restart_methods_this_build_cannot_perform) {
#if defined(__linux__)
  const std::string supported = "none, command, systemd, docker";
  const std::string platform = "Linux";
  const std::vector<std::string> unavailable{"windows-service"};
#elif defined(_WIN32)
  // Docker's named pipe has no transport on Windows (docs/windows.md).
  const std::string supported = "none, command, windows-service";
  const std::string platform = "Windows";
  const std::vector<std::string> unavailable{"systemd", "docker"};
#else
  const std::string supported = "none, command, docker";
  const std::string platform = "this platform";
  const std::vector<std::string> unavailable{"systemd", "windows-service"};
#endif
  for (const auto& m : unavailable) {
    BOOST_TEST_CONTEXT(m) {
      // With and without the method's own key: one error, at the method's value.
      expectOneError({withTarget("    restart:\n      method: " + m + "\n"),
                      "t.yaml:5:15: targets[0].restart.method: method " + m +
                          " is not available in this build (" + platform +
                          "); this build supports " + supported});
      expectOneError({withTarget("    restart:\n      method: " + m +
                                 "\n      unit: x.service\n      service: x\n"),
                      "t.yaml:5:15: targets[0].restart.method: method " + m +
                          " is not available in this build (" + platform +
                          "); this build supports " + supported});
      // From defaults, the error points at the defaults' line.
      expectOneError({"defaults:\n  restart: { method: " + m + " }\n" + withTarget(""),
                      "t.yaml:2:22: targets[0].restart.method: method " + m +
                          " is not available in this build (" + platform +
                          "); this build supports " + supported});
    }
  }
  // The ones it supports still load.
  std::vector<std::string> loads{"    restart: { method: none }\n",
                                  "    restart: { method: command, command: [/bin/true] }\n"};
#ifndef _WIN32
  loads.push_back("    restart: { method: docker, container: pg }\n");
#endif
  for (const auto& extra : loads) {
    auto r = loadConfigString(withTarget(extra), "t.yaml", Env::none());
    BOOST_TEST(r.ok(), formatErrors(r.errors));
  }
}

BOOST_AUTO_TEST_CASE(targets_names_and_listen) {
  expectOneError({"agent: {}\n",
                  "t.yaml:1:1: no targets: add at least one under targets: "
                  "(name and conninfo)"});
  expectOneError({"targets: []\n",
                  "t.yaml:1:10: no targets: add at least one under targets: "
                  "(name and conninfo)"});
  expectOneError({withTarget("  - name: main\n    conninfo: host=other\n"),
                  "t.yaml:4:11: targets[1].name: duplicate target name 'main' (first used at "
                  "line 2)"});
  expectOneError({"targets:\n  - conninfo: host=x\n", "t.yaml:2:5: targets[0]: name is required"});
  expectOneError({"targets:\n  - name: a\n",
                  "t.yaml:2:5: targets[0]: conninfo is required (libpq keywords or a "
                  "postgresql:// URI)"});
  expectOneError({withTarget("", "defaults:\n  name: shared\n"),
                  "t.yaml:2:3: defaults.name: 'name' cannot stand in defaults: every target "
                  "needs its own"});
  expectOneError({withTarget("    interval: 5s\n    interval: 6s\n"),
                  "t.yaml:5:5: targets[0].interval: duplicate key (first given at line 4)"});
  struct Listen {
    const char* value;
    const char* message;
  } listens[] = {
      {"localhost",
       "listen address 'localhost' has no port; expected host:port such as "
       "127.0.0.1:8787 or [::1]:8787"},
      {":8787",
       "listen address ':8787' has no host; write 127.0.0.1:PORT (loopback only) or "
       "0.0.0.0:PORT (every interface)"},
      {"::1:8787",
       "listen address '::1:8787': an IPv6 address needs brackets, as in "
       "[::1]:8787"},
      {"127.0.0.1:99999",
       "listen address '127.0.0.1:99999' has an invalid port (0 to 65535); "
       "expected host:port such as 127.0.0.1:8787 or [::1]:8787"},
      {"127.0.0.1:http",
       "listen address '127.0.0.1:http' has an invalid port (0 to 65535); "
       "expected host:port such as 127.0.0.1:8787 or [::1]:8787"},
      {"[::1]8787",
       "listen address '[::1]8787' is not host:port; expected host:port such as "
       "127.0.0.1:8787 or [::1]:8787"},
  };
  for (const auto& l : listens)
    expectOneError({withTarget("", std::string("agent:\n  listen: \"") + l.value + "\"\n"),
                    std::string("t.yaml:2:11: agent.listen: ") + l.message});
  for (const char* ok : {"", "127.0.0.1:8787", "[::1]:8787", "localhost:0", "0.0.0.0:80"}) {
    auto r = loadConfigString(withTarget("", std::string("agent:\n  listen: \"") + ok + "\"\n"),
                              "t.yaml", Env::none());
    BOOST_TEST(r.ok(), ok << ": " << formatErrors(r.errors));
  }
}

BOOST_AUTO_TEST_CASE(agent_cross_checks) {
  expectOneError({withTarget("", "agent:\n  tls: { cert: /etc/c.pem }\n"),
                  "t.yaml:2:16: agent.tls: cert and key go together: set both for HTTPS, or "
                  "neither"});
  expectOneError({withTarget("", "agent:\n  log: { output: file, file: \"\" }\n"),
                  "t.yaml:2:30: agent.log.file: log output 'file' needs a file path"});
}

BOOST_AUTO_TEST_CASE(every_error_is_reported_in_file_order) {
  std::string text =
      "agent:\n"                           // 1
      "  listen: nowhere\n"                // 2
      "  lgo: {}\n"                        // 3
      "defaults:\n"                        // 4
      "  intreval: 5s\n"                   // 5
      "targets:\n"                         // 6
      "  - name: a\n"                      // 7
      "    conninfo: host=a\n"             // 8
      "    timeout: 9s\n"                  // 9
      "    restart: { method: docker }\n"  // 10
      "  - name: a\n"                      // 11
      "    interval: soon\n";              // 12
  auto r = loadConfigString(text, "t.yaml", Env::none());
  std::vector<std::string> got;
  for (const auto& e : r.errors) got.push_back(e.toString());
  std::vector<std::string> expected{
      "t.yaml:2:11: agent.listen: listen address 'nowhere' has no port; expected host:port such "
      "as 127.0.0.1:8787 or [::1]:8787",
      "t.yaml:3:3: agent: unknown key 'lgo'; did you mean 'log'?",
      "t.yaml:5:3: defaults: unknown key 'intreval'; did you mean 'interval'?",
      "t.yaml:9:14: targets[0].timeout: timeout (9s) must be shorter than interval (5s)",
      "t.yaml:10:24: targets[0].restart.method: method docker needs restart.container (a "
      "container name or id)",
      "t.yaml:11:5: targets[1]: conninfo is required (libpq keywords or a postgresql:// URI)",
      "t.yaml:11:11: targets[1].name: duplicate target name 'a' (first used at line 7)",
      "t.yaml:12:15: targets[1].interval: invalid duration 'soon'; expected a duration such as "
      "250ms, 5s, 2m, 1h or 1h30m",
  };
  BOOST_TEST(got == expected, boost::test_tools::per_element());
  BOOST_TEST(!r.config.has_value());
}

BOOST_AUTO_TEST_CASE(edit_distance_and_suggestions) {
  BOOST_TEST(editDistance("interval", "interval") == 0u);
  BOOST_TEST(editDistance("intervl", "interval") == 1u);
  BOOST_TEST(editDistance("tiemout", "timeout") == 1u);  // a transposition counts once
  BOOST_TEST(editDistance("", "abc") == 3u);
  BOOST_TEST(editDistance("Interval", "interval") == 0u);
  std::vector<std::string> keys{"interval", "timeout", "unhealthy_after", "healthy_after"};
  BOOST_TEST(suggestKey("intervall", keys) == "interval");
  BOOST_TEST(suggestKey("unhealthy-after", keys) == "unhealthy_after");
  BOOST_TEST(suggestKey("zzz", keys) == "");
  BOOST_TEST(suggestKey("x", keys) == "");
}

BOOST_AUTO_TEST_SUITE_END()
