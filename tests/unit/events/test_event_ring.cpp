#include <boost/test/unit_test.hpp>
#include <thread>
#include <vector>

#include "events/event_ring.h"

using namespace pgvigil;

namespace {

AlertEvent numbered(int n) {
  AlertEvent e;
  e.event = "target_degraded";
  e.target = "t" + std::to_string(n);
  e.msg = "event " + std::to_string(n);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_ring)

BOOST_AUTO_TEST_CASE(test_RecentIsNewestFirst) {
  EventRing ring(10);
  for (int i = 0; i < 4; ++i) ring.emit(numbered(i));
  auto got = ring.recent(10);
  BOOST_TEST_REQUIRE(got.size() == 4u);
  BOOST_TEST(got[0].msg == "event 3");
  BOOST_TEST(got[1].msg == "event 2");
  BOOST_TEST(got[3].msg == "event 0");
}

BOOST_AUTO_TEST_CASE(test_LimitCutsFromTheNewest) {
  EventRing ring(10);
  for (int i = 0; i < 6; ++i) ring.emit(numbered(i));
  auto got = ring.recent(2);
  BOOST_TEST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0].msg == "event 5");
  BOOST_TEST(got[1].msg == "event 4");
  BOOST_TEST(ring.recent(0).empty());
}

BOOST_AUTO_TEST_CASE(test_BoundedDropsTheOldest) {
  EventRing ring;  // the default capacity
  BOOST_TEST(ring.capacity() == EventRing::kDefaultCapacity);
  const int n = static_cast<int>(EventRing::kDefaultCapacity) + 5;
  for (int i = 0; i < n; ++i) ring.emit(numbered(i));
  BOOST_TEST(ring.size() == EventRing::kDefaultCapacity);
  BOOST_TEST(ring.totalEmitted() == static_cast<std::uint64_t>(n));
  auto all = ring.recent(100000);
  BOOST_TEST_REQUIRE(all.size() == EventRing::kDefaultCapacity);
  BOOST_TEST(all.front().msg == "event " + std::to_string(n - 1));
  BOOST_TEST(all.back().msg == "event 5");  // 0..4 fell out
  for (std::size_t i = 1; i < all.size(); ++i)
    BOOST_TEST_REQUIRE(all[i - 1].target == "t" + std::to_string(n - 1 - int(i - 1)));
}

BOOST_AUTO_TEST_CASE(test_CapacityOneAndZero) {
  EventRing one(1);
  one.emit(numbered(1));
  one.emit(numbered(2));
  BOOST_TEST(one.size() == 1u);
  BOOST_TEST(one.recent(5).at(0).msg == "event 2");
  EventRing zero(0);
  BOOST_TEST(zero.capacity() == 1u);
  zero.emit(numbered(7));
  BOOST_TEST(zero.recent(5).at(0).msg == "event 7");
}

BOOST_AUTO_TEST_CASE(test_EmptyRing) {
  EventRing ring(3);
  BOOST_TEST(ring.size() == 0u);
  BOOST_TEST(ring.recent(3).empty());
}

BOOST_AUTO_TEST_CASE(test_SecretsAreMaskedInStoredEvents) {
  EventRing ring(5);
  ring.setSecrets({"hunter2"});
  AlertEvent e = numbered(1);
  e.msg = "password authentication failed, password hunter2";
  e.fields = {{"conninfo", "host=x password=hunter2"}};
  ring.emit(e);
  auto got = ring.recent(1).at(0);
  BOOST_TEST(got.msg == "password authentication failed, password *****");
  BOOST_TEST(got.fields.at(0).second == "host=x password=*****");
}

BOOST_AUTO_TEST_CASE(test_ConcurrentEmitAndRead) {
  EventRing ring(64);
  constexpr int kThreads = 6, kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&ring, t] {
      for (int i = 0; i < kEach; ++i) ring.emit(numbered(t * kEach + i));
    });
  std::thread reader([&ring] {
    for (int i = 0; i < 200; ++i) {
      auto got = ring.recent(64);
      BOOST_TEST_REQUIRE(got.size() <= 64u);
      for (const auto& e : got) BOOST_TEST_REQUIRE(e.msg == "event " + e.target.substr(1));
    }
  });
  for (auto& th : threads) th.join();
  reader.join();
  BOOST_TEST(ring.totalEmitted() == std::uint64_t{kThreads * kEach});
  BOOST_TEST(ring.size() == 64u);
}

BOOST_AUTO_TEST_SUITE_END()
