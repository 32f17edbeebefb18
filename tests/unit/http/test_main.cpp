// The pgvigil_http unit test runner. Suites live in the other files of this folder.
#define BOOST_TEST_MODULE pgvigil_http
#include <boost/test/unit_test.hpp>
