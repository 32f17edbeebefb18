#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <chrono>

#include "core/wall_time.h"
#include "events/event_format.h"
#include "events_test_util.h"

using namespace pgvigil;
using pgvigil::test::sampleEvent;
using namespace std::chrono;

namespace {

WallTime at(year_month_day day, milliseconds inDay) {
  return WallTime{duration_cast<WallTime::duration>(sys_days{day}.time_since_epoch() + inDay)};
}

AlertEvent agentEvent(std::string msg) {
  AlertEvent e;
  e.ts = at(2026y / 1 / 2, 3h + 4min + 5s + 6ms);
  e.level = EventLevel::kInfo;
  e.event = "agent_started";
  e.msg = std::move(msg);
  return e;
}

constexpr std::string_view kAgentPrefix =
    "ts=2026-01-02T03:04:05.006Z level=info event=agent_started target=\"\" state=\"\" "
    "previous_state=\"\" cause=\"\" ";

Poco::JSON::Object::Ptr parse(const std::string& line) {
  Poco::JSON::Parser parser;
  return parser.parse(line).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_format)

BOOST_AUTO_TEST_CASE(test_TimestampIsRfc3339UtcMillis) {
  BOOST_TEST(formatWallTime(WallTime{}) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(formatWallTime(at(2026y / 11 / 22, 13h + 123ms)) == "2026-11-22T13:00:00.123Z");
  BOOST_TEST(formatWallTime(at(2024y / 2 / 29, 23h + 59min + 59s + 999ms)) ==
             "2024-02-29T23:59:59.999Z");
  // Sub-millisecond parts are truncated, never rounded up into the next second.
  BOOST_TEST(formatWallTime(WallTime{} + duration_cast<WallTime::duration>(999999us)) ==
             "1970-01-01T00:00:00.999Z");
  BOOST_TEST(formatWallTime(WallTime{} - milliseconds{1}) == "1969-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_CASE(test_TextLineOfATargetEvent) {
  BOOST_TEST(formatEventText(sampleEvent()) ==
             "ts=2026-11-22T13:00:00.123Z level=error event=target_unhealthy target=main "
             "state=unhealthy previous_state=healthy cause=refused "
             "msg=\"connection refused on 127.0.0.1:5432\" attempt=3");
}

BOOST_AUTO_TEST_CASE(test_JsonLineOfATargetEvent) {
  BOOST_TEST(formatEventJson(sampleEvent()) ==
             R"({"ts":"2026-11-22T13:00:00.123Z","level":"error","event":"target_unhealthy",)"
             R"("target":"main","state":"unhealthy","previous_state":"healthy","cause":"refused",)"
             R"("msg":"connection refused on 127.0.0.1:5432","attempt":"3"})");
}

BOOST_AUTO_TEST_CASE(test_AbsentSpecFieldsArePresentButEmpty) {
  AlertEvent e = agentEvent("pgvigil 0.1.0 started");
  e.fields = {{"version", "0.1.0"}};
  BOOST_TEST(formatEventText(e) ==
             std::string(kAgentPrefix) + "msg=\"pgvigil 0.1.0 started\" version=0.1.0");
  BOOST_TEST(formatEventJson(e) ==
             R"({"ts":"2026-01-02T03:04:05.006Z","level":"info","event":"agent_started",)"
             R"("target":null,"state":null,"previous_state":null,"cause":null,)"
             R"("msg":"pgvigil 0.1.0 started","version":"0.1.0"})");
}

BOOST_AUTO_TEST_CASE(test_EmptyMsgAndEmptyExtraValue) {
  AlertEvent e = agentEvent("");
  e.fields = {{"reason", ""}};
  BOOST_TEST(formatEventText(e) == std::string(kAgentPrefix) + "msg=\"\" reason=\"\"");
  BOOST_TEST(formatEventJson(e).ends_with(R"("msg":"","reason":""})"));
}

BOOST_AUTO_TEST_CASE(test_LevelsAndStatesSpelledAsSpec) {
  AlertEvent e = sampleEvent();
  e.level = EventLevel::kCritical;
  e.event = "restart_given_up";
  e.state = TargetState::kGivenUp;
  e.previous_state = TargetState::kStartingUp;
  e.cause = Cause::kTooManyConnections;
  e.msg = "budget";
  e.fields.clear();
  BOOST_TEST(formatEventText(e) ==
             "ts=2026-11-22T13:00:00.123Z level=critical event=restart_given_up target=main "
             "state=given_up previous_state=starting_up cause=too_many_connections msg=budget");
}

BOOST_AUTO_TEST_CASE(test_TextQuotingAndEscaping) {
  struct Row {
    std::string in;
    std::string out;
  };
  const Row rows[] = {
      {"ok", "ok"},
      {"two words", "\"two words\""},
      {"a=b", "\"a=b\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"C:\\pg", "\"C:\\\\pg\""},
      {"line1\nline2", "\"line1\\nline2\""},
      {"cr\rtab\t", "\"cr\\rtab\\t\""},
      {std::string("bell\x07"
                   "esc\x1b"
                   "del\x7f"),
       "\"bell\\u0007esc\\u001bdel\\u007f\""},
      {"naïve", "naïve"},                            // UTF-8 passes through unescaped
      {"日本 語", "\"日本 語\""},                    // quoted for the space only
      {"x\xff\xfey", "x\xEF\xBF\xBD\xEF\xBF\xBDy"},  // invalid UTF-8 becomes U+FFFD
  };
  for (const auto& row : rows) {
    AlertEvent e = agentEvent(row.in);
    BOOST_TEST_CONTEXT("msg " << row.in) {
      BOOST_TEST(formatEventText(e) == std::string(kAgentPrefix) + "msg=" + row.out);
    }
  }
}

BOOST_AUTO_TEST_CASE(test_TextHasExactlyOneLineWhateverTheMsg) {
  AlertEvent e = sampleEvent();
  e.msg = "FATAL:  the database system is starting up\nDETAIL:  consistent recovery state\r\n";
  e.fields = {{"detail", "a\nb"}};
  std::string line = formatEventText(e);
  BOOST_TEST(line.find('\n') == std::string::npos);
  BOOST_TEST(line.find('\r') == std::string::npos);
  BOOST_TEST(formatEventJson(e).find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_JsonEscapesAndRoundTrips) {
  const std::string tricky[] = {"quote \" backslash \\ slash /", "new\nline\ttab\rcr",
                                std::string("ctl\x01\x1f end"), "unicode é 日本 🐘", ""};
  for (const auto& msg : tricky) {
    AlertEvent e = sampleEvent();
    e.msg = msg;
    e.fields = {{"note", msg}};
    std::string line = formatEventJson(e);
    BOOST_TEST_CONTEXT("msg " << msg) {
      BOOST_TEST(line.find('\n') == std::string::npos);
      auto obj = parse(line);
      BOOST_TEST(obj->getValue<std::string>("msg") == msg);
      BOOST_TEST(obj->getValue<std::string>("note") == msg);
    }
  }
  AlertEvent e = agentEvent("new\nline \"q\"");
  BOOST_TEST(formatEventJson(e).ends_with(R"("msg":"new\nline \"q\""})"));
  AlertEvent ctl = agentEvent(std::string("a\x01z"));
  BOOST_TEST(formatEventJson(ctl).ends_with(R"("msg":"a\u0001z"})"));
}

BOOST_AUTO_TEST_CASE(test_InvalidUtf8NeverReachesJson) {
  AlertEvent e = agentEvent("caf\xe9 (latin1)");
  e.fields = {{"k", "\xc0\xaf overlong, \xed\xa0\x80 surrogate, \xf4\x90\x80\x80 too big"}};
  std::string line = formatEventJson(e);
  auto obj = parse(line);
  BOOST_TEST(obj->getValue<std::string>("msg") == "caf\xEF\xBF\xBD (latin1)");
  BOOST_TEST(sanitizeUtf8(line) == line);
  BOOST_TEST(sanitizeUtf8("ok é 日 🐘") == "ok é 日 🐘");
  BOOST_TEST(sanitizeUtf8("trunc\xe6\x97") == "trunc\xEF\xBF\xBD\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_CASE(test_ExtraFieldKeysAreSafeAndUnique) {
  AlertEvent e = agentEvent("m");
  e.fields = {{"next restart", "20s"}, {"msg", "shadow"}, {"attempt", "1"},
              {"attempt", "2"},        {"", "nokey"},     {"a=b\"c", "v"}};
  BOOST_TEST(formatEventText(e) == std::string(kAgentPrefix) +
                                       "msg=m next_restart=20s x_msg=shadow attempt=1 _=nokey "
                                       "a_b_c=v");
  BOOST_TEST(formatEventJson(e).ends_with(
      R"("msg":"m","next_restart":"20s","x_msg":"shadow","attempt":"1","_":"nokey","a_b_c":"v"})"));
}

// Counts are JSON numbers (issue 10); text is unchanged; a field not marked as a count, and a
// marked one whose value is not a plain number, stay strings.
BOOST_AUTO_TEST_CASE(test_CountsAreJsonNumbers) {
  AlertEvent e = agentEvent("m");
  e.addNumber("attempt", 3);
  e.addNumber("budget_used", -1);
  e.addNumber("ratio", std::string("0.850"));
  e.addNumber("bogus", std::string("1e9"));
  e.addNumber("lead", std::string("012"));
  e.fields.emplace_back("port", "5432");  // a plain field that looks like a number
  e.fields.emplace_back("took", "2s");
  BOOST_TEST(formatEventText(e) == std::string(kAgentPrefix) +
                                       "msg=m attempt=3 budget_used=-1 ratio=0.850 bogus=1e9 "
                                       "lead=012 port=5432 took=2s");
  const std::string json = formatEventJson(e);
  BOOST_TEST(json.ends_with(
      R"("msg":"m","attempt":3,"budget_used":-1,"ratio":0.850,"bogus":"1e9","lead":"012",)"
      R"("port":"5432","took":"2s"})"));
  auto obj = parse(json);
  BOOST_TEST(obj->get("attempt").isInteger());
  BOOST_TEST(obj->getValue<int>("attempt") == 3);
  BOOST_TEST(obj->get("ratio").isNumeric());
  BOOST_TEST(obj->get("port").isString());
  // A count whose key collides with a SPEC field is renamed and stays a string: the SPEC
  // fields' types never change.
  AlertEvent c = agentEvent("m");
  c.addNumber("msg", 5);
  BOOST_TEST(formatEventJson(c).ends_with(R"("msg":"m","x_msg":"5"})"));
}

BOOST_AUTO_TEST_CASE(test_JsonKeyOrderIsStable) {
  AlertEvent e = sampleEvent();
  e.fields = {{"zeta", "1"}, {"alpha", "2"}, {"mid", "3"}};
  auto obj = eventToJson(e);
  std::vector<std::string> keys;
  for (const auto& name : obj->getNames()) keys.push_back(name);
  const std::vector<std::string> expected{"ts",    "level",          "event", "target",
                                          "state", "previous_state", "cause", "msg",
                                          "zeta",  "alpha",          "mid"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
