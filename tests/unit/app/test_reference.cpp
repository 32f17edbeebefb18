// docs/reference.md is kept true by this file: every name its tables list (the first column, in
// backticks) is compared in both directions with what the code has — commands and options with
// the help table the parser takes its verbs from, config keys with the schema tables (and the
// top-level keys with the loader's own message), states and causes with core/types.h, routes with
// what the router answers (and the paths router.cpp matches), metrics with what the Prometheus
// renderer prints for a full status, events with every name passed to an event builder in src/.
// The man pages are held to the same lists (code -> page).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/cli_help.h"
#include "core/clock.h"
#include "core/config_loader.h"
#include "core/config_schema.h"
#include "core/types.h"
#include "http/fake_status_provider.h"
#include "http/metrics.h"
#include "http/router.h"
#include "unit/http/sample_status.h"

using namespace pgvigil;
namespace fs = std::filesystem;

namespace {

using Names = std::set<std::string>;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "cannot read " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path sourceDir() {
  return fs::path(PGVIGIL_SOURCE_DIR);
}

/// The reference's tables: for each heading ("### Commands"), the first-column names of its rows
/// (rows whose first cell starts with a backticked name), and the rows themselves.
struct Reference {
  std::map<std::string, std::vector<std::string>> names;
  std::map<std::string, std::vector<std::vector<std::string>>> rows;

  Names section(const std::string& heading) const {
    auto it = names.find(heading);
    BOOST_TEST_REQUIRE((it != names.end() && !it->second.empty()),
                       "docs/reference.md has no table under '" << heading << "'");
    return Names(it->second.begin(), it->second.end());
  }
};

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool code = false;
  for (std::size_t i = 1; i < line.size(); ++i) {
    char c = line[i];
    if (c == '`') code = !code;
    if (c == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cur += '|';
      ++i;
      continue;
    }
    if (c == '|' && !code) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  for (auto& s : out) {
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
  }
  return out;
}

Reference parseReference() {
  Reference ref;
  std::istringstream in(readFile(sourceDir() / "docs" / "reference.md"));
  std::string line, heading;
  bool fence = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) fence = !fence;
    if (fence) continue;
    if (line.rfind("#", 0) == 0) {
      heading = line;
      continue;
    }
    if (line.rfind("| ", 0) != 0) continue;
    auto row = cells(line);
    if (row.empty()) continue;
    ref.rows[heading].push_back(row);
    const std::string& first = row[0];
    if (first.size() > 2 && first.front() == '`' && first.back() == '`' &&
        first.find('`', 1) == first.size() - 1)
      ref.names[heading].push_back(first.substr(1, first.size() - 2));
  }
  return ref;
}

/// Both directions, with a message that says which side lacks which name.
void compareNames(const std::string& what, const Names& documented, const Names& code) {
  for (const auto& n : code)
    BOOST_TEST(documented.count(n) == 1u,
               what << " '" << n << "' exists in the code but not in docs/reference.md");
  for (const auto& n : documented)
    BOOST_TEST(code.count(n) == 1u,
               what << " '" << n << "' is in docs/reference.md but not in the code");
}

/// Every string literal that is passed right before an EventLevel (`make(base, "target_healthy",
/// EventLevel::kInfo, ...)`, `emitAgentEvent("config_loaded", EventLevel::kInfo, ...)`) or that
/// defines an event-name constant (`kAgentLogEvent = "agent_log"`), in every source under src/.
Names eventNamesInSources() {
  static const std::regex builder(R"re("([a-z][a-z0-9_]*)"\s*,\s*EventLevel::k)re");
  static const std::regex constant(R"re(k\w*Event\s*=\s*"([a-z][a-z0-9_]*)")re");
  Names out;
  for (const auto& entry : fs::recursive_directory_iterator(sourceDir() / "src")) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
    const std::string text = readFile(entry.path());
    for (const auto* re : {&builder, &constant})
      for (std::sregex_iterator it(text.begin(), text.end(), *re), end; it != end; ++it)
        out.insert((*it)[1].str());
  }
  return out;
}

/// The routes router.cpp matches: exact paths (`path == "/livez"`), the `/health/` family and the
/// `/targets/{name}/ACTION` family with each action it accepts. Method from the reference row.
Names routePathsInRouter() {
  const std::string text = readFile(sourceDir() / "src" / "http" / "router.cpp");
  Names out;
  static const std::regex exact(R"re(path == "(/[^"]*)")re");
  for (std::sregex_iterator it(text.begin(), text.end(), exact), end; it != end; ++it)
    out.insert((*it)[1].str());
  if (text.find(R"(path.starts_with("/health/"))") != std::string::npos)
    out.insert("/health/{target}");
  static const std::regex action(R"re(action == "([a-z]+)")re");
  if (text.find(R"(path.starts_with("/targets/"))") != std::string::npos)
    for (std::sregex_iterator it(text.begin(), text.end(), action), end; it != end; ++it)
      out.insert("/targets/{name}/" + (*it)[1].str());
  return out;
}

std::vector<std::string> flagsOf(std::string_view column) {
  std::vector<std::string> out;
  std::istringstream in{std::string(column)};
  std::string word;
  while (in >> word) {
    if (!word.empty() && word.back() == ',') word.pop_back();
    if (word.size() > 1 && word[0] == '-') out.push_back(word);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reference)

BOOST_AUTO_TEST_CASE(commands_match_the_help_table_and_the_parser) {
  Reference ref = parseReference();
  Names code;
  for (const auto& c : commandHelp()) code.insert(std::string(c.name));
  compareNames("command", ref.section("### Commands"), code);
  // Every command of the table is one the parser accepts (version and help are spelt as flags
  // too), with the arguments its synopsis requires.
  for (const auto& name : code) {
    std::vector<std::string> args;
    std::istringstream words(name);
    for (std::string w; words >> w;) args.push_back(w);
    if (name == "pause" || name == "resume" || name == "restart") args.push_back("main");
    auto parsed = parseCommandLine(args);
    BOOST_TEST(parsed.command.has_value(), "the parser rejects '" << name << "': " << parsed.error);
  }
}

BOOST_AUTO_TEST_CASE(options_match_the_help_table) {
  Reference ref = parseReference();
  Names documented;
  for (const auto& n : ref.section("### Options"))
    for (const auto& f : flagsOf(n)) documented.insert(f);
  Names code;
  for (const auto& c : commandHelp())
    for (const auto& o : c.options)
      for (const auto& f : flagsOf(o.flags)) code.insert(f);
  compareNames("option", documented, code);
}

BOOST_AUTO_TEST_CASE(exit_codes_of_the_help_are_in_the_reference) {
  Reference ref = parseReference();
  std::set<std::pair<int, std::string>> documented;
  for (const auto& row : ref.rows["### Exit codes"]) {
    if (row.size() < 2 || row[0].empty() || !std::isdigit(static_cast<unsigned char>(row[0][0])))
      continue;
    std::string name = row[1];
    name.erase(std::remove(name.begin(), name.end(), '`'), name.end());
    documented.insert({std::stoi(row[0]), name});
  }
  BOOST_TEST_REQUIRE(documented.size() >= 9u);
  for (const auto& c : commandHelp())
    for (const auto& e : c.exits)
      BOOST_TEST(documented.count({e.code, "kExit" + std::string(e.name)}) == 1u,
                 "'" << c.name << "' exits " << e.code << " (kExit" << e.name
                     << "), which the reference's exit code table does not list");
}

BOOST_AUTO_TEST_CASE(config_keys_match_the_schema) {
  Reference ref = parseReference();
  Names agent, target;
  for (const auto& f : config_detail::agentSchema().fields()) agent.insert("agent." + f.path);
  for (const auto& f : config_detail::targetSchema().fields()) target.insert("targets[]." + f.path);
  compareNames("agent key", ref.section("### Keys of `agent`"), agent);
  compareNames("target key", ref.section("### Keys of a target"), target);

  // The top-level keys, as the loader itself lists them for an unknown one.
  auto r = loadConfigString("zzzz_not_a_key: 1\n", "t.yaml", Env::none());
  BOOST_TEST_REQUIRE(!r.ok());
  std::string message;
  for (const auto& e : r.errors)
    if (e.message.find("expected ") != std::string::npos) message = e.message;
  static const std::regex list(R"re(\(expected ([a-z_, ]+)\))re");
  std::smatch m;
  BOOST_TEST_REQUIRE(std::regex_search(message, m, list), "no key list in: " << message);
  Names top;
  static const std::regex word(R"re([a-z_]+)re");
  const std::string keys = m[1].str();
  for (std::sregex_iterator it(keys.begin(), keys.end(), word), end; it != end; ++it)
    if (it->str() != "and") top.insert(it->str());
  compareNames("top-level key", ref.section("### Top-level keys"), top);
}

BOOST_AUTO_TEST_CASE(states_and_causes_match_the_vocabulary) {
  Reference ref = parseReference();
  Names states, causes;
  for (TargetState s : kAllStates) states.insert(std::string(toString(s)));
  for (Cause c : kAllCauses) causes.insert(std::string(toString(c)));
  compareNames("state", ref.section("### States"), states);
  compareNames("cause", ref.section("### Causes"), causes);
}

BOOST_AUTO_TEST_CASE(routes_match_what_the_router_answers) {
  Reference ref = parseReference();
  const Names documented = ref.section("### Routes");
  // router.cpp -> reference: every path it matches is documented (with some method).
  Names documentedPaths;
  for (const auto& r : documented) documentedPaths.insert(r.substr(r.find(' ') + 1));
  const Names matched = routePathsInRouter();
  BOOST_TEST_REQUIRE(matched.size() >= 8u, "router.cpp's paths could not be read");
  compareNames("route path", documentedPaths, matched);

  // reference -> router: each documented route is answered (not 404) with its method, with the
  // token, and refused with 405 for the other method.
  FakeStatusProvider provider;
  provider.setStatus(testing::richStatus());
  TokenStore tokens;
  tokens.set("s3cret-token");
  FakeClock clock;
  Router router(provider, tokens, clock);
  for (const auto& route : documented) {
    const std::string method = route.substr(0, route.find(' '));
    std::string path = route.substr(route.find(' ') + 1);
    path = std::regex_replace(path, std::regex(R"(\{target\}|\{name\})"), "main");
    BOOST_TEST_REQUIRE((method == "GET" || method == "POST"), "route '" << route << "'");
    HttpResponse ok = router.handle({method, path, "", "Bearer s3cret-token"});
    BOOST_TEST(ok.status != 404, route << " answers 404");
    BOOST_TEST(ok.status != 405, route << " answers 405");
    HttpResponse wrong =
        router.handle({method == "GET" ? "POST" : "GET", path, "", "Bearer s3cret-token"});
    BOOST_TEST(wrong.status == 405, route << " with the other method answers " << wrong.status);
  }
}

BOOST_AUTO_TEST_CASE(metrics_match_what_the_renderer_prints) {
  Reference ref = parseReference();
  // A status in which every metric has samples: two targets with rounds, TLS seen.
  AgentStatus status = testing::richStatus();
  for (auto& t : status.targets)
    if (t.last_round) t.last_round->server_cert_not_after = status.now + std::chrono::hours{24};
  status.events_dropped = 3;
  const std::string text = renderPrometheus(status);
  Names printed, declared;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      declared.insert(rest.substr(0, rest.find(' ')));
    } else if (!line.empty() && line[0] != '#') {
      printed.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  for (const auto& n : declared)
    BOOST_TEST(printed.count(n) == 1u, n << " is declared but has no sample in a full status");
  Names table;
  for (const auto& d : kMetricDefs) table.insert(std::string(d.name));
  Names all = printed;
  all.insert(table.begin(), table.end());
  compareNames("metric", ref.section("## 5. Metrics"), all);
}

BOOST_AUTO_TEST_CASE(events_match_the_event_builders) {
  Reference ref = parseReference();
  const Names code = eventNamesInSources();
  BOOST_TEST_REQUIRE(code.size() >= 15u, "the event builders in src/ could not be read");
  compareNames("event", ref.section("## 6. Events"), code);
}

BOOST_AUTO_TEST_CASE(man_pages_name_every_command_and_key) {
  const std::string page1 = readFile(sourceDir() / "man" / "pgvigil.1.scd");
  const std::string page5 = readFile(sourceDir() / "man" / "pgvigil.yaml.5.scd");
  for (const auto& verb : cliVerbs())
    BOOST_TEST(page1.find("*" + verb) != std::string::npos, "pgvigil(1) lacks '" << verb << "'");
  for (const auto& c : commandHelp())
    for (const auto& o : c.options)
      for (const auto& f : flagsOf(o.flags))
        BOOST_TEST(page1.find("*" + f + "*") != std::string::npos,
                   "pgvigil(1) lacks the option " << f);
  for (const auto& f : config_detail::agentSchema().fields())
    BOOST_TEST(page5.find(f.path) != std::string::npos, "pgvigil.yaml(5) lacks agent." << f.path);
  for (const auto& f : config_detail::targetSchema().fields())
    BOOST_TEST(page5.find("*" + f.path) != std::string::npos,
               "pgvigil.yaml(5) lacks the target key " << f.path);
}

BOOST_AUTO_TEST_SUITE_END()
