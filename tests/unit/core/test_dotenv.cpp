// The `.env` parser: dotenv's syntax (quotes, export, comments, CRLF), errors at their line, and a
// canary secret in a malformed line never in any message.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "core/dotenv.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(dotenv)

BOOST_AUTO_TEST_CASE(one_assignment_per_shape) {
  struct Case {
    std::string text;
    std::string key;
    std::string value;
  } cases[] = {
      {"A=b", "A", "b"},
      {"export A=b", "A", "b"},
      {"  export   A = b  ", "A", "b"},
      {"A =b", "A", "b"},
      {"A= b", "A", "b"},
      {"A=", "A", ""},
      {"A=b\r\n", "A", "b"},
      {"A='b c'\r\n", "A", "b c"},
      {"A=\"b c\"\r\n", "A", "b c"},
      {"A=`b c`", "A", "b c"},
      {"A=b # comment", "A", "b"},
      {"A=b#notacomment", "A", "b#notacomment"},
      {"A='b # kept'", "A", "b # kept"},
      {"A=\"b # kept\" # dropped", "A", "b # kept"},
      {"A=\"line1\\nline2\"", "A", "line1\nline2"},
      {"A='line1\\nline2'", "A", "line1\\nline2"},  // single quotes are literal
      {"A=`it's \"x\"`", "A", "it's \"x\""},
      {"A=\"a\\r\\nb\"", "A", "a\nb"},  // an escaped \r is dropped
      {"A=\"say \\\"hi\\\"\"", "A", "say \\\"hi\\\""},
      {"A=postgresql://u:p@h:5432/db?schema=public", "A",
       "postgresql://u:p@h:5432/db?schema=public"},
      {"A=a=b=c", "A", "a=b=c"},
      {"A.B-C=x", "A.B-C", "x"},
      {"A=  # only a comment", "A", ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      DotenvFile f = parseDotenv(c.text);
      BOOST_TEST(f.errors.empty());
      BOOST_TEST_REQUIRE(f.entries.size() == 1u);
      BOOST_TEST(f.entries[0].name == c.key);
      BOOST_TEST(f.entries[0].value == c.value);
    }
  }
}

BOOST_AUTO_TEST_CASE(crlf_file_blank_lines_comments_and_multiline) {
  const std::string text =
      "# the database\r\n"
      "\r\n"
      "DATABASE_URL=postgresql://app@localhost:5433/booking\r\n"
      "   \r\n"
      "export DB_NAME=booking\r\n"
      "CERT=\"-----BEGIN-----\r\nabc\r\n-----END-----\"\r\n"
      "AFTER='x'\r\n"
      "OLD=mac\rLAST=y";
  DotenvFile f = parseDotenv(text);
  BOOST_TEST(f.errors.empty());
  BOOST_TEST_REQUIRE(f.entries.size() == 6u);
  BOOST_TEST(f.entries[0].value == "postgresql://app@localhost:5433/booking");
  BOOST_TEST(f.entries[0].line == 3);
  BOOST_TEST(f.entries[1].value == "booking");
  BOOST_TEST(f.entries[2].value == "-----BEGIN-----\nabc\n-----END-----");
  BOOST_TEST(f.entries[2].line == 6);
  BOOST_TEST(f.entries[3].name == "AFTER");
  BOOST_TEST(f.entries[3].line == 9);
  BOOST_TEST(f.entries[4].value == "mac");
  BOOST_TEST(f.entries[5].line == 11);
  for (const auto& e : f.entries) BOOST_TEST(e.value.find('\r') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_repeated_key_uses_the_last_assignment) {
  DotenvFile f = parseDotenv("A=1\nA=2\n");
  BOOST_TEST_REQUIRE(findLast(f, "A") != nullptr);
  BOOST_TEST(findLast(f, "A")->value == "2");
  BOOST_TEST(findLast(f, "B") == nullptr);
}

BOOST_AUTO_TEST_CASE(malformed_lines_name_the_line_and_never_the_value) {
  const std::string canary = "Canary-S3cret-7781";
  struct Case {
    std::string text;
    int line;
  } cases[] = {
      {"GOOD=1\n" + canary + "\n", 2},                             // no '='
      {"GOOD=1\n\nPASSWORD " + canary + "\n", 3},                  // no '=' after the key
      {"PASSWORD=\"" + canary + "\nNEXT=1\n", 1},                  // unterminated "
      {"PASSWORD='" + canary + "\n", 1},                           // unterminated '
      {"PASSWORD=`" + canary + "\n", 1},                           // unterminated `
      {"PASSWORD=\"" + canary + "\"trailing" + canary + "\n", 1},  // text after the quote
      {"1PASSWORD=" + canary + "\n", 1},                           // key starts with a digit
      {"=" + canary + "\r\n", 1},                                  // no key
      {"A=1\r\nexport " + canary + "\r\n", 2},                     // CRLF, no '='
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      DotenvFile f = parseDotenv(c.text);
      BOOST_TEST_REQUIRE(f.errors.size() == 1u);
      BOOST_TEST(f.errors[0].line == c.line);
      const std::string shown = f.formatErrors("/app/.env");
      BOOST_TEST(shown.find("/app/.env:" + std::to_string(c.line) + ": ") == 0u);
      BOOST_TEST(shown.find(canary) == std::string::npos, shown);
      BOOST_TEST(shown.find("S3cret") == std::string::npos, shown);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_bad_line_does_not_stop_the_rest) {
  DotenvFile f = parseDotenv("A=1\nnonsense\nB=2\n");
  BOOST_TEST(f.errors.size() == 1u);
  BOOST_TEST(f.entries.size() == 2u);
  BOOST_TEST(findLast(f, "B")->value == "2");
}

BOOST_AUTO_TEST_SUITE_END()
