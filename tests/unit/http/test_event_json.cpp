// Issue 13: one event -> JSON serializer. The JSON log line (events/event_format) and the element
// of GET /events (http/renderers) are the same object for the same event, whatever the event's
// fields hold: keys that collide with the fixed ones, duplicate keys, invalid UTF-8, control
// bytes. Poco's parser (an independent one) proves the output valid.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "events/event_format.h"
#include "http/renderers.h"
#include "json_helpers.h"

using namespace pgvigil;
using namespace pgvigil::testing;

namespace {

WallTime at(std::int64_t ms) {
  return WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds{ms})};
}

/// Events whose fields try every way to break the JSON.
std::vector<AlertEvent> hostileEvents() {
  std::vector<AlertEvent> out;
  AlertEvent colliding;
  colliding.ts = at(1'700'000'060'123);
  colliding.level = EventLevel::kWarning;
  colliding.event = "restart_requested";
  colliding.target = "main";
  colliding.state = TargetState::kRestarting;
  colliding.cause = Cause::kRefused;
  colliding.msg = "restarting";
  colliding.fields = {{"event", "forged"}, {"msg", "shadow"},    {"ts", "0"},
                      {"x_msg", "taken"},  {"attempt", "1"},     {"attempt", "2"},
                      {"", "nokey"},       {"a\"b\\c", "quote"}, {"cause", "x"}};
  out.push_back(colliding);

  AlertEvent invalid;
  invalid.ts = at(-1);  // before 1970
  invalid.event = "target_unhealthy\xff";
  invalid.target = "caf\xe9";
  invalid.msg = "latin1 caf\xe9, overlong \xc0\xaf, surrogate \xed\xa0\x80, cut \xe6\x97";
  invalid.fields = {{"k\xff", "\xf4\x90\x80\x80 too big"},
                    {"ctl", std::string("nul\0 bell\x07 del\x7f esc\x1b", 20)},
                    {"unicode", "é 日本 🐘 / slash"}};
  out.push_back(invalid);

  AlertEvent agentWide;
  agentWide.ts = at(1'700'000'070'000);
  agentWide.event = "config_loaded";
  out.push_back(agentWide);
  return out;
}

Poco::JSON::Object::Ptr parseOrdered(const std::string& text) {
  Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string stringify(const Poco::JSON::Object::Ptr& o) {
  std::ostringstream out;
  o->stringify(out);
  return out.str();
}

/// Every "key": at the top level of one flat JSON object, in order, straight from the text (a
/// DOM would fold duplicates and hide them).
std::vector<std::string> rawKeys(const std::string& json) {
  std::vector<std::string> keys;
  bool inString = false, isKey = true;
  std::string current;
  for (std::size_t i = 1; i < json.size(); ++i) {
    char c = json[i];
    if (inString) {
      if (c == '\\') {
        current += c;
        current += json[++i];
      } else if (c == '"') {
        inString = false;
        if (isKey) keys.push_back(current);
      } else {
        current += c;
      }
    } else if (c == '"') {
      inString = true;
      current.clear();
    } else if (c == ':') {
      isKey = false;
    } else if (c == ',') {
      isKey = true;
    }
  }
  return keys;
}

bool validUtf8(const std::string& s) {
  return sanitizeUtf8(s) == s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_json)

BOOST_AUTO_TEST_CASE(log_line_and_events_element_are_the_same_object) {
  const auto events = hostileEvents();
  auto r = renderEvents(events, at(1'700'000'100'000));
  BOOST_TEST(r.code == 200);
  BOOST_TEST(validUtf8(r.body));
  auto body = parseOrdered(r.body);  // throws on invalid JSON
  auto array = body->getArray("events");
  BOOST_REQUIRE(array->size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    BOOST_TEST_CONTEXT("event " << i) {
      const std::string line = formatEventJson(events[i]);
      BOOST_TEST(validUtf8(line));
      // The very bytes of the log line are the element of /events ...
      BOOST_TEST(r.body.find(line) != std::string::npos);
      // ... and both read back as one object, key order included.
      BOOST_TEST(stringify(array->getObject(static_cast<unsigned>(i))) ==
                 stringify(parseOrdered(line)));
      BOOST_TEST(stringify(eventToJson(events[i])) == stringify(parseOrdered(line)));
    }
  }
}

BOOST_AUTO_TEST_CASE(colliding_keys_are_renamed_never_repeated) {
  const std::string line = formatEventJson(hostileEvents()[0]);
  const std::vector<std::string> expected{
      "ts",      "level", "event", "target",  "state", "previous_state", "cause",  "msg",
      "x_event", "x_msg", "x_ts",  "attempt", "_",     "a_b_c",          "x_cause"};
  BOOST_TEST(rawKeys(line) == expected, boost::test_tools::per_element());
  auto o = parseOrdered(line);
  BOOST_TEST(o->getValue<std::string>("event") == "restart_requested");
  BOOST_TEST(o->getValue<std::string>("msg") == "restarting");
  BOOST_TEST(o->getValue<std::string>("x_event") == "forged");
  // "x_msg" is taken by the renamed "msg"; the literal "x_msg" field after it is dropped.
  BOOST_TEST(o->getValue<std::string>("x_msg") == "shadow");
  BOOST_TEST(o->getValue<std::string>("attempt") == "1");  // the first one wins
  BOOST_TEST(o->getValue<std::string>("cause") == "refused");
  BOOST_TEST(o->isNull("previous_state"));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_and_control_bytes_become_valid_json) {
  const AlertEvent e = hostileEvents()[1];
  const std::string line = formatEventJson(e);
  BOOST_TEST(validUtf8(line));
  BOOST_TEST(line.find('\x7f') == std::string::npos);  // DEL is escaped too
  for (char c : line) BOOST_TEST(static_cast<unsigned char>(c) >= 0x20);
  auto o = parseOrdered(line);
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_TEST(o->getValue<std::string>("ts") == "1969-12-31T23:59:59.999Z");
  BOOST_TEST(o->getValue<std::string>("event") == "target_unhealthy" + fffd);
  BOOST_TEST(o->getValue<std::string>("target") == "caf" + fffd);
  BOOST_TEST(o->getValue<std::string>("msg") == "latin1 caf" + fffd + ", overlong " + fffd + fffd +
                                                    ", surrogate " + fffd + fffd + fffd + ", cut " +
                                                    fffd + fffd);
  BOOST_TEST(o->getValue<std::string>("k_") == fffd + fffd + fffd + fffd + " too big");
  BOOST_TEST(o->getValue<std::string>("ctl") == std::string("nul\0 bell\x07 del\x7f esc\x1b", 20));
  BOOST_TEST(o->getValue<std::string>("unicode") == "é 日本 🐘 / slash");
  BOOST_TEST(line.find("é 日本 🐘 / slash") != std::string::npos);  // written as it is
}

BOOST_AUTO_TEST_SUITE_END()
