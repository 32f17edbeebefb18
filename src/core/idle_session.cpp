#include "core/idle_session.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>

namespace pgvigil {

std::optional<Millis> parseTimeSetting(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || rest == text.data() || n < 0) return std::nullopt;
  const std::string_view unit(rest, std::size_t(end - rest));
  std::int64_t scale = 0;
  if (unit.empty() || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "min")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return std::nullopt;
  if (n > std::numeric_limits<std::int64_t>::max() / scale) return std::nullopt;
  return Millis{n * scale};
}

Millis keepAliveAfter(Millis timeout) {
  constexpr Millis kMargin{5000};
  constexpr Millis kFloor{10};
  const Millis half = timeout / 2;
  return std::max(kFloor, std::max(half, timeout - kMargin));
}

void IdleSessionKeepAlive::opened(SteadyTime now) {
  open_ = true;
  readPending_ = true;
  lastSent_ = now;
  timeout_.reset();
}

void IdleSessionKeepAlive::sent(SteadyTime now) {
  lastSent_ = now;
}

void IdleSessionKeepAlive::timeoutRead(std::optional<Millis> timeout) {
  readPending_ = false;
  timeout_ = timeout.value_or(Millis{0});
}

void IdleSessionKeepAlive::closed() {
  open_ = false;
  readPending_ = false;
  timeout_.reset();
}

std::optional<Millis> IdleSessionKeepAlive::every() const {
  if (!timeout_ || *timeout_ <= Millis{0}) return std::nullopt;
  return keepAliveAfter(*timeout_);
}

std::optional<SteadyTime> IdleSessionKeepAlive::nextDue() const {
  if (!open_) return std::nullopt;
  if (readPending_) return lastSent_;
  if (auto e = every()) return lastSent_ + *e;
  return std::nullopt;
}

bool IdleSessionKeepAlive::due(SteadyTime now) const {
  auto at = nextDue();
  return at && now >= *at;
}

}  // namespace pgvigil
