// StateStore: the YAML state file survives round trips, is written atomically, and a broken one
// is reported and set aside, never fatal.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/state_store.h"
#include "temp_dir.h"

using namespace pgvigil;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using pgvigil::testing::TempDir;  // portable (no mkdtemp): the Windows build runs this too

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

WallTime at(const char* s) {
  auto t = parseWallTime(s);
  BOOST_REQUIRE(t.has_value());
  return *t;
}

PersistedState sample() {
  PersistedState st;
  PersistedTarget& main = st.targets["main"];
  main.history.push_back(RestartRecord{at("2026-11-22T10:00:00.000Z"), "auto", "failed",
                                       "exited 1: \"pg_ctl\" said: no", Millis{1234}});
  main.history.push_back(RestartRecord{at("2026-11-22T10:05:00.250Z"), "manual", "succeeded",
                                       "job done", Millis{2500}});
  main.budget = {at("2026-11-22T10:00:00.000Z"), at("2026-11-22T10:05:00.250Z")};
  main.attempts = 2;
  main.last_attempt_end = at("2026-11-22T10:05:02.750Z");
  PersistedTarget& replica = st.targets["replica-2"];
  replica.paused = true;
  replica.paused_until = at("2026-11-22T12:00:00.000Z");
  st.targets["idle"];  // nothing at all
  return st;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(state_store)

BOOST_AUTO_TEST_CASE(test_WallTimeFormatAndParse) {
  const WallTime t = WallTime{std::chrono::milliseconds{1'700'000'000'123}};
  BOOST_TEST(formatWallTime(t) == "2023-11-14T22:13:20.123Z");
  BOOST_TEST((parseWallTime("2023-11-14T22:13:20.123Z") == t));
  BOOST_TEST(formatWallTime(WallTime{}) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST((parseWallTime("2023-11-14T22:13:20Z") == t - 123ms));
  BOOST_TEST((parseWallTime("2023-11-14T23:13:20.123+01:00") == t));
  BOOST_TEST((parseWallTime("2023-11-14T21:13:20.123-01:00") == t));
  BOOST_TEST((parseWallTime("2023-11-14T22:13:20.123456789Z") == t + 456789ns));
  BOOST_TEST(formatWallTime(*parseWallTime("2024-02-29T23:59:59.999Z")) ==
             "2024-02-29T23:59:59.999Z");
  for (const char* bad :
       {"", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z", "2023-02-30T22:13:20Z",
        "2023-11-14T24:13:20Z", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20Zjunk",
        "x023-11-14T22:13:20Z", "2023-11-14T22:13:20.1234567890Z", "2023-11-14T22:13:20+1:00"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!parseWallTime(bad).has_value());
    }
  }
}

// Found by fuzz_state_store (fuzz/corpus/state_store/year_out_of_range*): a year far from now
// overflowed the nanosecond count while converting (UBSan: signed integer overflow in chrono).
BOOST_AUTO_TEST_CASE(test_YearsOutsideWallTimeAreRejected) {
  for (const char* bad :
       {"3585-11-22T10:00:00.123456789Z", "0226-11-22T10:00:00.000Z", "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "2201-01-01T00:00:00Z",
        "1900-01-01T00:00:00+01:00", "2200-12-31T23:00:00-01:00"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!parseWallTime(bad).has_value());
    }
  }
  BOOST_TEST(formatWallTime(*parseWallTime("2200-12-31T23:59:59.999Z")) ==
             "2200-12-31T23:59:59.999Z");
  BOOST_TEST(formatWallTime(*parseWallTime("1900-01-01T00:00:00.000Z")) ==
             "1900-01-01T00:00:00.000Z");
  std::string error;
  BOOST_TEST(!StateStore::parse(
      "version: 1\ntargets:\n  main:\n    budget: [3585-11-22T10:00:00Z]\n", &error));
  BOOST_TEST(error.find("budget") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_RoundTrip) {
  TempDir dir;
  StateStore store(StateStore::pathFor((dir.path / "sub" / "dir").string()));
  const PersistedState st = sample();
  BOOST_TEST(store.save(st) == "");  // creates the directory
  BOOST_TEST(fs::exists(store.path()));
  BOOST_TEST(!fs::exists(fs::path(store.path().string() + ".tmp")));
  auto loaded = store.load();
  BOOST_TEST(loaded.error == "");
  BOOST_TEST(loaded.state.targets.size() == 3u);
  BOOST_TEST((loaded.state.targets.at("main") == st.targets.at("main")));
  BOOST_TEST((loaded.state.targets.at("replica-2") == st.targets.at("replica-2")));
  BOOST_TEST((loaded.state.targets.at("idle") == PersistedTarget{}));
  // Human-readable: RFC 3339 times, quoted details.
  const std::string text = slurp(store.path());
  BOOST_TEST(text.find("2026-11-22T10:05:00.250Z") != std::string::npos);
  BOOST_TEST(text.find("version: 1") != std::string::npos);
  // Saving again replaces it.
  PersistedState empty;
  BOOST_TEST(store.save(empty) == "");
  BOOST_TEST(store.load().state.targets.empty());
}

BOOST_AUTO_TEST_CASE(test_MissingFileIsAFirstStart) {
  TempDir dir;
  StateStore store(dir.path / "pgvigil-state.yaml");
  auto loaded = store.load();
  BOOST_TEST(loaded.error == "");
  BOOST_TEST(loaded.state.targets.empty());
}

BOOST_AUTO_TEST_CASE(test_CorruptFileIsReportedSetAsideAndReplaced) {
  const char* broken[] = {
      "{{{ not yaml",
      "just a string",
      "version: 2\ntargets: {}\n",
      "targets: {}\n",  // no version
      "version: 1\ntargets: [1, 2]\n",
      "version: 1\ntargets:\n  main:\n    attempts: lots\n",
      "version: 1\ntargets:\n  main:\n    attempts: -1\n",
      "version: 1\ntargets:\n  main:\n    budget: [yesterday]\n",
      "version: 1\ntargets:\n  main:\n    paused: maybe\n",
      "version: 1\ntargets:\n  main:\n    history: [{at: 2026-11-22T10:00:00Z, colour: red}]\n",
      "version: 1\ntargets:\n  main:\n    bogus: 1\n",
      "version: 1\nextra: 1\n",
      "",
  };
  for (const char* text : broken) {
    BOOST_TEST_CONTEXT(text) {
      TempDir dir;
      StateStore store(dir.path / "pgvigil-state.yaml");
      write(store.path(), text);
      auto loaded = store.load();
      BOOST_TEST(!loaded.error.empty());
      BOOST_TEST(loaded.error.find(store.path().string()) != std::string::npos);
      BOOST_TEST(loaded.state.targets.empty());
      const fs::path aside(store.path().string() + ".corrupt");
      BOOST_TEST(fs::exists(aside));
      BOOST_TEST(slurp(aside) == text);
      BOOST_TEST(!fs::exists(store.path()));
      // Next start: a fresh file is written and read back.
      BOOST_TEST(store.save(sample()) == "");
      auto again = store.load();
      BOOST_TEST(again.error == "");
      BOOST_TEST(again.state.targets.size() == 3u);
    }
  }
}

BOOST_AUTO_TEST_CASE(test_ErrorsSayWhere) {
  std::string error;
  BOOST_TEST(!StateStore::parse("version: 1\ntargets:\n  main:\n    attempts: lots\n", &error));
  BOOST_TEST(error.find("line 4") != std::string::npos);
  BOOST_TEST(error.find("attempts") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_DirectoryInTheWayIsSetAside) {
  TempDir dir;
  StateStore store(dir.path / "pgvigil-state.yaml");
  fs::create_directories(store.path());
  auto loaded = store.load();
  BOOST_TEST(!loaded.error.empty());
  BOOST_TEST(store.save(sample()) == "");
  BOOST_TEST(store.load().error == "");
}

BOOST_AUTO_TEST_CASE(test_SaveFailureIsAnErrorNotAnException) {
  TempDir dir;
  write(dir.path / "file", "x");
  // The state dir would have to be inside a regular file: impossible, also for root.
  StateStore store(dir.path / "file" / "state" / "pgvigil-state.yaml");
  std::string err;
  BOOST_CHECK_NO_THROW(err = store.save(sample()));
  BOOST_TEST(!err.empty());
  BOOST_TEST(err.find("state directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_HistoryIsBounded) {
  TempDir dir;
  StateStore store(dir.path / "pgvigil-state.yaml");
  PersistedState st;
  for (int i = 0; i < 50; ++i)
    st.targets["main"].history.push_back(RestartRecord{
        WallTime{std::chrono::seconds{1'700'000'000 + i}}, "auto", "succeeded", "", Millis{i}});
  BOOST_TEST(store.save(st) == "");
  auto loaded = store.load();
  const auto& h = loaded.state.targets.at("main").history;
  BOOST_TEST(h.size() == StateStore::kMaxHistory);
  BOOST_TEST(h.back().took.count() == 49);  // the newest are kept
  BOOST_TEST(h.front().took.count() == 30);
}

BOOST_AUTO_TEST_CASE(test_SpecialCharactersSurvive) {
  PersistedState st;
  st.targets["main"].history.push_back(RestartRecord{
      WallTime{}, "auto", "failed", "line1\nline2: \"quoted\" # not a comment {x}", Millis{1}});
  std::string error;
  auto back = StateStore::parse(StateStore::serialize(st), &error);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->targets.at("main").history.at(0).detail ==
             "line1\nline2: \"quoted\" # not a comment {x}");
}

// A failed attempt's output (issue 10) survives an agent restart: lines, quotes and all; an
// attempt without one writes no key.
BOOST_AUTO_TEST_CASE(test_RestartOutputSurvives) {
  PersistedState st;
  RestartRecord r{WallTime{}, "auto", "failed", "exited 1: pg-restart: start failed", Millis{5}};
  r.output =
      "server log: FATAL:  lock file \"postmaster.pid\" already exists\npg-restart: start "
      "failed\n";
  st.targets["main"].history.push_back(r);
  st.targets["main"].history.push_back(
      RestartRecord{WallTime{}, "auto", "succeeded", "exited 0", Millis{5}});
  const std::string text = StateStore::serialize(st);
  BOOST_TEST(text.find("output:") == text.rfind("output:"));  // once: the failed one only
  std::string error;
  auto back = StateStore::parse(text, &error);
  BOOST_REQUIRE_MESSAGE(back.has_value(), error);
  BOOST_TEST(back->targets.at("main").history.at(0).output == r.output);
  BOOST_TEST(back->targets.at("main").history.at(1).output.empty());
  BOOST_TEST((back->targets.at("main") == st.targets.at("main")));
}

// The blast radius and outage of a restart (issue 10) survive an agent restart too; a record
// without figures writes none and reads back without them.
BOOST_AUTO_TEST_CASE(test_BlastRadiusAndOutageSurvive) {
  PersistedState st;
  RestartRecord r{WallTime{}, "auto", "succeeded", "exited 0", Millis{5}};
  r.sessions_cut = 37;
  r.applications = "api,worker,other";
  r.outage = Millis{12'345};
  st.targets["main"].history.push_back(r);
  st.targets["main"].history.push_back(
      RestartRecord{WallTime{}, "manual", "succeeded", "exited 0", Millis{5}});
  const std::string text = StateStore::serialize(st);
  BOOST_TEST(text.find("sessions_cut: 37") != std::string::npos);
  BOOST_TEST(text.find("outage_ms: 12345") != std::string::npos);
  std::string error;
  auto back = StateStore::parse(text, &error);
  BOOST_REQUIRE_MESSAGE(back.has_value(), error);
  const auto& h = back->targets.at("main").history;
  BOOST_TEST((h.at(0).sessions_cut == std::optional<int>(37)));
  BOOST_TEST(h.at(0).applications == "api,worker,other");
  BOOST_TEST((h.at(0).outage == std::optional<Millis>(Millis{12'345})));
  BOOST_TEST(!h.at(1).sessions_cut.has_value());
  BOOST_TEST(!h.at(1).outage.has_value());
  BOOST_TEST((back->targets.at("main") == st.targets.at("main")));
}

// Found by fuzz_state_store: a target name the config could never hold (here long, with bytes
// that YAML escapes) was read, then written as a key over YAML's 1,024-character limit, which
// did not read back. Names are held to the config's rule; the crash input is in the corpus.
BOOST_AUTO_TEST_CASE(test_TargetNamesFollowTheConfigRule) {
  std::string error;
  const std::string longName(200, 'x');
  for (const std::string& name : {longName, std::string("Main"), std::string("weird: name"),
                                  std::string("a\x1b\xf9") + "b"}) {
    error.clear();
    BOOST_TEST(
        !StateStore::parse("version: 1\ntargets:\n  \"" + name + "\":\n    attempts: 1\n", &error),
        name);
    BOOST_TEST(error.find("target name") != std::string::npos, error);
  }
  BOOST_TEST(StateStore::parse("version: 1\ntargets:\n  main-db_2:\n    attempts: 1\n", &error)
                 .has_value(),
             error);
}

// Issue 9: the time parser wrapped outside what system_clock nanoseconds hold (~1678-2262).
BOOST_AUTO_TEST_CASE(test_WallTimeOutsideTheClockIsRejectedNotWrapped) {
  struct Case {
    const char* text;
    bool ok;
  } cases[] = {
      {"1677-01-01T00:00:00Z", false},
      {"1600-06-15T12:00:00Z", false},
      {"0000-01-01T00:00:00Z", false},
      {"2262-12-31T00:00:00Z", false},
      {"2263-01-01T00:00:00Z", false},
      {"9999-12-31T23:59:59.999Z", false},
      {"2262-04-11T23:47:17Z", false},
      {"1677-09-21T00:12:43Z", false},
      {"2026-13-01T00:00:00Z", false},
      {"2026-00-10T00:00:00Z", false},
      {"2026-01-32T00:00:00Z", false},
      {"2026-01-00T00:00:00Z", false},
      {"2026-01-01T25:00:00Z", false},
      {"2026-01-01T00:60:00Z", false},
      {"2026-01-01T00:00:61Z", false},
      {"2026-01-01T00:00:00+24:00", false},
      // The parser's range is 1900..2200 (test_YearsOutsideWallTimeAreRejected): inside what the
      // clock holds, so these are refused too rather than wrapped.
      {"1678-01-01T00:00:00Z", false},
      {"2262-01-01T00:00:00Z", false},
      {"1900-01-01T00:00:00Z", true},
      {"2200-12-31T23:59:59Z", true},
      {"1970-01-01T00:00:00.000Z", true},
      {"2026-12-03T20:00:00.500Z", true},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto t = parseWallTime(c.text);
      BOOST_TEST(t.has_value() == c.ok);
      // What is accepted is exactly what was written: no wrap-around.
      if (t && std::string(c.text).size() == 24) BOOST_TEST(formatWallTime(*t) == c.text);
    }
  }
  BOOST_TEST(formatWallTime(*parseWallTime("1900-01-01T00:00:00Z")) == "1900-01-01T00:00:00.000Z");
  BOOST_TEST(formatWallTime(*parseWallTime("2200-12-31T23:59:59Z")) == "2200-12-31T23:59:59.000Z");
}

// Persisted values have bounds; a file outside them is set aside as corrupt, with an error that
// says which value, like any other corrupt file.
BOOST_AUTO_TEST_CASE(test_PersistedValuesAreBounded) {
  const WallTime now = at("2026-12-03T20:00:00.000Z");
  auto list = [](std::size_t n, const std::string& item) {
    std::string out = "[";
    for (std::size_t i = 0; i < n; ++i) out += (i ? ", " : "") + item;
    return out + "]";
  };
  const std::string head = "version: 1\ntargets:\n  main:\n";
  struct Case {
    std::string body;
    const char* errorPart;  ///< "" when the file is valid
  } cases[] = {
      {"    attempts: -1\n", "attempts: expected an integer from 0 to 1000000"},
      {"    attempts: 1000001\n", "attempts: expected an integer from 0 to 1000000"},
      {"    attempts: 99999999999999\n", "attempts: expected an integer from 0 to 1000000"},
      {"    attempts: 1000000\n", ""},
      {"    paused: true\n    paused_until: 2100-01-01T00:00:00Z\n", "paused_until: 2100"},
      {"    paused: true\n    paused_until: 9999-12-31T23:59:59Z\n", "paused_until: not an"},
      {"    paused: true\n    paused_until: 2027-12-05T20:00:00Z\n", "more than 366 days"},
      {"    paused: true\n    paused_until: 2027-12-03T20:00:00Z\n", ""},  // a year: fine
      {"    last_attempt_end: 1969-12-31T23:59:59Z\n", "before 1970"},
      {"    last_attempt_end: 1600-01-01T00:00:00Z\n", "last_attempt_end: not an"},
      {"    last_attempt_end: 2026-13-01T00:00:00Z\n", "last_attempt_end: not an"},
      {"    budget: " + list(1001, "2026-12-03T19:00:00Z") + "\n", "at most 1000"},
      {"    budget: " + list(1000, "2026-12-03T19:00:00Z") + "\n", ""},
      {"    history: " + list(1001, "{at: 2026-12-03T19:00:00Z}") + "\n", "at most 1000"},
      {"    history: [{at: 2026-12-03T19:00:00Z, took_ms: 4294967296}]\n", "took_ms"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.body.substr(0, 80)) {
      TempDir dir;
      StateStore store(dir.path / "pgvigil-state.yaml");
      write(store.path(), head + c.body);
      auto loaded = store.load(now);
      if (*c.errorPart == 0) {
        BOOST_TEST(loaded.error == "");
        BOOST_TEST(loaded.state.targets.count("main") == 1u);
        BOOST_TEST(loaded.state.targets.at("main").history.size() <= StateStore::kMaxHistory);
      } else {
        BOOST_TEST(loaded.error.find(c.errorPart) != std::string::npos, loaded.error);
        BOOST_TEST(loaded.error.find("is corrupt") != std::string::npos, loaded.error);
        BOOST_TEST(loaded.state.targets.empty());
        BOOST_TEST(fs::exists(fs::path(store.path().string() + ".corrupt")));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
