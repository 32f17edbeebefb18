// Per-command help: `pgvigil COMMAND --help`, `pgvigil help COMMAND`, and usage errors that point
// to the command's help. The options a command's help lists are exactly the ones the parser
// accepts for it, and every example parses.
#include <boost/test/unit_test.hpp>

#include <set>

#include "app/cli.h"
#include "app/cli_help.h"

using namespace pgvigil;

namespace {

CliParse parse(std::vector<std::string> a) {
  return parseCommandLine(a);
}

/// Shell words of an example line, with '...' quoting (what the examples use).
std::vector<std::string> shellWords(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : line) {
    if (c == '\'') {
      quoted = !quoted;
      any = true;
    } else if (c == ' ' && !quoted) {
      if (any) out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

/// The flags of a help option column: "-c, --config FILE" -> {-c, --config}.
std::vector<std::string> flagsOf(std::string_view column) {
  std::vector<std::string> out;
  std::string word;
  for (std::size_t i = 0; i <= column.size(); ++i) {
    char c = i < column.size() ? column[i] : ' ';
    if (c == ' ' || c == ',') {
      if (word.size() > 1 && word[0] == '-') out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_help)

BOOST_AUTO_TEST_CASE(every_command_has_usage_options_exit_codes_and_an_example) {
  BOOST_TEST_REQUIRE(commandHelp().size() >= 12u);
  for (const auto& c : commandHelp()) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(!c.synopsis.empty());
      BOOST_TEST(!c.summary.empty());
      BOOST_TEST(!c.exits.empty());
      BOOST_TEST(c.example.rfind("pgvigil ", 0) == 0u);
      const std::string text = helpText(c.name);
      const std::string firstSynopsis(c.synopsis.substr(0, c.synopsis.find('\n')));
      BOOST_TEST(text.find("usage: " + firstSynopsis + "\n") != std::string::npos, text);
      BOOST_TEST(text.find("exit codes:\n") != std::string::npos);
      BOOST_TEST(text.find("example:\n  " + std::string(c.example) + "\n") != std::string::npos);
      for (const auto& o : c.options) BOOST_TEST(text.find(o.text) != std::string::npos);
      for (const auto& e : c.exits)
        BOOST_TEST(text.find("  " + std::to_string(e.code)) != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(check_help_names_the_nagios_codes) {
  const std::string text = helpText("check");
  BOOST_TEST(text.find("usage: pgvigil check [-c FILE] [-t TARGET] [--format text|json]\n") == 0u);
  BOOST_TEST(text.find("  0    OK") != std::string::npos, text);
  BOOST_TEST(text.find("  1    WARNING") != std::string::npos);
  BOOST_TEST(text.find("  2    CRITICAL") != std::string::npos);
  BOOST_TEST(text.find("  3    UNKNOWN") != std::string::npos);
  BOOST_TEST(text.find("  64   a bad command line") != std::string::npos);
  BOOST_TEST(text.find("-t, --target TARGET") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dash_dash_help_after_a_command_is_that_commands_help) {
  auto p = parse({"check", "--help"});
  BOOST_TEST_REQUIRE(p.command.has_value());
  BOOST_TEST(p.command->verb == "help");
  BOOST_TEST(p.command->help_topic == "check");
  BOOST_TEST(parse({"run", "-h"}).command->help_topic == "run");
  BOOST_TEST(parse({"config", "show", "--help"}).command->help_topic == "config show");
  BOOST_TEST(parse({"config", "--help"}).command->help_topic == "config");
  BOOST_TEST(parse({"pause", "main", "--help"}).command->help_topic == "pause");
  // Flags are read left to right: a bad one before --help is reported (and points to the help).
  BOOST_TEST(parse({"check", "--bogus", "--help"}).topic == "check");
  BOOST_TEST(parse({"check", "-t", "x", "--help"}).command->help_topic == "check");
  BOOST_TEST(parse({"--help"}).command->help_topic.empty());
}

BOOST_AUTO_TEST_CASE(help_command_takes_a_topic) {
  BOOST_TEST(parse({"help"}).command->help_topic.empty());
  BOOST_TEST(parse({"help", "diagnose"}).command->help_topic == "diagnose");
  BOOST_TEST(parse({"help", "config", "validate"}).command->help_topic == "config validate");
  BOOST_TEST(parse({"--help", "demo"}).command->help_topic == "demo");
  auto bad = parse({"help", "frobnicate"});
  BOOST_TEST(!bad.command.has_value());
  BOOST_TEST(bad.error.find("frobnicate") != std::string::npos);
  BOOST_TEST(!parse({"help", "config", "explode"}).command.has_value());
  BOOST_TEST(!parse({"help", "config", "show", "more"}).command.has_value());
}

BOOST_AUTO_TEST_CASE(a_verb_with_sub_commands_shows_them_all) {
  const std::string text = helpText("config");
  BOOST_TEST(text.find("usage: pgvigil config validate") != std::string::npos, text);
  BOOST_TEST(text.find("usage: pgvigil config show") != std::string::npos);
  BOOST_TEST(helpText("config show").find("config validate") == std::string::npos);
  BOOST_TEST(helpText("nope").empty());
  BOOST_TEST(helpText("").empty());
}

BOOST_AUTO_TEST_CASE(usage_errors_name_the_command_whose_help_to_read) {
  auto p = parse({"check", "--bogus"});
  BOOST_TEST(!p.command.has_value());
  BOOST_TEST(p.topic == "check");
  BOOST_TEST(parse({"config", "show", "extra"}).topic == "config show");
  BOOST_TEST(parse({"config", "explode"}).topic == "config");
  BOOST_TEST(parse({"pause"}).topic == "pause");
  BOOST_TEST(parse({"diagnose", "--format", "xml"}).topic == "diagnose");
  BOOST_TEST(parse({"frobnicate"}).topic.empty());
  BOOST_TEST(parse({}).topic.empty());
}

BOOST_AUTO_TEST_CASE(help_options_are_exactly_what_the_parser_accepts) {
  // Every flag any command's help lists, tried on every command.
  std::set<std::string> all;
  for (const auto& c : commandHelp())
    for (const auto& o : c.options)
      for (const auto& f : flagsOf(o.flags)) all.insert(f);
  BOOST_TEST_REQUIRE(all.count("--conninfo") == 1u);
  for (const auto& c : commandHelp()) {
    if (c.name == "help" || c.name == "version") continue;
    std::set<std::string> listed;
    for (const auto& o : c.options)
      for (const auto& f : flagsOf(o.flags)) listed.insert(f);
    for (const auto& flag : all) {
      if (flag == "-h" || flag == "--help" || flag == "-V" || flag == "--version") continue;
      std::vector<std::string> args = shellWords(c.name);
      if (c.name == "pause" || c.name == "resume" || c.name == "restart") args.push_back("main");
      args.push_back(flag);
      args.push_back(flag == "--format" ? "json" : "x");
      auto p = parse(args);
      const bool accepted =
          p.command.has_value() || p.error.find("does not take") == std::string::npos;
      BOOST_TEST(accepted == (listed.count(flag) == 1u),
                 c.name << " " << flag << ": the help " << (listed.count(flag) ? "lists" : "omits")
                        << " it, the parser " << (accepted ? "accepts" : "rejects") << " it");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_example_parses) {
  for (const auto& c : commandHelp()) {
    auto words = shellWords(c.example);
    BOOST_TEST_REQUIRE(words.size() >= 2u);
    words.erase(words.begin());
    auto p = parse(words);
    BOOST_TEST(p.command.has_value(), c.example << ": " << p.error);
  }
}

BOOST_AUTO_TEST_CASE(the_overview_lists_every_command) {
  const std::string usage = usageText();
  for (const auto& c : commandHelp())
    BOOST_TEST(
        usage.find(std::string(c.synopsis.substr(0, c.synopsis.find('\n')))) != std::string::npos,
        c.name);
  BOOST_TEST(usage.find("pgvigil COMMAND --help") != std::string::npos);
  // The parser's verbs are the table's.
  for (const auto& verb : cliVerbs()) {
    std::vector<std::string> args{verb};
    for (const auto& sub : cliSubCommands(verb)) {
      args.push_back(sub);
      break;
    }
    if (verb == "pause" || verb == "resume" || verb == "restart") args.push_back("main");
    BOOST_TEST(parse(args).command.has_value(), verb);
  }
  BOOST_TEST(cliSubCommands("config") == (std::vector<std::string>{"validate", "show"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
