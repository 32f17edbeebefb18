// Durations, percentages and sizes (docs/reference.md §2): accepted spellings, rejected ones, and
// the shortest exact formatting that parses back to the same value.
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

BOOST_AUTO_TEST_CASE(durations_format_in_clock_style) {
  struct Case {
    long long ms;
    const char* text;
  } cases[] = {
      {0, "0s"},         {250, "250ms"},         {5000, "5s"},       {90000, "1m30s"},
      {120000, "2m"},    {3600000, "1h"},        {5400000, "1h30m"}, {1500, "1500ms"},
      {86400000, "24h"}, {3600001, "3600001ms"}, {-5000, "-5s"},     {3723000, "1h2m3s"},
  };
  for (const auto& c : cases) {
    auto text = formatDuration(Millis{c.ms}, DurationStyle::kClock);
    BOOST_TEST_INFO(c.ms);
    BOOST_TEST(text == c.text);
    if (c.ms >= 0) BOOST_TEST(parseDuration(text).value.count() == c.ms);  // reads back exactly
  }
  // The default is the shortest style.
  BOOST_TEST(formatDuration(Millis{90000}) ==
             formatDuration(Millis{90000}, DurationStyle::kShortest));
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
                        kMaxDuration.count()};  // the longest any input may be
  for (long long v : values) {
    auto text = formatDuration(Millis{v});
    auto back = parseDuration(text);
    BOOST_TEST_INFO(v << " -> " << text);
    BOOST_TEST(back.ok());
    BOOST_TEST(back.value.count() == v);
  }
}

// Issue 9: "200000d" once passed and then overflowed steady_clock nanoseconds (a pause that ended
// after a second). Now every value beyond the limit is an error that names it, and everything
// that passes converts to nanoseconds and can be added to the current time without overflow.
BOOST_AUTO_TEST_CASE(durations_are_bounded) {
  struct Case {
    const char* text;
    Millis max;
    bool ok;
    const char* errorPart;  ///< for a rejection
  } cases[] = {
      {"36500d", kMaxDuration, true, ""},
      {"36499d23h59m59s999ms", kMaxDuration, true, ""},
      {"36500d1ms", kMaxDuration, false, "'36500d1ms' is too large; the most allowed is 36500d"},
      {"36501d", kMaxDuration, false, "the most allowed is 36500d"},
      {"200000d", kMaxDuration, false, "'200000d' is too large; the most allowed is 36500d"},
      {"106752d", kMaxDuration, false, "the most allowed is 36500d"},  // ~ int64 ns overflow
      {"9223372036854775807ms", kMaxDuration, false, "the most allowed is 36500d"},
      {"9223372036854775808ms", kMaxDuration, false, "the most allowed is 36500d"},
      {"876001h", kMaxDuration, false, "the most allowed is 36500d"},
      {"36000d876000h", kMaxDuration, false, "the most allowed is 36500d"},  // the sum is too big
      {"365d", 365 * 24h, true, ""},
      {"364d23h59m59s999ms", 365 * 24h, true, ""},
      {"365d1ms", 365 * 24h, false, "'365d1ms' is too large; the most allowed is 365d"},
      {"200000d", 365 * 24h, false, "'200000d' is too large; the most allowed is 365d"},
      {"2s", 1s, false, "the most allowed is 1s"},
      {"1s", 1s, true, ""},
      {"0", Millis{0}, true, ""},
      {"1ms", Millis{0}, false, "the most allowed is 0s"},
      // A caller's max above the global one (or negative) is the global one.
      {"36501d", Millis::max(), false, "the most allowed is 36500d"},
      {"1d", Millis{-1}, true, ""},
      {"36501d", Millis{-1}, false, "the most allowed is 36500d"},
  };
  for (const auto& c : cases) {
    auto r = parseDuration(c.text, c.max);
    BOOST_TEST_INFO("input '" << c.text << "' max " << c.max.count() << "ms error '" << r.error
                              << "'");
    BOOST_TEST(r.ok() == c.ok);
    if (!c.ok) BOOST_TEST(r.error.find(c.errorPart) != std::string::npos);
    if (c.ok) BOOST_TEST(r.value <= kMaxDuration);
  }
  // The default bound is the global one.
  BOOST_TEST(parseDuration("36500d").ok());
  BOOST_TEST(!parseDuration("36500d1ms").ok());

  // Headroom: the longest duration, in nanoseconds, added to a wall time in 2126 (a century
  // from now) or to a steady time of 100 years of uptime, stays representable.
  using Nanos = std::chrono::nanoseconds;
  const auto maxNs = std::chrono::duration_cast<Nanos>(kMaxDuration);
  BOOST_TEST(maxNs.count() / 1'000'000 == kMaxDuration.count());  // no wrap in the cast
  const auto century = std::chrono::duration_cast<Nanos>(std::chrono::hours{24 * 36525});
  using SysDur = std::chrono::system_clock::duration;
  using SteadyDur = std::chrono::steady_clock::duration;
  BOOST_TEST((std::chrono::duration_cast<SysDur>(maxNs) <
              SysDur::max() - std::chrono::duration_cast<SysDur>(century)));
  BOOST_TEST((std::chrono::duration_cast<SteadyDur>(maxNs) <
              SteadyDur::max() - std::chrono::duration_cast<SteadyDur>(century)));
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

BOOST_AUTO_TEST_CASE(percentages_format_whole_and_read_back) {
  BOOST_TEST(formatWholePercent(0.8) == "80%");
  BOOST_TEST(formatWholePercent(0.955) == "96%");
  BOOST_TEST(formatWholePercent(0.0) == "0%");
  BOOST_TEST(formatWholePercent(1.0) == "100%");
  for (double f : {0.0, 0.05, 0.8, 0.99, 1.0})
    BOOST_TEST(parsePercent(formatWholePercent(f)).value == f, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_SUITE_END()
