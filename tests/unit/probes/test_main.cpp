// The probes layer's unit-test runner: pure parts only (conninfo, connection-count arithmetic,
// libpq state and message mapping). Runs against real PostgreSQL are in tests/integration.
#define BOOST_TEST_MODULE pgvigil_probes_tests
#include <boost/test/unit_test.hpp>
