// Durations, percentages and sizes (SPEC.md §2): accepted spellings, rejected ones, and the
// shortest exact formatting that parses back to the same value.
#include <boost/test/unit_test.hpp>

#include <limits>

#include "core/units.h"

using namespace pgvigil;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(units)

BOOST_AUTO_TEST_CASE(durations_parse) {
  struct Case {
    const char* text;
    long long ms;
  } cases[] = {
      {"250ms", 250},   {"5s", 5000},       {"2m", 120000},        {"1h", 3600000},
      {"1d", 86400000}, {"1h30m", 5400000}, {"1m30s500ms", 90500}, {"0", 0},
      {"0s", 0},        {" 5s ", 5000},     {"1d2h", 93600000},    {"0ms", 0},
  };
  for (const auto& c : cases) {
    auto r = parseDuration(c.text);
    BOOST_TEST_INFO("input '" << c.text << "'");
    BOOST_TEST(r.ok());
    BOOST_TEST(r.value.count() == c.ms);
  }
}

BOOST_AUTO_TEST_CASE(durations_reject) {
  struct Case {
    const char* text;
    const char* errorPart;
  } cases[] = {
      {"", "empty duration"},
      {"-5s", "negative duration"},
      {"5", "missing unit"},
      {"5 s", "missing unit"},
      {"5x", "unknown unit 'x'"},
      {"5sec", "unknown unit 'sec'"},
      {"abc", "invalid duration"},
      {"ms", "invalid duration"},
      {"1.5s", "fractional duration"},
      {"30m1h", "largest to the smallest"},
      {"5s5s", "largest to the smallest"},
      {"99999999999999999999999ms", "too large"},
      {"9223372036854775807s", "too large"},
      {"106751991168d", "too large"},
      {"5s garbage", "invalid duration"},
  };
  for (const auto& c : cases) {
    auto r = parseDuration(c.text);
    BOOST_TEST_INFO("input '" << c.text << "' error '" << r.error << "'");
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.error.find(c.errorPart) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(durations_format_shortest_exact) {
  struct Case {
    long long ms;
    const char* text;
  } cases[] = {
      {0, "0s"},        {250, "250ms"},     {5000, "5s"},     {90000, "90s"},
      {120000, "2m"},   {3600000, "1h"},    {5400000, "90m"}, {1500, "1500ms"},
      {86400000, "1d"}, {3600001, "1h1ms"}, {-5000, "-5s"},   {3723000, "3723s"},
  };
  for (const auto& c : cases) BOOST_TEST(formatDuration(Millis{c.ms}) == c.text);
}

BOOST_AUTO_TEST_CASE(durations_round_trip) {
  long long values[] = {1,
                        999,
                        1000,
                        1001,
                        59999,
                        60000,
                        61000,
                        3599999,
                        3600000,
                        86399999,
                        86400000,
                        90061001,
                        std::numeric_limits<long long>::max()};
  for (long long v : values) {
    auto text = formatDuration(Millis{v});
    auto back = parseDuration(text);
    BOOST_TEST_INFO(v << " -> " << text);
    BOOST_TEST(back.ok());
    BOOST_TEST(back.value.count() == v);
  }
}

BOOST_AUTO_TEST_CASE(percentages) {
  struct Case {
    const char* text;
    double fraction;
  } ok[] = {{"80%", 0.80},    {"0%", 0.0},    {"100%", 1.0},
            {"99.5%", 0.995}, {"80 %", 0.80}, {"5.%", 0.05}};
  for (const auto& c : ok) {
    auto r = parsePercent(c.text);
    BOOST_TEST_INFO("input '" << c.text << "'");
    BOOST_TEST(r.ok());
    BOOST_TEST(r.value == c.fraction, boost::test_tools::tolerance(1e-12));
  }
  struct Bad {
    const char* text;
    const char* errorPart;
  } bad[] = {{"80", "missing '%'"},
             {"0.8", "missing '%'"},
             {"101%", "out of range"},
             {"-5%", "negative"},
             {"abc%", "invalid"},
             {"%", "invalid"},
             {"", "empty"},
             {"1e2%", "invalid"},
             {"nan%", "invalid"},
             {"100.0001%", "out of range"}};
  for (const auto& c : bad) {
    auto r = parsePercent(c.text);
    BOOST_TEST_INFO("input '" << c.text << "' error '" << r.error << "'");
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.error.find(c.errorPart) != std::string::npos);
  }
  BOOST_TEST(formatPercent(0.8) == "80%");
  BOOST_TEST(formatPercent(0.995) == "99.5%");
  BOOST_TEST(formatPercent(0.1) == "10%");
  BOOST_TEST(formatPercent(1.0) == "100%");
  BOOST_TEST(formatPercent(0.0) == "0%");
  BOOST_TEST(formatPercent(0.07) == "7%");  // 0.07 * 100 is 7.000000000000001 in binary
}

BOOST_AUTO_TEST_CASE(sizes) {
  struct Case {
    const char* text;
    unsigned long long bytes;
  } ok[] = {{"10MB", 10'000'000},
            {"512KB", 512'000},
            {"1GB", 1'000'000'000},
            {"1TB", 1'000'000'000'000},
            {"10MiB", 10 * 1024 * 1024},
            {"512KiB", 512 * 1024},
            {"1GiB", 1ULL << 30},
            {"1048576", 1048576},
            {"0", 0},
            {"100B", 100},
            {"1kib", 1024},
            {"10 MB", 10'000'000},
            {"2mb", 2'000'000}};
  for (const auto& c : ok) {
    auto r = parseSize(c.text);
    BOOST_TEST_INFO("input '" << c.text << "'");
    BOOST_TEST(r.ok());
    BOOST_TEST(r.value == c.bytes);
  }
  struct Bad {
    const char* text;
    const char* errorPart;
  } bad[] = {{"10XB", "unknown unit"},
             {"-1MB", "negative"},
             {"1.5GB", "fractional"},
             {"", "empty"},
             {"MB", "invalid"},
             {"99999999999TB", "too large"},
             {"184467440737095516160", "too large"}};
  for (const auto& c : bad) {
    auto r = parseSize(c.text);
    BOOST_TEST_INFO("input '" << c.text << "' error '" << r.error << "'");
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.error.find(c.errorPart) != std::string::npos);
  }
  BOOST_TEST(formatSize(10'000'000) == "10MB");
  BOOST_TEST(formatSize(1048576) == "1MiB");
  BOOST_TEST(formatSize(20 * 1024 * 1024) == "20MiB");
  BOOST_TEST(formatSize(1500) == "1500B");
  BOOST_TEST(formatSize(0) == "0B");
  for (unsigned long long v : {1ULL, 1000ULL, 1024ULL, 1536ULL, 10'000'000ULL, 1ULL << 40})
    BOOST_TEST(parseSize(formatSize(v)).value == v);
}

BOOST_AUTO_TEST_SUITE_END()
