// The monitoring session's keep-alive under idle_session_timeout (issue 10), on a simulated
// clock: when the query is due, what it reads, and that a session that reads no timeout is
// never pinged.
#include <boost/test/unit_test.hpp>

#include "core/idle_session.h"

using namespace pgvigil;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(idle_session)

BOOST_AUTO_TEST_CASE(time_settings_read_as_current_setting_shows_them) {
  BOOST_TEST(parseTimeSetting("0").value().count() == 0);
  BOOST_TEST(parseTimeSetting("250ms").value().count() == 250);
  BOOST_TEST(parseTimeSetting("2s").value().count() == 2000);
  BOOST_TEST(parseTimeSetting("5min").value().count() == 300000);
  BOOST_TEST(parseTimeSetting("1h").value().count() == 3600000);
  BOOST_TEST(parseTimeSetting("1d").value().count() == 86400000);
  BOOST_TEST(parseTimeSetting("1500").value().count() == 1500);  // a bare number: ms
  BOOST_TEST(!parseTimeSetting(""));
  BOOST_TEST(!parseTimeSetting("s"));
  BOOST_TEST(!parseTimeSetting("2 weeks"));
  BOOST_TEST(!parseTimeSetting("-1s"));
  BOOST_TEST(!parseTimeSetting("99999999999999999d"));  // overflow is not a timeout
}

BOOST_AUTO_TEST_CASE(keep_alive_comes_at_half_the_timeout_and_at_most_5s_before_it) {
  BOOST_TEST(keepAliveAfter(2s).count() == 1000);
  BOOST_TEST(keepAliveAfter(10s).count() == 5000);
  BOOST_TEST(keepAliveAfter(1min).count() == 55000);
  BOOST_TEST(keepAliveAfter(100ms).count() == 50);
  BOOST_TEST(keepAliveAfter(1ms).count() == 10);  // a floor: never a busy loop
}

BOOST_AUTO_TEST_CASE(an_open_session_reads_its_timeout_at_once_then_stays_inside_it) {
  FakeClock clock;
  IdleSessionKeepAlive k;
  BOOST_TEST(!k.nextDue());  // closed: nothing to keep alive
  k.opened(clock.now());
  BOOST_TEST(k.due(clock.now()));  // the timeout is read first
  k.sent(clock.now());
  clock.advance(2ms);
  k.timeoutRead(2s);
  BOOST_TEST(k.timeout().value().count() == 2000);
  BOOST_TEST(k.every().value().count() == 1000);
  // Idle for 10 s (a round every 10 s): a keep-alive query every second, each before the
  // server's 2 s would end the session.
  SteadyTime lastMessage = clock.now() - 2ms;
  int sent = 0;
  for (int i = 0; i < 10000; ++i) {
    clock.advance(1ms);
    if (k.due(clock.now())) {
      BOOST_TEST((clock.now() - lastMessage < 2s));
      k.sent(clock.now());
      lastMessage = clock.now();
      ++sent;
    }
  }
  BOOST_TEST(sent == 10);
  // A round's query is also a message: it moves the next keep-alive.
  k.sent(clock.now());
  const SteadyTime next = *k.nextDue();
  BOOST_TEST((next - clock.now() == 1s));
}

BOOST_AUTO_TEST_CASE(no_timeout_means_no_keep_alive) {
  FakeClock clock;
  IdleSessionKeepAlive k;
  k.opened(clock.now());
  k.sent(clock.now());
  k.timeoutRead(0ms);
  BOOST_TEST(!k.nextDue());
  clock.advance(24h);
  BOOST_TEST(!k.due(clock.now()));
  // Before PostgreSQL 14 the setting does not exist (NULL): nothing to keep alive either.
  k.opened(clock.now());
  k.timeoutRead(std::nullopt);
  BOOST_TEST(!k.nextDue());
  BOOST_TEST(k.timeout().value().count() == 0);
}

BOOST_AUTO_TEST_CASE(a_changed_timeout_is_followed_and_a_closed_session_forgets_it) {
  FakeClock clock;
  IdleSessionKeepAlive k;
  k.opened(clock.now());
  k.sent(clock.now());
  k.timeoutRead(1min);
  BOOST_TEST((*k.nextDue() - clock.now() == 55s));
  clock.advance(55s);
  BOOST_TEST(k.due(clock.now()));
  k.sent(clock.now());
  k.timeoutRead(4s);  // ALTER ROLE ... SET idle_session_timeout, read by the keep-alive query
  BOOST_TEST((*k.nextDue() - clock.now() == 2s));
  k.closed();
  BOOST_TEST(!k.nextDue());
  BOOST_TEST(!k.timeout());
}

BOOST_AUTO_TEST_SUITE_END()
