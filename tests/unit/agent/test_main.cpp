#define BOOST_TEST_MODULE pgvigil_agent_core
#include <boost/test/unit_test.hpp>
