#include <boost/test/unit_test.hpp>
#include <memory>
#include <stdexcept>
#include <thread>

#include "events/fanout_sink.h"
#include "events/recording_sink.h"

using namespace pgvigil;

namespace {

class ThrowingSink final : public AlertSink {
 public:
  void emit(const AlertEvent&) override { throw std::runtime_error("disk full"); }
};

AlertEvent named(std::string name) {
  AlertEvent e;
  e.event = std::move(name);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fanout_sink)

BOOST_AUTO_TEST_CASE(test_EverySinkGetsEveryEventInOrder) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  FanoutSink fanout({a, nullptr, b});
  BOOST_TEST(fanout.size() == 2u);
  fanout.emit(named("target_unhealthy"));
  fanout.emit(named("restart_requested"));
  const std::vector<std::string> expected{"target_unhealthy", "restart_requested"};
  BOOST_TEST(a->names() == expected, boost::test_tools::per_element());
  BOOST_TEST(b->names() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(test_AThrowingSinkDoesNotStopTheOthers) {
  auto before = std::make_shared<RecordingSink>();
  auto after = std::make_shared<RecordingSink>();
  FanoutSink fanout;
  fanout.add(before);
  fanout.add(std::make_shared<ThrowingSink>());
  fanout.add(after);
  fanout.emit(named("target_healthy"));
  BOOST_TEST(before->count("target_healthy") == 1u);
  BOOST_TEST(after->count("target_healthy") == 1u);
  BOOST_TEST(fanout.failures() == 1u);
}

BOOST_AUTO_TEST_CASE(test_RemovedSinkGetsNothingMore) {
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  FanoutSink fanout({a, b});
  fanout.emit(named("config_loaded"));
  fanout.remove(a.get());
  fanout.emit(named("config_rejected"));
  BOOST_TEST(a->count() == 1u);
  BOOST_TEST(b->count() == 2u);
  BOOST_TEST(fanout.size() == 1u);
}

BOOST_AUTO_TEST_CASE(test_ConcurrentEmitWhileAdding) {
  auto first = std::make_shared<RecordingSink>();
  FanoutSink fanout({first});
  constexpr int kThreads = 4, kEach = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&fanout] {
      for (int i = 0; i < kEach; ++i) fanout.emit(named("target_degraded"));
    });
  std::vector<std::shared_ptr<RecordingSink>> late;
  for (int i = 0; i < 20; ++i) {
    late.push_back(std::make_shared<RecordingSink>());
    fanout.add(late.back());
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(first->count("target_degraded") == std::size_t{kThreads * kEach});
  for (const auto& s : late) BOOST_TEST(s->count() <= std::size_t{kThreads * kEach});
  BOOST_TEST(fanout.size() == 21u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(recording_sink)

BOOST_AUTO_TEST_CASE(test_RecordsEventsAndLogsApart) {
  RecordingSink sink;
  BOOST_CHECK_THROW(sink.last(), std::out_of_range);
  sink.emit(named("target_unhealthy"));
  sink.emit(named("restart_requested"));
  sink.emit(named("target_unhealthy"));
  sink.log(EventLevel::kWarning, "state file corrupt, replaced", {{"path", "/x"}});
  BOOST_TEST(sink.count() == 3u);
  BOOST_TEST(sink.count("target_unhealthy") == 2u);
  BOOST_TEST(sink.last().event == "target_unhealthy");
  auto logs = sink.logs();
  BOOST_TEST_REQUIRE(logs.size() == 1u);
  BOOST_TEST(logs[0].event == "agent_log");
  BOOST_TEST(logs[0].msg == "state file corrupt, replaced");
  BOOST_TEST(logs[0].fields.at(0).second == "/x");
  sink.clear();
  BOOST_TEST(sink.count() == 0u);
  BOOST_TEST(sink.logs().empty());
}

BOOST_AUTO_TEST_CASE(test_WaitForSeesAnEventFromAnotherThread) {
  RecordingSink sink;
  BOOST_TEST(!sink.waitFor("restart_succeeded", 1, std::chrono::milliseconds{1}));
  std::thread producer([&sink] {
    sink.emit(named("restart_requested"));
    sink.emit(named("restart_succeeded"));
  });
  BOOST_TEST(sink.waitFor("restart_succeeded", 1, std::chrono::seconds{10}));
  producer.join();
  BOOST_TEST(sink.waitFor("", 2, std::chrono::milliseconds{0}));
}

BOOST_AUTO_TEST_SUITE_END()
