// The events layer's test runner: formatting, ring, fan-out, log outputs, redaction.
#define BOOST_TEST_MODULE pgvigil_events
#include <boost/test/unit_test.hpp>
