// AsyncSink: emit() never waits for the output; what the bound cannot hold is counted and said
// once the output takes lines again; flush() writes out what is queued.
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "events/async_sink.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

/// An output that can be held shut, as a stdout pipe nobody reads.
struct GatedOutput final : AlertSink, AgentLog {
  std::mutex mutex;
  std::condition_variable cv;
  bool shut = false;
  int writing = 0;
  std::vector<std::string> lines;

  void write(std::string line) {
    std::unique_lock lock(mutex);
    ++writing;
    cv.notify_all();
    cv.wait(lock, [this] { return !shut; });
    --writing;
    lines.push_back(std::move(line));
  }
  void emit(const AlertEvent& e) override { write("event " + e.event); }
  void log(EventLevel, std::string_view msg, const EventFields& fields) override {
    std::string line = "log " + std::string(msg);
    for (const auto& [k, v] : fields) line += " " + k + "=" + v;
    write(std::move(line));
  }
  void setShut(bool s) {
    {
      std::lock_guard lock(mutex);
      shut = s;
    }
    cv.notify_all();
  }
  bool waitWriting() {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 5s, [this] { return writing > 0; });
  }
};

AlertEvent event(std::string name) {
  AlertEvent e;
  e.event = std::move(name);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(async_sink)

BOOST_AUTO_TEST_CASE(emit_returns_while_the_output_is_blocked_and_losses_are_counted_then_said) {
  GatedOutput out;
  out.setShut(true);
  AsyncSink sink(out, out, 4);
  sink.emit(event("e0"));  // taken by the writer, which then blocks in the output
  BOOST_REQUIRE(out.waitWriting());
  for (int i = 1; i <= 10; ++i) sink.emit(event("e" + std::to_string(i)));  // none of these waits
  BOOST_TEST(sink.queued() == 4u);
  BOOST_TEST(sink.dropped() == 6u);
  out.setShut(false);
  BOOST_TEST(sink.flush(5s));
  std::lock_guard lock(out.mutex);
  // e0, then the report of the loss, then the four that fit, in order.
  BOOST_REQUIRE(out.lines.size() == 6u);
  BOOST_TEST(out.lines[0] == "event e0");
  BOOST_TEST(out.lines[1].find("dropped=6") != std::string::npos);
  BOOST_TEST(out.lines[2] == "event e1");
  BOOST_TEST(out.lines[5] == "event e4");
}

BOOST_AUTO_TEST_CASE(nothing_is_lost_within_the_bound_and_flush_writes_it_out) {
  GatedOutput out;
  AsyncSink sink(out, out, 100);
  for (int i = 0; i < 50; ++i) sink.emit(event("e" + std::to_string(i)));
  sink.log(EventLevel::kWarning, "diagnostic", {{"k", "v"}});
  BOOST_TEST(sink.flush(5s));
  BOOST_TEST(sink.dropped() == 0u);
  std::lock_guard lock(out.mutex);
  BOOST_REQUIRE(out.lines.size() == 51u);
  BOOST_TEST(out.lines[49] == "event e49");
  BOOST_TEST(out.lines[50] == "log diagnostic k=v");
}

BOOST_AUTO_TEST_SUITE_END()
