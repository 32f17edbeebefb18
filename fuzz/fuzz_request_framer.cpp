// RequestFramer (src/http/request_framer.h): the status endpoint's parser of whatever a client
// sends. The first bytes choose the limits and how the rest is cut into reads; the rest is the
// stream. Besides sanitizer findings it checks that framing does not depend on how the bytes
// arrive: fed in pieces, the same requests and verdicts come out as when fed at once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_framer.h"

namespace {

using pgvigil::FramedRequest;
using pgvigil::FramingError;
using pgvigil::RequestFramer;

std::string outcome(const FramedRequest& r) {
  std::string s = "R " + r.request.method + ' ' + r.request.path + '?' + r.request.query + ' ' +
                  r.target + ' ' + r.version + (r.keep_alive ? " ka " : " close ") +
                  r.request.authorization + " body=" + r.body;
  for (const auto& [name, value] : r.headers) s += '|' + name + ':' + value;
  return s;
}

/// Takes every request (or the verdict) the framer has now.
void drain(RequestFramer& framer, std::vector<std::string>& out) {
  for (;;) {
    FramedRequest request;
    FramingError error;
    auto result = framer.next(&request, &error);
    if (result == RequestFramer::Result::kNeedMore) return;
    if (result == RequestFramer::Result::kRequest) {
      if (request.request.method.empty()) std::abort();  // a request always has a method
      out.push_back(outcome(request));
    } else {
      if (error.status < 400 || error.status > 505 || !framer.failed()) std::abort();
      out.push_back("E " + std::to_string(error.status) + ' ' + error.message);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  pgvigil::RequestLimits limits;
  limits.max_head_bytes = 16 + data[0] * 4u;  // 16 .. 1036
  limits.max_header_fields = data[1] % 16;
  limits.max_body_bytes = data[2];
  unsigned step = data[3] % 32 + 1;
  std::string_view stream(reinterpret_cast<const char*>(data) + 4, size - 4);

  RequestFramer whole(limits);
  std::vector<std::string> atOnce;
  whole.feed(stream);
  drain(whole, atOnce);

  RequestFramer pieces(limits);
  std::vector<std::string> inPieces;
  for (std::size_t at = 0; at < stream.size(); at += step) {
    pieces.feed(stream.substr(at, step));
    drain(pieces, inPieces);
  }
  if (atOnce != inPieces || whole.buffered() != pieces.buffered()) std::abort();
  return 0;
}
