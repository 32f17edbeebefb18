// Issue 13: the one token-file reader, shared by the agent and the control commands. A token
// file with a leading space once gave 401 from the CLI while the agent accepted it.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "core/token_file.h"
#include "temp_dir.h"

using namespace pgvigil;
using pgvigil::testing::TempDir;

namespace {}  // namespace

BOOST_AUTO_TEST_SUITE(token_file)

BOOST_AUTO_TEST_CASE(surrounding_whitespace_and_line_ends_are_trimmed) {
  TempDir dir("pgvigil-token-test-");
  const char* files[] = {
      "s3cret",       "s3cret\n",       "s3cret\r\n",     " s3cret",
      "  s3cret  \n", "\ts3cret\t\r\n", "s3cret\nnext\n", " s3cret \r\nsecond line\r\n",
      "\r\ns3cret",  // a blank first line is not skipped: see below
  };
  for (std::size_t i = 0; i + 1 < std::size(files); ++i) {
    BOOST_TEST_CONTEXT("file #" << i) {
      auto r = loadTokenFile(dir.write("token", files[i]));
      BOOST_TEST(r.error.empty());
      BOOST_TEST(r.token.value_or("<none>") == "s3cret");
    }
  }
  // Only the first line counts: an empty first line is an empty token file.
  auto r = loadTokenFile(dir.write("token", files[std::size(files) - 1]));
  BOOST_TEST(!r.token);
  BOOST_TEST(r.error.find("is empty") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_blank_and_missing_files_are_errors) {
  TempDir dir("pgvigil-token-test-");
  for (const char* content : {"", "\n", "   \r\n", "\t"}) {
    auto r = loadTokenFile(dir.write("token", content));
    BOOST_TEST(!r.token);
    BOOST_TEST(r.error.find("is empty") != std::string::npos);
  }
  auto missing = loadTokenFile((dir.path / "absent").string());
  BOOST_TEST(!missing.token);
  BOOST_TEST(missing.error.find("cannot read token_file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(inner_space_or_control_byte_is_an_error_that_hides_the_content) {
  TempDir dir("pgvigil-token-test-");
  for (std::string content :
       {std::string("half secret\n"), std::string("ctl\x01secret"), std::string("del\x7fsecret")}) {
    auto r = loadTokenFile(dir.write("token", content));
    BOOST_TEST(!r.token);
    BOOST_TEST(r.error.find("control character or space") != std::string::npos);
    BOOST_TEST(r.error.find("secret") == std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
