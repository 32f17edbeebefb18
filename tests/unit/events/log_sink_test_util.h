// Helpers shared by the LogSink tests (test_log_sink.cpp, test_log_sink_posix.cpp).
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "events/log_sink.h"

namespace pgvigil::test {

inline const std::string kExpectedText =
    "ts=2026-11-22T13:00:00.123Z level=error event=target_unhealthy target=main "
    "state=unhealthy previous_state=healthy cause=refused "
    "msg=\"connection refused on 127.0.0.1:5432\" attempt=3";

inline LogConfig consoleConfig(LogFormat format = LogFormat::kText,
                               LogLevel level = LogLevel::kInfo) {
  LogConfig c;
  c.format = format;
  c.output = LogOutput::kStdout;
  c.level = level;
  return c;
}

inline std::unique_ptr<LogSink> makeSink(const LogConfig& config, LogSinkOptions options = {}) {
  auto built = LogSink::create(config, options);
  BOOST_TEST_REQUIRE(built.error == "");
  BOOST_TEST_REQUIRE(built.sink != nullptr);
  return std::move(built.sink);
}

inline LogConfig fileConfig(const std::string& path, std::uint64_t size, int keep) {
  LogConfig c;
  c.output = LogOutput::kFile;
  c.file = path;
  c.rotate_size = size;
  c.rotate_keep = keep;
  return c;
}

}  // namespace pgvigil::test
