// Boost.Test for the Windows runners: Debian has no mingw build of the library, so each runner
// links this one translation unit of the header-only variant (with its main(); the layers'
// test_main.cpp files define BOOST_TEST_MODULE as on Linux, without BOOST_TEST_DYN_LINK).
#include <boost/test/included/unit_test.hpp>
