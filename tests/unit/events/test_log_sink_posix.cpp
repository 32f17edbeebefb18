// LogSink on POSIX only: the real stdout file descriptor, a directory the user cannot write
// (root: sysfs), and `eventlog` refused off Windows. Left out of the Windows runner
// (tests/windows/unit); the platform-neutral cases are in test_log_sink.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <iostream>

#include "events/log_sink.h"
#include "events_test_util.h"
#include "log_sink_test_util.h"

using namespace pgvigil;
using namespace pgvigil::test;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(test_RealStdoutGetsTheLine) {
  TempDir dir;
  std::string captured = dir.file("stdout.txt");
  std::cout.flush();
  int saved = ::dup(STDOUT_FILENO);
  BOOST_TEST_REQUIRE(saved >= 0);
  int fd = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_TEST_REQUIRE(fd >= 0);
  ::dup2(fd, STDOUT_FILENO);
  ::close(fd);
  {
    auto sink = makeSink(consoleConfig());
    sink->emit(sampleEvent());
  }
  std::cout.flush();
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  BOOST_TEST(readFile(captured) == kExpectedText + "\n");
}

BOOST_AUTO_TEST_CASE(test_FileInUnwritableDirectoryIsAClearError) {
  TempDir dir;
  std::string unwritable;
  if (::geteuid() == 0) {
    unwritable = "/sys";  // root may write anywhere a mode allows; sysfs refuses new files
  } else {
    unwritable = dir.file("ro");
    fs::create_directory(unwritable);
    fs::permissions(unwritable, fs::perms::owner_read | fs::perms::owner_exec);
  }
  std::string path = unwritable + "/pgvigil-events-test.log";
  auto built = LogSink::create(fileConfig(path, 1000, 1));
  BOOST_TEST(!built.sink);
  BOOST_TEST(built.error.starts_with("log file " + path + ": directory " + unwritable +
                                     " is not writable by this user ("));
  BOOST_TEST(built.error.find('\n') == std::string::npos);
  BOOST_TEST(!fs::exists(path));
}

BOOST_AUTO_TEST_CASE(test_EventlogIsAConfigErrorOffWindows) {
  LogConfig c;
  c.output = LogOutput::kEventlog;
  auto built = LogSink::create(c);
  BOOST_TEST(!built.sink);
  BOOST_TEST(built.error == "eventlog is only available on Windows");
}
