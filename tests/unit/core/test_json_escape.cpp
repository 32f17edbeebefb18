#include <boost/test/unit_test.hpp>

#include "core/json_escape.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(json_escape)

BOOST_AUTO_TEST_CASE(escapes_quotes_backslashes_and_every_control_byte) {
  const std::pair<std::string, std::string> cases[] = {
      {"plain", "plain"},
      {"a\"b", "a\\\"b"},
      {"back\\slash", "back\\\\slash"},
      {"l1\nl2\r\t", "l1\\nl2\\r\\t"},
      {std::string("\b\f", 2), "\\b\\f"},
      {std::string("\x01\x1f\x7f", 3), "\\u0001\\u001f\\u007f"},
      {std::string("nul\0x", 5), "nul\\u0000x"},
      {"caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93"},  // UTF-8 passes through
  };
  for (const auto& [in, expected] : cases) {
    std::string out = "[";
    appendJsonEscaped(out, in);
    BOOST_TEST(out == "[" + expected);
  }
}

BOOST_AUTO_TEST_SUITE_END()
