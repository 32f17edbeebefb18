#define BOOST_TEST_MODULE pgvigil_app
#include <boost/test/unit_test.hpp>
