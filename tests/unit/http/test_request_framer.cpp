// RequestFramer: bytes in, requests or a 4xx verdict out, with no socket. Table-driven: each case
// feeds its pieces one at a time, takes every request the framer has after each piece, and
// compares the whole sequence of outcomes, written as short strings.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "http/request_framer.h"

using namespace pgvigil;

namespace {

/// "GET /path ?query ka=1 body=..." for a request, "431 request head too large" for an error.
std::string describe(const FramedRequest& r) {
  std::string s = r.request.method + " " + r.request.path;
  if (!r.request.query.empty()) s += " ?" + r.request.query;
  s += r.keep_alive ? " ka=1" : " ka=0";
  if (!r.body.empty()) s += " body=" + r.body;
  return s;
}

std::vector<std::string> frame(RequestFramer& framer, const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const auto& piece : pieces) {
    framer.feed(piece);
    for (;;) {
      FramedRequest request;
      FramingError error;
      auto result = framer.next(&request, &error);
      if (result == RequestFramer::Result::kNeedMore) break;
      if (result == RequestFramer::Result::kRequest)
        out.push_back(describe(request));
      else
        out.push_back(std::to_string(error.status) + " " + error.message);
    }
  }
  return out;
}

std::vector<std::string> bytes(const std::string& s) {
  std::vector<std::string> out;
  for (char c : s) out.emplace_back(1, c);
  return out;
}

struct Case {
  const char* name;
  std::vector<std::string> pieces;
  std::vector<std::string> expected;
  RequestLimits limits{};
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

const std::string kGet = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";

RequestLimits small() {
  RequestLimits l;
  l.max_head_bytes = 64;
  l.max_header_fields = 3;
  l.max_body_bytes = 8;
  return l;
}

std::string fields(int n) {
  std::string s = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < n; ++i) s += "X" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

const Case kCases[] = {
    // Framing: where a request ends, in whatever pieces it arrives.
    {"one request", {kGet}, {"GET /health ka=1"}},
    {"byte by byte", bytes(kGet), {"GET /health ka=1"}},
    {"head not complete yet", {"GET /health HTTP/1.1\r\nHost: t\r\n"}, {}},
    {"head completed later",
     {"GET /health HTTP/1.1\r\nHo", "st: t\r\n", "\r\n"},
     {"GET /health ka=1"}},
    {"LF line ends", {"GET /health HTTP/1.1\nHost: t\n\n"}, {"GET /health ka=1"}},
    {"CRLF head ended by a bare LF", {"GET /x HTTP/1.1\r\n\n"}, {"GET /x ka=1"}},
    {"empty line before the request line", {"\r\nGET /x HTTP/1.1\r\n\r\n"}, {"GET /x ka=1"}},
    {"query kept raw, path decoded",
     {"GET /a%20b?x=%20&y=1 HTTP/1.1\r\n\r\n"},
     {"GET /a b ?x=%20&y=1 ka=1"}},
    {"absolute-form target", {"GET http://h:80/x?y HTTP/1.1\r\n\r\n"}, {"GET /x ?y ka=1"}},
    {"unknown method passes (the router answers 405)",
     {"BREW /pot HTTP/1.1\r\n\r\n"},
     {"BREW /pot ka=1"}},

    // Keep-alive as the request asks; the server adds its own limits.
    {"HTTP/1.0 closes by default", {"GET /x HTTP/1.0\r\n\r\n"}, {"GET /x ka=0"}},
    {"HTTP/1.0 keep-alive", {"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"}, {"GET /x ka=1"}},
    {"HTTP/1.1 close", {"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"}, {"GET /x ka=0"}},

    // Pipelining: in order, one at a time, the last one possibly partial.
    {"two pipelined",
     {kGet + "GET /livez HTTP/1.1\r\n\r\n"},
     {"GET /health ka=1", "GET /livez ka=1"}},
    {"pipelined, second partial",
     {kGet + "GET /livez HTT", "P/1.1\r\n\r\n"},
     {"GET /health ka=1", "GET /livez ka=1"}},
    {"body, then the next request",
     {"POST /reload HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", "cde", "GET /x HTTP/1.1\r\n\r\n"},
     {"POST /reload ka=1 body=abcde", "GET /x ka=1"}},
    {"body not complete yet", {"POST /reload HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"}, {}},
    {"Content-Length 0",
     {"POST /pause HTTP/1.1\r\nContent-Length: 0\r\n\r\n"},
     {"POST /pause ka=1"}},

    // Header folding and odd lines: what Poco's head parser does with them (lenient, as today).
    {"folded header accepted", {"GET /x HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n"}, {"GET /x ka=1"}},
    {"bare CR inside a header line",
     {"GET /x HTTP/1.1\r\nHost: a\rb\r\n\r\n"},
     {"400 malformed request"}},
    {"request line without a version", {"GET /\r\n\r\n"}, {"400 malformed request"}},
    {"garbage", {"GARBAGE\r\n\r\n"}, {"400 malformed request"}},
    {"bad percent escape", {"GET /a%zz HTTP/1.1\r\n\r\n"}, {"400 malformed request"}},
    {"non-numeric Content-Length",
     {"POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"},
     {"400 malformed request"}},
    {"negative Content-Length",
     {"POST /x HTTP/1.1\r\nContent-Length: -5\r\n\r\nGET /y HTTP/1.1\r\n\r\n"},
     {"400 malformed request"}},
    {"Content-Length overflow",
     {"POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"},
     {"400 malformed request"}},
    {"HTTP/2.0", {"GET /health HTTP/2.0\r\n\r\n"}, {"505 HTTP version not supported"}},
    {"HTTP/0.9 style", {"GET /health HTTP/0.9\r\n\r\n"}, {"505 HTTP version not supported"}},
    {"chunked body",
     {"POST /reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"},
     {"411 request bodies need a Content-Length"}},

    // Limits (small ones here; the server's defaults are the struct's).
    {"head at the limit",
     {"GET / HTTP/1.1\r\nX: " + std::string(41, 'a') + "\r\n\r\n"},
     {"GET / ka=1"},
     small()},
    {"head one byte over",
     {"GET / HTTP/1.1\r\nX: " + std::string(42, 'a') + "\r\n\r\n"},
     {"431 request head too large"},
     small()},
    {"endless head",
     {"GET / HTTP/1.1\r\nX: ", std::string(60, 'a')},
     {"431 request head too large"},
     small()},
    {"fields at the limit", {fields(3)}, {"GET / ka=1"}, small()},
    {"one field too many", {fields(4)}, {"431 too many header fields"}, small()},
    {"body at the limit",
     {"POST /x HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678"},
     {"POST /x ka=1 body=12345678"},
     small()},
    {"body too large, refused before it arrives",
     {"POST /x HTTP/1.1\r\nContent-Length: 9\r\n\r\n"},
     {"413 request body too large"},
     small()},

    // After an error the stream is not trusted: nothing more comes out of it.
    {"nothing after an error", {"GARBAGE\r\n\r\n" + kGet, kGet}, {"400 malformed request"}},
    {"a good request before a bad one still counts",
     {kGet + "GARBAGE\r\n\r\n"},
     {"GET /health ka=1", "400 malformed request"}},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(request_framer)

BOOST_DATA_TEST_CASE(frames_requests_and_verdicts, boost::unit_test::data::make(kCases), c) {
  RequestFramer framer(c.limits);
  auto got = frame(framer, c.pieces);
  BOOST_TEST(got == c.expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_request_carries_its_target_version_and_headers) {
  RequestFramer framer;
  framer.feed(
      "GET /status?verbose=1 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer abc\r\nA: 1\r\nA: 2\r\n"
      "\r\n");
  FramedRequest r;
  FramingError e;
  BOOST_TEST(static_cast<int>(framer.next(&r, &e)) ==
             static_cast<int>(RequestFramer::Result::kRequest));
  BOOST_TEST(r.target == "/status?verbose=1");
  BOOST_TEST(r.version == "HTTP/1.1");
  BOOST_TEST(r.request.authorization == "Bearer abc");
  using Headers = std::vector<std::pair<std::string, std::string>>;
  BOOST_TEST((r.headers ==
              Headers{{"Host", "t"}, {"Authorization", "Bearer abc"}, {"A", "1"}, {"A", "2"}}));
  BOOST_TEST(framer.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(buffered_and_complete_head_track_the_input) {
  RequestFramer framer;
  BOOST_TEST(!framer.hasCompleteHead());
  framer.feed("POST /reload HTTP/1.1\r\nContent-Length: 3\r\n");
  BOOST_TEST(!framer.hasCompleteHead());
  BOOST_TEST(framer.buffered() == 42u);
  framer.feed("\r\nab");
  BOOST_TEST(framer.hasCompleteHead());  // the body is still short by one byte
  FramedRequest r;
  FramingError e;
  BOOST_TEST(static_cast<int>(framer.next(&r, &e)) ==
             static_cast<int>(RequestFramer::Result::kNeedMore));
  framer.clear();
  BOOST_TEST(framer.buffered() == 0u);
  BOOST_TEST(!framer.failed());
}

BOOST_AUTO_TEST_CASE(an_error_drops_the_buffer_and_ignores_later_input) {
  RequestFramer framer;
  framer.feed("GARBAGE\r\n\r\ntrailing bytes");
  FramedRequest r;
  FramingError e;
  BOOST_TEST(static_cast<int>(framer.next(&r, &e)) ==
             static_cast<int>(RequestFramer::Result::kError));
  BOOST_TEST(e.status == 400);
  BOOST_TEST(framer.failed());
  BOOST_TEST(framer.buffered() == 0u);
  framer.feed(kGet);
  BOOST_TEST(framer.buffered() == 0u);
  BOOST_TEST(!framer.hasCompleteHead());
}

BOOST_AUTO_TEST_CASE(head_end_prefers_whichever_blank_line_comes_first) {
  BOOST_TEST(requestHeadEnd("GET / HTTP/1.1\r\n\r\nX") == 18u);
  BOOST_TEST(requestHeadEnd("GET / HTTP/1.1\n\nX") == 16u);
  BOOST_TEST(requestHeadEnd("GET / HTTP/1.1\r\n\n") == 17u);
  BOOST_TEST(requestHeadEnd("GET / HTTP/1.1\r\nHost: t\r\n") == std::string_view::npos);
  BOOST_TEST(requestHeadEnd("") == std::string_view::npos);
}

BOOST_AUTO_TEST_SUITE_END()
