// `config show`: the effective config with each value's origin, secrets never shown, and output
// that loads back to the same configuration. Also which keys a reload can change.
#include <boost/test/unit_test.hpp>

#include "core/config_loader.h"

using namespace pgvigil;

namespace {

constexpr const char* kCanary = "Canary-9f3e7b21";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_show)

BOOST_AUTO_TEST_CASE(every_value_says_where_it_came_from) {
  Env env = Env::fromMap({{"PGHOST", "db1"}});
  auto r = loadConfigString(
      "defaults:\n"
      "  interval: 10s\n"
      "targets:\n"
      "  - name: main\n"
      "    conninfo: \"host=${PGHOST} dbname=postgres\"\n"
      "    checks: { connections: false }\n",
      "/etc/pgvigil/pgvigil.yaml", env);
  BOOST_TEST_REQUIRE(r.ok(), formatErrors(r.errors));
  std::string out = renderEffectiveConfig(*r.config);
  BOOST_TEST_MESSAGE(out);
  BOOST_TEST(contains(out, "  listen: \"127.0.0.1:8787\"  # default\n"));
  BOOST_TEST(contains(out, "  - name: \"main\"  # /etc/pgvigil/pgvigil.yaml:4:11\n"));
  BOOST_TEST(contains(out,
                      "    conninfo: \"host=db1 dbname=postgres\"  # env PGHOST "
                      "(/etc/pgvigil/pgvigil.yaml:5:15)\n"));
  BOOST_TEST(contains(out, "    interval: 10s  # /etc/pgvigil/pgvigil.yaml:2:13\n"));
  BOOST_TEST(contains(out, "      connections: false  # /etc/pgvigil/pgvigil.yaml:6:28\n"));
  BOOST_TEST(!contains(out, "warn:"));  // a switched-off section hides its children
  BOOST_TEST(contains(out, "      backoff:\n        initial: 5s  # default\n"));
  BOOST_TEST(contains(out, "      command: []  # default\n"));
  BOOST_TEST(contains(out, "        rotate:\n") == false);
  BOOST_TEST(contains(out, "    rotate:\n      size: 10MB  # default\n"));
}

BOOST_AUTO_TEST_CASE(show_output_loads_back_to_the_same_config) {
  auto r = loadConfigString(
      "agent:\n"
      "  listen: \"[::1]:9000\"\n"
      "  token_file: /etc/pgvigil/token\n"
      "  log: { format: json, rotate: { size: 20MiB, keep: 3 } }\n"
      "targets:\n"
      "  - name: main\n"
      "    conninfo: \"host=/var/run/postgresql dbname=app user=\\\"odd\\\"\"\n"
      "    checks: { query: \"SELECT 'x'\", connections: { warn: 72.5%, critical: 99% } }\n"
      "    restart:\n"
      "      method: command\n"
      "      command: [\"/usr/bin/pg_ctlcluster\", \"15\", \"main\", \"restart\", "
      "\"$${literal}\"]\n"
      "      backoff: { initial: 1500ms, max: 1h30m, multiplier: 1.25, jitter: 0% }\n"
      "  - name: other\n"
      "    conninfo: postgresql://u@h/db\n"
      "    checks: { query: false, connections: false, tcp: false }\n",
      "a.yaml", Env::none());
  BOOST_TEST_REQUIRE(r.ok(), formatErrors(r.errors));
  std::string shown = renderEffectiveConfig(*r.config);
  auto back = loadConfigString(shown, "b.yaml", Env::none());
  BOOST_TEST_REQUIRE(back.ok(), formatErrors(back.errors) << shown);
  BOOST_TEST(back.config->targets.size() == 2u);
  BOOST_TEST((back.config->targets == r.config->targets));
  BOOST_TEST(back.config->targets[0].restart.command.back() == "${literal}");
  BOOST_TEST(renderEffectiveConfig(*back.config).size() > 0u);
  BOOST_TEST(nonReloadableChanges(*r.config, *back.config).empty());
  BOOST_TEST(back.config->agent.listen == "[::1]:9000");
  BOOST_TEST(back.config->agent.log.rotate_size == 20u * 1024 * 1024);
}

BOOST_AUTO_TEST_CASE(a_canary_password_never_appears_in_show_or_errors) {
  Env env = Env::fromMap({{"PGPASSWORD_MAIN", kCanary}});
  std::string good =
      "agent:\n"
      "  token_file: /etc/pgvigil/token\n"
      "targets:\n"
      "  - name: kw\n"
      "    conninfo: \"host=db password=" +
      std::string(kCanary) +
      " user=u\"\n"
      "  - name: quoted\n"
      "    conninfo: \"host=db password='" +
      std::string(kCanary) +
      " x' user=u\"\n"
      "  - name: uri\n"
      "    conninfo: \"postgresql://u:" +
      std::string(kCanary) +
      "@db/app\"\n"
      "  - name: param\n"
      "    conninfo: \"postgresql://u@db/app?password=" +
      std::string(kCanary) +
      "&x=1\"\n"
      "  - name: env\n"
      "    conninfo: \"host=db password=${PGPASSWORD_MAIN}\"\n";
  auto r = loadConfigString(good, "c.yaml", env);
  BOOST_TEST_REQUIRE(r.ok(), formatErrors(r.errors));
  std::string shown = renderEffectiveConfig(*r.config);
  BOOST_TEST(!contains(shown, kCanary), shown);
  BOOST_TEST(contains(shown, "conninfo: \"host=db password=***** user=u\""));
  BOOST_TEST(contains(shown, "conninfo: \"postgresql://u:*****@db/app\""));
  BOOST_TEST(contains(shown, "token_file: \"/etc/pgvigil/token\""));
  // The app layer may add libpq's redaction; the core's still runs after it.
  RenderOptions options;
  options.redact_conninfo = [](const std::string& c) { return "[" + c + "]"; };
  std::string shown2 = renderEffectiveConfig(*r.config, options);
  BOOST_TEST(!contains(shown2, kCanary));
  BOOST_TEST(contains(shown2, "conninfo: \"[host=db password=***** user=u]\""));

  // The same secrets next to many errors, one of them a value that *is* the password.
  std::string bad = good + "    interval: " + std::string(kCanary) +
                    "\n"
                    "    restart: { method: " +
                    std::string(kCanary) +
                    " }\n"
                    "    checks:\n      tcp: ${PGPASSWORD_MAIN}\n"
                    "    " +
                    std::string(kCanary) + ": 1\n";
  auto e = loadConfigString(bad, "c.yaml", env);
  BOOST_TEST_REQUIRE(e.errors.size() >= 4u);
  std::string all = formatErrors(e.errors);
  BOOST_TEST_MESSAGE(all);
  BOOST_TEST(!contains(all, kCanary), all);
  BOOST_TEST(contains(all, "c.yaml:14:15: targets[4].interval: invalid duration '*****'"));
  BOOST_TEST(contains(all, "(the value comes from ${PGPASSWORD_MAIN})"));

  // A broken target's conninfo still counts as a secret source.
  auto broken =
      loadConfigString("targets:\n  - name: x\n    conninfo: \"password=" + std::string(kCanary) +
                           "\"\n    timeout: " + kCanary + "\n",
                       "d.yaml", Env::none());
  BOOST_TEST(!contains(formatErrors(broken.errors), kCanary));
  BOOST_TEST(!broken.errors.empty());
}

BOOST_AUTO_TEST_CASE(config_secrets_lists_conninfo_passwords) {
  Config c;
  TargetConfig t;
  t.conninfo = "host=db password=abc";
  c.targets.push_back(t);
  t.conninfo = "postgresql://u:p%40ss@h/db";
  c.targets.push_back(t);
  BOOST_TEST((configSecrets(c) == std::vector<std::string>{"abc", "p%40ss", "p@ss"}));
}

BOOST_AUTO_TEST_CASE(reloadable_keys) {
  BOOST_TEST(!isReloadable("agent.listen"));
  BOOST_TEST(!isReloadable("agent.tls.cert"));
  BOOST_TEST(!isReloadable("agent.tls"));
  BOOST_TEST(!isReloadable("agent.log.rotate.size"));
  BOOST_TEST(isReloadable("targets[0].interval"));
  BOOST_TEST(isReloadable("targets[3].restart.backoff.initial"));
  Config a, b;
  BOOST_TEST(nonReloadableChanges(a, b).empty());
  b.agent.listen = "127.0.0.1:9999";
  b.agent.log.level = LogLevel::kDebug;
  TargetConfig t;
  t.name = "new";
  b.targets.push_back(t);
  BOOST_TEST(
      (nonReloadableChanges(a, b) == std::vector<std::string>{"agent.listen", "agent.log.level"}));
}

BOOST_AUTO_TEST_SUITE_END()
