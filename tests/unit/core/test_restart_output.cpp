// The end of a restart command's output that restart_failed and /status carry (issue 10).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>

#include "core/restart_output.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(restart_output)

// Not just the last line: the line that says why a start failed (the server log's FATAL) comes
// before pg-restart's own last word.
BOOST_AUTO_TEST_CASE(keeps_the_last_20_lines) {
  std::string early;
  for (int i = 0; i < 30; ++i) early += "noise line " + std::to_string(i) + "\n";
  const std::string why = "server log: FATAL:  lock file \"postmaster.pid\" already exists\n";
  const std::string out = restartOutputTail(early + why + "pg-restart: start failed\n\n");
  BOOST_TEST(out.find(why) != std::string::npos);
  BOOST_TEST(out.starts_with("noise line 12\n"));  // 18 noise lines, the FATAL, the last word
  BOOST_TEST(out.ends_with("pg-restart: start failed\n\n"));
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 21);  // and the trailing blank line
  BOOST_TEST(restartOutputTail("one line") == "one line");
  BOOST_TEST(restartOutputTail("a\nb\n") == "a\nb\n");
  BOOST_TEST(restartOutputTail("\nonly\n") == "only\n");
  BOOST_TEST(restartOutputTail("").empty());
  BOOST_TEST(restartOutputTail(" \n\t\n").empty());
}

BOOST_AUTO_TEST_CASE(at_most_4_kib_cut_at_a_line_start) {
  const std::string why = "FATAL:  could not create lock file\n";
  std::string out =
      restartOutputTail(std::string(3000, 'a') + "\n" + std::string(3000, 'b') + "\n" + why);
  BOOST_TEST(out.size() <= kRestartOutputBytes);
  BOOST_TEST(out == std::string(3000, 'b') + "\n" + why);
  // One line longer than the bound: its end.
  out = restartOutputTail(std::string(10000, 'c') + "\n");
  BOOST_TEST(out.size() == kRestartOutputBytes);
  BOOST_TEST(out.ends_with("c\n"));
}

BOOST_AUTO_TEST_SUITE_END()
