#include <boost/test/unit_test.hpp>

#include "app/cli.h"

using namespace pgvigil;

namespace {
CliParse parse(std::vector<std::string> a) {
  return parseCommandLine(a);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(check_with_every_flag) {
  auto p = parse({"check", "-c", "/x.yaml", "-t", "main", "--format", "json"});
  BOOST_REQUIRE(p.command.has_value());
  BOOST_TEST(p.command->verb == "check");
  BOOST_TEST(*p.command->config == "/x.yaml");
  BOOST_TEST(*p.command->target == "main");
  BOOST_TEST(p.command->format == "json");
}

BOOST_AUTO_TEST_CASE(long_flags_with_equals) {
  auto p = parse({"check", "--config=/y.yaml", "--target=db", "--format=text"});
  BOOST_REQUIRE(p.command.has_value());
  BOOST_TEST(*p.command->config == "/y.yaml");
  BOOST_TEST(*p.command->target == "db");
}

BOOST_AUTO_TEST_CASE(config_sub_commands) {
  BOOST_TEST(parse({"config", "validate"}).command->sub == "validate");
  BOOST_TEST(parse({"config", "show", "-c", "f"}).command->sub == "show");
  BOOST_TEST(!parse({"config"}).command.has_value());
  BOOST_TEST(!parse({"config", "frobnicate"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(pause_takes_target_and_duration) {
  auto p = parse({"pause", "main", "--for", "30m"});
  BOOST_REQUIRE(p.command.has_value());
  BOOST_TEST(*p.command->target == "main");
  BOOST_TEST(*p.command->for_duration == "30m");
  BOOST_TEST(!parse({"pause"}).command.has_value());
  BOOST_TEST(!parse({"resume", "a", "b"}).command.has_value());
  BOOST_TEST(!parse({"resume", "a", "--for", "1m"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(run_service_is_a_flag_without_a_value) {
  auto p = parse({"run", "--service", "-c", "C:\\ProgramData\\pgvigil\\pgvigil.yaml"});
  BOOST_TEST_REQUIRE(p.command.has_value(), p.error);
  BOOST_TEST(p.command->as_service);
  BOOST_TEST(*p.command->config == "C:\\ProgramData\\pgvigil\\pgvigil.yaml");
  BOOST_TEST(!parse({"run"}).command->as_service);
  BOOST_TEST(!parse({"run", "--service=yes"}).command.has_value());
  BOOST_TEST(!parse({"check", "--service"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(service_install_takes_its_options_and_uninstall_only_the_name) {
  auto p = parse({"service", "install", "-c", "x.yaml", "--name", "pgvigil2", "--account",
                  "NetworkService", "--postgres-service", "postgresql-x64-16"});
  BOOST_TEST_REQUIRE(p.command.has_value(), p.error);
  BOOST_TEST(p.command->sub == "install");
  BOOST_TEST(*p.command->config == "x.yaml");
  BOOST_TEST(*p.command->service_name == "pgvigil2");
  BOOST_TEST(*p.command->account == "NetworkService");
  BOOST_TEST(*p.command->postgres_service == "postgresql-x64-16");
  auto none = parse({"service", "install", "--postgres-service="});
  BOOST_TEST_REQUIRE(none.command.has_value(), none.error);
  BOOST_TEST(none.command->postgres_service.value_or("unset") == "");  // '' grants nothing
  BOOST_TEST(parse({"service", "uninstall", "--name", "x"}).command->service_name.value_or("") ==
             "x");
  BOOST_TEST(!parse({"service", "uninstall", "-c", "x.yaml"}).command.has_value());
  BOOST_TEST(!parse({"service", "uninstall", "--account", "LocalSystem"}).command.has_value());
  BOOST_TEST(!parse({"service", "install", "--name="}).command.has_value());
  BOOST_TEST(!parse({"check", "--name", "x"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(diagnose_conninfo_excludes_target) {
  BOOST_TEST(parse({"diagnose", "--conninfo", "host=x"}).command.has_value());
  BOOST_TEST(!parse({"diagnose", "--conninfo", "host=x", "-t", "main"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(diagnose_env_dir_takes_a_config_but_no_target_or_conninfo) {
  auto p = parse({"diagnose", "--env-dir", "/srv/app", "-c", "/etc/pgvigil.yaml"});
  BOOST_TEST_REQUIRE(p.command.has_value());
  BOOST_TEST(p.command->env_dir.value_or("") == "/srv/app");
  BOOST_TEST(!parse({"diagnose", "--env-dir", "/srv/app", "-t", "main"}).command.has_value());
  BOOST_TEST(
      !parse({"diagnose", "--env-dir", "/srv/app", "--conninfo", "host=x"}).command.has_value());
  BOOST_TEST(!parse({"check", "--env-dir", "/srv/app"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(usage_errors_say_what_is_wrong) {
  auto p = parse({"frob"});
  BOOST_TEST(!p.command.has_value());
  BOOST_TEST(p.error.find("frob") != std::string::npos);
  BOOST_TEST(!parse({}).command.has_value());
  BOOST_TEST(!parse({"check", "--format", "xml"}).command.has_value());
  BOOST_TEST(!parse({"check", "-c"}).command.has_value());
  BOOST_TEST(!parse({"run", "--for", "1m"}).command.has_value());
  BOOST_TEST(!parse({"run", "extra"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(version_and_help) {
  BOOST_TEST(parse({"--version"}).command->verb == "version");
  BOOST_TEST(parse({"--help"}).command->verb == "help");
  BOOST_TEST(parse({"check", "--help"}).command->verb == "help");
}

BOOST_AUTO_TEST_SUITE_END()
