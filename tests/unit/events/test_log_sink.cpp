#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "events/event_format.h"
#include "events/log_sink.h"
#include "events_test_util.h"
#include "log_sink_test_util.h"

using namespace pgvigil;
using namespace pgvigil::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> filesIn(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

AlertEvent seqEvent(int thread, int seq) {
  AlertEvent e = sampleEvent();
  e.msg = "line from thread " + std::to_string(thread) + " with some padding to make it longer";
  e.fields = {{"thread", std::to_string(thread)}, {"seq", std::to_string(seq)}};
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_sink)

BOOST_AUTO_TEST_CASE(test_TextLineToConsole) {
  std::ostringstream out;
  auto sink = makeSink(consoleConfig(), {.console = &out});
  sink->emit(sampleEvent());
  BOOST_TEST(out.str() == kExpectedText + "\n");
}

BOOST_AUTO_TEST_CASE(test_JsonLineToConsole) {
  std::ostringstream out;
  auto sink = makeSink(consoleConfig(LogFormat::kJson), {.console = &out});
  sink->emit(sampleEvent());
  BOOST_TEST(out.str() == formatEventJson(sampleEvent()) + "\n");
  Poco::JSON::Parser parser;
  auto obj = parser.parse(out.str()).extract<Poco::JSON::Object::Ptr>();
  BOOST_TEST(obj->getValue<std::string>("event") == "target_unhealthy");
}

BOOST_AUTO_TEST_CASE(test_LevelFilter) {
  struct Row {
    LogLevel configured;
    EventLevel event;
    bool passes;
  };
  const Row rows[] = {
      {LogLevel::kDebug, EventLevel::kDebug, true},
      {LogLevel::kInfo, EventLevel::kDebug, false},
      {LogLevel::kInfo, EventLevel::kInfo, true},
      {LogLevel::kWarning, EventLevel::kInfo, false},
      {LogLevel::kWarning, EventLevel::kWarning, true},
      {LogLevel::kWarning, EventLevel::kError, true},
      {LogLevel::kError, EventLevel::kWarning, false},
      {LogLevel::kError, EventLevel::kError, true},
      {LogLevel::kError, EventLevel::kCritical, true},  // critical always passes
  };
  for (const auto& row : rows) {
    std::ostringstream out;
    auto sink = makeSink(consoleConfig(LogFormat::kText, row.configured), {.console = &out});
    sink->emit(sampleEvent(row.event));
    sink->log(row.event, "diagnostic", {});
    BOOST_TEST_CONTEXT("configured " << toString(row.configured) << ", event "
                                     << toString(row.event)) {
      BOOST_TEST(sink->accepts(row.event) == row.passes);
      BOOST_TEST(splitLines(out.str()).size() == (row.passes ? 2u : 0u));
    }
  }
}

BOOST_AUTO_TEST_CASE(test_AgentLogGoesThroughTheSameChannel) {
  std::ostringstream out;
  FakeClock clock(WallTime{std::chrono::milliseconds{1'700'000'000'250}});
  auto sink = makeSink(consoleConfig(), {.clock = &clock, .console = &out});
  sink->log(EventLevel::kWarning, "state file corrupt, replaced",
            {{"path", "/var/lib/pgvigil/state.yaml"}});
  BOOST_TEST(out.str() ==
             "ts=2023-11-14T22:13:20.250Z level=warning event=agent_log target=\"\" state=\"\" "
             "previous_state=\"\" cause=\"\" msg=\"state file corrupt, replaced\" "
             "path=/var/lib/pgvigil/state.yaml\n");
}

BOOST_AUTO_TEST_CASE(test_SecretsNeverPrinted) {
  for (auto format : {LogFormat::kText, LogFormat::kJson}) {
    std::ostringstream out;
    auto sink = makeSink(consoleConfig(format), {.console = &out});
    // A secret with a quote: after escaping it no longer appears verbatim in the line, so it
    // must be masked before formatting, not only in the finished line.
    sink->setSecrets({"s3cr3t-pw", "t0k\"en\\x"});
    AlertEvent e = sampleEvent();
    e.msg = "auth failed for password s3cr3t-pw";
    e.fields = {{"conninfo", "host=h password=s3cr3t-pw"}, {"token", "t0k\"en\\x"}};
    sink->emit(e);
    sink->log(EventLevel::kError, "token t0k\"en\\x rejected", {{"pw", "s3cr3t-pw"}});
    std::string text = out.str();
    BOOST_TEST_CONTEXT("format " << toString(format)) {
      BOOST_TEST(splitLines(text).size() == 2u);
      BOOST_TEST(text.find("s3cr3t") == std::string::npos);
      BOOST_TEST(text.find("t0k") == std::string::npos);
      BOOST_TEST(text.find("en\\\\x") == std::string::npos);
      BOOST_TEST(text.find("*****") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(test_PasswordPatternMaskedAndLinesStayWellFormed) {
  for (auto format : {LogFormat::kText, LogFormat::kJson}) {
    std::ostringstream out;
    auto sink = makeSink(consoleConfig(format), {.console = &out});
    AlertEvent e = sampleEvent();
    e.msg = "conninfo host=db password=pw1\nnext \"password=pw2\"";
    e.fields = {{"password", "pw3"}, {"dsn", "postgres://u:pw4@h/db"}};
    sink->emit(e);
    std::string text = out.str();
    BOOST_TEST_CONTEXT("format " << toString(format) << ": " << text) {
      BOOST_TEST(splitLines(text).size() == 1u);
      for (const char* pw : {"pw1", "pw2", "pw3", "pw4"})
        BOOST_TEST(text.find(pw) == std::string::npos);
      if (format == LogFormat::kJson) {
        Poco::JSON::Parser parser;
        auto obj = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
        BOOST_TEST(obj->getValue<std::string>("msg") ==
                   "conninfo host=db password=*****\nnext \"password=*****");
        BOOST_TEST(obj->getValue<std::string>("password") == "*****");
        BOOST_TEST(obj->getValue<std::string>("dsn") == "postgres://u:*****@h/db");
      } else {
        BOOST_TEST(text.find(" msg=\"conninfo host=db password=*****\\nnext "
                             "\\\"password=*****\" password=***** dsn=postgres://u:*****@h/db\n") !=
                   std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(test_FileOutputWritesLines) {
  TempDir dir;
  std::string path = dir.file("pgvigil.log");
  {
    auto sink = makeSink(fileConfig(path, 10'000'000, 5));
    sink->emit(sampleEvent());
    // Synchronous: the line is in the file as soon as emit returns.
    BOOST_TEST(readFile(path) == kExpectedText + kFileEol);
    sink->emit(sampleEvent(EventLevel::kCritical));
  }
  auto lines = fileLines(readFile(path));
  BOOST_TEST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[1].find("level=critical") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_FileRotatesBySizeAndKeepsArchives) {
  TempDir dir;
  std::string path = dir.file("pgvigil.log");
  const int kLines = 200;
  {
    auto sink = makeSink(fileConfig(path, 1000, 3));
    for (int i = 0; i < kLines; ++i) sink->emit(seqEvent(0, i));
  }
  const std::vector<std::string> expected{"pgvigil.log", "pgvigil.log.0", "pgvigil.log.1",
                                          "pgvigil.log.2"};
  BOOST_TEST(filesIn(dir.path()) == expected, boost::test_tools::per_element());
  // Every file stays near the size limit (rotation happens before the write that would pass it),
  // and oldest archive .2, then .1, .0 and the live file hold consecutive lines, the last one last.
  std::vector<int> seqs;
  for (const char* name : {"pgvigil.log.2", "pgvigil.log.1", "pgvigil.log.0", "pgvigil.log"}) {
    std::string content = readFile(dir.file(name));
    BOOST_TEST(content.size() <= 1000u + 300u);
    for (const auto& line : fileLines(content)) {
      std::smatch m;
      BOOST_TEST_REQUIRE(std::regex_search(line, m, std::regex(" seq=([0-9]+)$")));
      seqs.push_back(std::stoi(m[1]));
    }
  }
  BOOST_TEST_REQUIRE(!seqs.empty());
  BOOST_TEST(seqs.back() == kLines - 1);
  for (std::size_t i = 1; i < seqs.size(); ++i) BOOST_TEST_REQUIRE(seqs[i] == seqs[i - 1] + 1);
  BOOST_TEST(seqs.size() < std::size_t{kLines});  // older lines were really dropped
}

BOOST_AUTO_TEST_CASE(test_FileKeepZeroKeepsNoArchive) {
  TempDir dir;
  std::string path = dir.file("a.log");
  {
    auto sink = makeSink(fileConfig(path, 500, 0));
    for (int i = 0; i < 50; ++i) sink->emit(seqEvent(0, i));
  }
  const std::vector<std::string> expected{"a.log"};
  BOOST_TEST(filesIn(dir.path()) == expected, boost::test_tools::per_element());
  BOOST_TEST(readFile(path).find("seq=49") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_FileInMissingDirectoryIsAClearError) {
  TempDir dir;
  std::string path = dir.file("nope/pgvigil.log");
  auto built = LogSink::create(fileConfig(path, 1000, 1));
  BOOST_TEST(!built.sink);
  BOOST_TEST(built.error ==
             "log file " + path + ": directory " + dir.file("nope") + " does not exist");
}

BOOST_AUTO_TEST_CASE(test_FileUnderARegularFileIsAClearError) {
  TempDir dir;
  std::ofstream(dir.file("plain")) << "x";
  std::string path = dir.file("plain/pgvigil.log");
  auto built = LogSink::create(fileConfig(path, 1000, 1));
  BOOST_TEST(!built.sink);
  BOOST_TEST(built.error == "log file " + path + ": " + dir.file("plain") + " is not a directory");
}

BOOST_AUTO_TEST_CASE(test_ConcurrentEmitNeverTearsLines) {
  TempDir dir;
  std::string path = dir.file("pgvigil.log");
  constexpr int kThreads = 8, kEach = 250;
  {
    // Small files and many archives: threads write through rotations too.
    auto sink = makeSink(fileConfig(path, 20'000, 1000));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&sink, t] {
        for (int i = 0; i < kEach; ++i) sink->emit(seqEvent(t, i));
      });
    for (auto& th : threads) th.join();
  }
  const std::regex shape(
      "ts=2026-11-22T13:00:00\\.123Z level=error event=target_unhealthy target=main "
      "state=unhealthy previous_state=healthy cause=refused "
      "msg=\"line from thread ([0-9]) with some padding to make it longer\" "
      "thread=([0-9]) seq=([0-9]+)");
  std::set<std::pair<int, int>> seen;
  std::size_t files = 0, lines = 0;
  for (const auto& name : filesIn(dir.path())) {
    ++files;
    for (const auto& line : fileLines(readFile(dir.file(name)))) {
      ++lines;
      std::smatch m;
      BOOST_TEST_REQUIRE(std::regex_match(line, m, shape), "torn line: " << line);
      BOOST_TEST_REQUIRE(m[1] == m[2]);
      seen.emplace(std::stoi(m[2]), std::stoi(m[3]));
    }
  }
  BOOST_TEST(files > 1u);  // it did rotate
  BOOST_TEST(lines == std::size_t{kThreads * kEach});
  BOOST_TEST(seen.size() == std::size_t{kThreads * kEach});
}

BOOST_AUTO_TEST_CASE(test_ConcurrentEmitToConsole) {
  std::ostringstream out;
  constexpr int kThreads = 4, kEach = 300;
  {
    auto sink = makeSink(consoleConfig(LogFormat::kJson), {.console = &out});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&sink, t] {
        for (int i = 0; i < kEach; ++i) sink->emit(seqEvent(t, i));
      });
    for (auto& th : threads) th.join();
  }
  std::map<std::string, int> perThread;
  Poco::JSON::Parser parser;
  auto lines = splitLines(out.str());
  BOOST_TEST_REQUIRE(lines.size() == std::size_t{kThreads * kEach});
  for (const auto& line : lines) {
    parser.reset();
    auto obj = parser.parse(line).extract<Poco::JSON::Object::Ptr>();
    ++perThread[obj->getValue<std::string>("thread")];
  }
  BOOST_TEST(perThread.size() == std::size_t{kThreads});
  for (const auto& [thread, n] : perThread) BOOST_TEST(n == kEach);
}

BOOST_AUTO_TEST_SUITE_END()
