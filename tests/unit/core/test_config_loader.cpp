// Loading a configuration: defaults, the defaults: section, ${ENV}, sources, and the file-level
// failures (missing, directory, empty, not YAML).
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/config_loader.h"
#include "temp_dir.h"

using namespace pgvigil;
using pgvigil::testing::TempDir;
using namespace std::chrono_literals;

namespace {

/// Inline YAML in tests starts on the line after R"( : drop that first newline so that line 1
/// of the text is line 1 of the file.
std::string yaml(const char* text) {
  std::string s(text);
  if (!s.empty() && s[0] == '\n') s.erase(0, 1);
  return s;
}

LoadResult load(const std::string& text, const Env& env = Env::none()) {
  return loadConfigString(text, "t.yaml", env);
}

std::string allErrors(const LoadResult& r) {
  return formatErrors(r.errors);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_loader)

BOOST_AUTO_TEST_CASE(minimal_config_gets_every_default) {
  auto r = load(yaml(R"(
targets:
  - name: main
    conninfo: "host=127.0.0.1 port=5432"
)"));
  BOOST_TEST_REQUIRE(r.ok(), allErrors(r));
  const Config& c = *r.config;
  BOOST_TEST(c.path == "t.yaml");
  BOOST_TEST(c.agent.listen == "127.0.0.1:8787");
  BOOST_TEST(c.agent.state_dir == "/var/lib/pgvigil");
  BOOST_TEST(c.agent.log.rotate_size == 10'000'000u);
  BOOST_TEST(c.agent.log.rotate_keep == 5);
  BOOST_TEST((c.agent.log.level == LogLevel::kInfo));
  BOOST_TEST_REQUIRE(c.targets.size() == 1u);
  TargetConfig expected;
  expected.name = "main";
  expected.conninfo = "host=127.0.0.1 port=5432";
  BOOST_TEST((c.targets[0] == expected));
  // Every key has a source; untouched ones say default.
  BOOST_TEST((c.sources.at("agent.listen").kind == ValueSource::Kind::kDefault));
  BOOST_TEST(
      (c.sources.at("targets[0].restart.backoff.jitter").kind == ValueSource::Kind::kDefault));
  const ValueSource& name = c.sources.at("targets[0].name");
  BOOST_TEST((name.kind == ValueSource::Kind::kFile));
  BOOST_TEST(name.file == "t.yaml");
  BOOST_TEST(name.line == 2);
  BOOST_TEST(name.column == 11);
  BOOST_TEST(c.sources.count("targets[0].checks.connections.warn") == 1u);
  BOOST_TEST(c.sources.count("agent.log.rotate.size") == 1u);
}

BOOST_AUTO_TEST_CASE(the_spec_example_loads_with_every_value) {
  auto r = load(yaml(R"(
agent:
  listen: "127.0.0.1:9797"
  token_file: /etc/pgvigil/token
  tls: { cert: /etc/pgvigil/cert.pem, key: /etc/pgvigil/key.pem }
  state_dir: /tmp/pgvigil-state
  log:
    format: json
    output: file
    file: /var/log/pgvigil/pgvigil.log
    rotate: { size: 20MB, keep: 7 }
    level: debug
defaults:
  interval: 10s
targets:
  - name: main
    conninfo: "host=127.0.0.1 port=5432 dbname=postgres user=pgvigil"
    interval: 5s
    timeout: 3s
    unhealthy_after: 4
    healthy_after: 1
    checks:
      tcp: false
      query: "SELECT 42"
      connections:
        warn: 70%
        critical: 90%
    restart:
      method: command
      unit: postgresql@15-main.service
      service: postgresql-x64-15
      container: pg
      docker_host: unix:///run/docker.sock
      command: ["/usr/bin/pg_ctlcluster", "15", "main", "restart"]
      timeout: 90s
      grace: 20s
      backoff: { initial: 1s, max: 2m, multiplier: 1.5, jitter: 25% }
      budget: { max: 3, window: 30m }
      recovery_grace: 5m
      hang_after: 1m
    application_name: pgvigil-test
)"));
  BOOST_TEST_REQUIRE(r.ok(), allErrors(r));
  const AgentConfig& a = r.config->agent;
  BOOST_TEST(a.listen == "127.0.0.1:9797");
  BOOST_TEST(a.token_file == "/etc/pgvigil/token");
  BOOST_TEST(a.tls_cert == "/etc/pgvigil/cert.pem");
  BOOST_TEST(a.tls_key == "/etc/pgvigil/key.pem");
  BOOST_TEST(a.state_dir == "/tmp/pgvigil-state");
  BOOST_TEST((a.log.format == LogFormat::kJson));
  BOOST_TEST((a.log.output == LogOutput::kFile));
  BOOST_TEST(a.log.rotate_size == 20'000'000u);
  BOOST_TEST(a.log.rotate_keep == 7);
  BOOST_TEST((a.log.level == LogLevel::kDebug));
  const TargetConfig& t = r.config->targets.at(0);
  BOOST_TEST(t.interval.count() == 5000);
  BOOST_TEST(t.timeout.count() == 3000);
  BOOST_TEST(t.unhealthy_after == 4);
  BOOST_TEST(t.healthy_after == 1);
  BOOST_TEST(!t.tcp_check);
  BOOST_TEST(t.query == "SELECT 42");
  BOOST_TEST(t.connections.enabled);
  BOOST_TEST(t.connections.warn == 0.70, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(t.connections.critical == 0.90, boost::test_tools::tolerance(1e-12));
  BOOST_TEST((t.restart.method == RestartMethod::kCommand));
  BOOST_TEST(t.restart.unit == "postgresql@15-main.service");
  BOOST_TEST(t.restart.service == "postgresql-x64-15");
  BOOST_TEST(t.restart.container == "pg");
  BOOST_TEST(t.restart.docker_host == "unix:///run/docker.sock");
  BOOST_TEST((t.restart.command ==
              std::vector<std::string>{"/usr/bin/pg_ctlcluster", "15", "main", "restart"}));
  BOOST_TEST(t.restart.timeout.count() == 90000);
  BOOST_TEST(t.restart.grace.count() == 20000);
  BOOST_TEST(t.restart.backoff.initial.count() == 1000);
  BOOST_TEST(t.restart.backoff.max.count() == 120000);
  BOOST_TEST(t.restart.backoff.multiplier == 1.5);
  BOOST_TEST(t.restart.backoff.jitter == 0.25, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(t.restart.budget.max == 3);
  BOOST_TEST(t.restart.budget.window.count() == 1800000);
  BOOST_TEST(t.restart.recovery_grace.count() == 300000);
  BOOST_TEST(t.restart.hang_after.count() == 60000);
  BOOST_TEST(t.application_name == "pgvigil-test");
}

BOOST_AUTO_TEST_CASE(defaults_apply_to_every_target_and_nested_maps_merge_per_key) {
  auto r = load(yaml(R"(
defaults:
  interval: 10s
  checks:
    connections: false
  restart:
    method: systemd
    unit: postgresql@15-main.service
    backoff: { initial: 2s, multiplier: 3 }
targets:
  - name: a
    conninfo: "host=a"
    restart:
      backoff: { max: 10m }
  - name: b
    conninfo: "host=b"
    interval: 20s
    checks:
      connections: { warn: 50% }
    restart:
      unit: postgresql@16-main.service
      backoff: { initial: 4s }
)"));
  BOOST_TEST_REQUIRE(r.ok(), allErrors(r));
  const auto& a = r.config->targets.at(0);
  const auto& b = r.config->targets.at(1);
  BOOST_TEST(a.interval.count() == 10000);
  BOOST_TEST(!a.connections.enabled);
  BOOST_TEST((a.restart.method == RestartMethod::kSystemd));
  BOOST_TEST(a.restart.unit == "postgresql@15-main.service");
  BOOST_TEST(a.restart.backoff.initial.count() == 2000);  // from defaults
  BOOST_TEST(a.restart.backoff.multiplier == 3.0);        // from defaults
  BOOST_TEST(a.restart.backoff.max.count() == 600000);    // the target's own
  BOOST_TEST(b.interval.count() == 20000);                // target overrides
  BOOST_TEST(b.connections.enabled);                      // a map turns the check back on
  BOOST_TEST(b.connections.warn == 0.5);
  BOOST_TEST(b.connections.critical == 0.95, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(b.restart.unit == "postgresql@16-main.service");
  BOOST_TEST(b.restart.backoff.initial.count() == 4000);
  BOOST_TEST(b.restart.backoff.multiplier == 3.0);
  BOOST_TEST(b.restart.backoff.max.count() == 300000);  // built-in default
  // Values inherited from defaults point at the defaults: line.
  const auto& src = r.config->sources;
  BOOST_TEST(src.at("targets[0].interval").line == 2);
  BOOST_TEST(src.at("targets[1].interval").line == 16);
  BOOST_TEST(src.at("targets[0].restart.backoff.multiplier").line == 8);
  BOOST_TEST((src.at("targets[1].restart.backoff.max").kind == ValueSource::Kind::kDefault));
}

BOOST_AUTO_TEST_CASE(env_substitution_and_sources) {
  Env env = Env::fromMap({{"PGHOST", "db.internal"}, {"PGPASS", "pw"}, {"EMPTY", ""}});
  auto r = load(yaml(R"(
agent:
  state_dir: ${STATE_DIR:-/var/lib/pgvigil-alt}
  token_file: "${EMPTY}"
targets:
  - name: main
    conninfo: "host=${PGHOST} password=${PGPASS} port=${PGPORT:-5433}"
    interval: ${INTERVAL:-7s}
    query: ignored-comment-like # ${NOT_A_VAR} in a comment is never expanded
)"),
                env);
  // `query` stands at the wrong level on purpose: exactly that one error, no env error.
  BOOST_TEST_REQUIRE(r.errors.size() == 1u, allErrors(r));
  BOOST_TEST(r.errors[0].toString() ==
             "t.yaml:8:5: targets[0]: unknown key 'query' (expected one of: name, conninfo, "
             "url, host, port, dbname, user, password, interval, timeout, unhealthy_after, "
             "healthy_after, checks, restart, recovery, "
             "application_name, monitoring_session, tls_expiry_warning)");

  r = load(yaml(R"(
agent:
  state_dir: ${STATE_DIR:-/var/lib/pgvigil-alt}
  token_file: "${EMPTY}"
targets:
  - name: main
    conninfo: "host=${PGHOST} password=${PGPASS} port=${PGPORT:-5433}"
    interval: ${INTERVAL:-7s}  # ${NOT_A_VAR} in a comment is never expanded
)"),
           env);
  BOOST_TEST_REQUIRE(r.ok(), allErrors(r));
  const Config& c = *r.config;
  BOOST_TEST(c.agent.state_dir == "/var/lib/pgvigil-alt");
  BOOST_TEST(c.agent.token_file == "");
  BOOST_TEST(c.targets[0].conninfo == "host=db.internal password=pw port=5433");
  BOOST_TEST(c.targets[0].interval.count() == 7000);
  const ValueSource& ci = c.sources.at("targets[0].conninfo");
  BOOST_TEST((ci.kind == ValueSource::Kind::kEnv));
  BOOST_TEST(ci.env == "PGHOST,PGPASS");
  BOOST_TEST(ci.line == 6);
  // A ${VAR:-default} whose default was used came from the file.
  BOOST_TEST((c.sources.at("agent.state_dir").kind == ValueSource::Kind::kFile));
  BOOST_TEST((c.sources.at("agent.token_file").kind == ValueSource::Kind::kEnv));
}

BOOST_AUTO_TEST_CASE(unset_env_is_an_error_naming_it_and_where) {
  auto r = load(yaml(R"(
targets:
  - name: main
    conninfo: "host=db password=${PGPASSWORD_MAIN}"
    interval: ${INTERVAL}
)"));
  BOOST_TEST_REQUIRE(r.errors.size() == 2u, allErrors(r));
  BOOST_TEST(r.errors[0].toString() ==
             "t.yaml:3:15: targets[0].conninfo: environment variable PGPASSWORD_MAIN is not set "
             "(write ${PGPASSWORD_MAIN:-default} to give a fallback)");
  BOOST_TEST(r.errors[1].toString() ==
             "t.yaml:4:15: targets[0].interval: environment variable INTERVAL is not set (write "
             "${INTERVAL:-default} to give a fallback)");
}

BOOST_AUTO_TEST_CASE(env_expansion_rules) {
  Env env = Env::fromMap({{"A", "x"}, {"EMPTY", ""}, {"_B2", "y"}});
  auto e = expandEnv("${A}-${_B2}", env);
  BOOST_TEST(e.ok());
  BOOST_TEST(e.value == "x-y");
  BOOST_TEST((e.substituted == std::vector<std::string>{"A", "_B2"}));
  e = expandEnv("${EMPTY}", env);  // set but empty: fine, empty
  BOOST_TEST(e.ok());
  BOOST_TEST(e.value == "");
  e = expandEnv("${EMPTY:-fallback}|${UNSET:-}|${A:-no}", env);  // shell :- semantics
  BOOST_TEST(e.value == "fallback||x");
  BOOST_TEST((e.defaulted == std::vector<std::string>{"EMPTY", "UNSET"}));
  e = expandEnv("cost $5, $${A} and $A", env);  // only ${...} is special
  BOOST_TEST(e.ok());
  BOOST_TEST(e.value == "cost $5, ${A} and $A");
  e = expandEnv("${UNSET}", env);
  BOOST_TEST(!e.ok());
  BOOST_TEST(e.error.find("UNSET is not set") != std::string::npos);
  e = expandEnv("${A", env);
  BOOST_TEST(e.error.find("unterminated") != std::string::npos);
  e = expandEnv("${1A}", env);
  BOOST_TEST(e.error.find("invalid variable reference") != std::string::npos);
  e = expandEnv("${A:x}", env);
  BOOST_TEST(e.error.find("invalid variable reference") != std::string::npos);
  // An env value is never reported back in an error.
  Env secret = Env::fromMap({{"PW", "TopSecret1"}});
  e = expandEnv("${PW} ${MISSING}", secret);
  BOOST_TEST(e.error.find("TopSecret1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(query_and_connections_switches) {
  auto r = load(yaml(R"(
targets:
  - name: a
    conninfo: "host=a"
    checks: { query: false, connections: false, tcp: no }
  - name: b
    conninfo: "host=b"
    checks: { query: "false", connections: true }
)"));
  BOOST_TEST_REQUIRE(r.ok(), allErrors(r));
  BOOST_TEST(r.config->targets[0].query == "");
  BOOST_TEST(!r.config->targets[0].connections.enabled);
  BOOST_TEST(!r.config->targets[0].tcp_check);
  BOOST_TEST(r.config->targets[1].query == "false");  // quoted: it is SQL text
  BOOST_TEST(r.config->targets[1].connections.enabled);
}

BOOST_AUTO_TEST_CASE(tls_expiry_warning_defaults_to_14d_and_takes_days_and_zero) {
  auto r = load(yaml(R"(
defaults:
  tls_expiry_warning: 30d
targets:
  - name: a
    conninfo: "host=a"
  - name: b
    conninfo: "host=b"
    tls_expiry_warning: 0
)"));
  BOOST_TEST_REQUIRE(r.ok(), allErrors(r));
  BOOST_TEST((r.config->targets[0].tls_expiry_warning == std::chrono::hours{24 * 30}));
  BOOST_TEST((r.config->targets[1].tls_expiry_warning == Millis{0}));
  BOOST_TEST((TargetConfig{}.tls_expiry_warning == std::chrono::hours{24 * 14}));

  auto bad = load(yaml(R"(
targets:
  - name: a
    conninfo: "host=a"
    tls_expiry_warning: 20y
)"));
  BOOST_TEST(!bad.ok());
  BOOST_TEST(allErrors(bad).find("tls_expiry_warning") != std::string::npos, allErrors(bad));
}

BOOST_AUTO_TEST_CASE(missing_file_directory_empty_and_not_yaml) {
  TempDir dir("pgvigil-config-test-");
  Env env = Env::none();
  std::string missing = (dir.path / "nope.yaml").string();
  auto r = loadConfigFile(missing, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString() ==
             missing + ": cannot read the configuration: No such file or directory");

  r = loadConfigFile(dir.path.string(), env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString() ==
             dir.path.string() + ": is a directory, not a configuration file");

  std::string empty = dir.write("empty.yaml", "");
  r = loadConfigFile(empty, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString().rfind(empty + ": the file is empty", 0) == 0);

  std::string comments = dir.write("comments.yaml", "# only a comment\n\n");
  r = loadConfigFile(comments, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].message.rfind("the file is empty", 0) == 0);

  std::string binary = dir.write("binary.yaml", std::string("\x7f"
                                                            "ELF\0\0\x01",
                                                            7));
  r = loadConfigFile(binary, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString() ==
             binary + ": not a text file (it contains NUL bytes); expected a YAML configuration");

  std::string prose = dir.write("prose.yaml", "this is not a config\n");
  r = loadConfigFile(prose, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString() ==
             prose +
                 ":1:1: not a pgvigil configuration: expected a mapping with agent, "
                 "defaults and targets at the top level, got a plain value");

  std::string syntax = dir.write("syntax.yaml", "targets:\n  - name: a\n   conninfo: [x\n");
  r = loadConfigFile(syntax, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].line == 3);  // yaml-cpp's own position, made 1-based
  BOOST_TEST(r.errors[0].toString().rfind(syntax + ":3:", 0) == 0);
  BOOST_TEST(r.errors[0].message.rfind("YAML syntax error: ", 0) == 0);

  std::string tab = dir.write("tab.yaml", "targets:\n\t- name: a\n");
  r = loadConfigFile(tab, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString().rfind(tab + ":2:", 0) == 0);
  BOOST_TEST(r.errors[0].message.find("a tab in the indentation") != std::string::npos);

  std::string two = dir.write("two.yaml", "targets: []\n---\ntargets: []\n");
  r = loadConfigFile(two, env);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString() ==
             two + ":3:1: only one YAML document is allowed (found a second '---')");

  std::string good = dir.write("good.yaml", "targets:\n  - name: a\n    conninfo: host=x\n");
  r = loadConfigFile(good, env);
  BOOST_TEST_REQUIRE(r.ok(), allErrors(r));
  BOOST_TEST(r.config->path == good);
  BOOST_TEST(r.config->sources.at("targets[0].conninfo").file == good);
}

BOOST_AUTO_TEST_CASE(config_path_resolution) {
  Env none = Env::none();
  Env set = Env::fromMap({{"PGVIGIL_CONFIG", "/srv/pgvigil.yaml"}});
  Env empty = Env::fromMap({{"PGVIGIL_CONFIG", ""}});
#ifndef _WIN32
  BOOST_TEST(resolveConfigPath("", none) == "/etc/pgvigil/pgvigil.yaml");
  BOOST_TEST(resolveConfigPath("", empty) == "/etc/pgvigil/pgvigil.yaml");
#endif
  BOOST_TEST(resolveConfigPath("", set) == "/srv/pgvigil.yaml");
  BOOST_TEST(resolveConfigPath("./mine.yaml", set) == "./mine.yaml");
}

// Found by fuzz_config_loader (fuzz/corpus/config_loader/stray_comma*): yaml-cpp 0.7's LoadAll
// never returned on a ',' at the top level and grew without bound until memory ran out.
BOOST_AUTO_TEST_CASE(a_stray_top_level_comma_is_a_syntax_error_not_a_hang) {
  for (const char* text : {",\n", ",x\n", "\"x\",\n b\n", ",\n\n b\n"}) {
    BOOST_TEST_CONTEXT(text) {
      auto r = loadConfigString(text, "t.yaml", Env::none());
      BOOST_TEST(!r.ok());
      BOOST_TEST_REQUIRE(r.errors.size() == 1u);
      BOOST_TEST(r.errors[0].message.find("YAML syntax error") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
