// Duration, percentage and size syntaxes of the configuration. See units.h.
#include "core/units.h"

#include <cstdio>

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace pgvigil {
namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 40;
  if (s.size() > kMax) return "'" + std::string(s.substr(0, kMax)) + "...'";
  return "'" + std::string(s) + "'";
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

/// Reads a run of digits as an unsigned number; false on overflow.
bool readDigits(std::string_view s, std::size_t& pos, std::uint64_t& out) {
  std::size_t start = pos;
  while (pos < s.size() && isDigit(s[pos])) ++pos;
  auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + pos, out);
  (void)ptr;
  return ec == std::errc{};
}

struct DurationUnit {
  std::string_view name;
  std::int64_t millis;
};
// Largest first: the order combinations must follow.
constexpr std::array<DurationUnit, 5> kDurationUnits{{
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

constexpr std::string_view kDurationHint = "expected a duration such as 250ms, 5s, 2m, 1h or 1h30m";

}  // namespace

Parsed<Millis> parseDuration(std::string_view raw, Millis max) {
  Parsed<Millis> r;
  if (max > kMaxDuration || max < Millis{0}) max = kMaxDuration;
  const std::string tooLong = " is too large; the most allowed is " + formatDuration(max);
  std::string_view s = trim(raw);
  if (s.empty()) {
    r.error = "empty duration; " + std::string(kDurationHint);
    return r;
  }
  if (s.front() == '-') {
    r.error = "negative duration " + quoted(s) + " is not allowed";
    return r;
  }
  if (s == "0") return r;  // zero needs no unit

  std::int64_t total = 0;
  std::size_t lastUnit = 0;  // index into kDurationUnits + 1 of the previous unit; 0 = none yet
  std::size_t pos = 0;
  while (pos < s.size()) {
    if (!isDigit(s[pos])) {
      r.error = "invalid duration " + quoted(s) + "; " + std::string(kDurationHint);
      return r;
    }
    std::uint64_t number = 0;
    if (!readDigits(s, pos, number)) {
      r.error = "duration " + quoted(s) + tooLong;
      return r;
    }
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      r.error = "fractional duration " + quoted(s) +
                " is not supported; use a smaller unit (1500ms, not 1.5s)";
      return r;
    }
    std::size_t unitStart = pos;
    while (pos < s.size() && isAlpha(s[pos])) ++pos;
    std::string_view unit = s.substr(unitStart, pos - unitStart);
    if (unit.empty()) {
      r.error = "missing unit in duration " + quoted(s) + "; " + std::string(kDurationHint);
      return r;
    }
    std::size_t index = 0;
    while (index < kDurationUnits.size() && kDurationUnits[index].name != unit) ++index;
    if (index == kDurationUnits.size()) {
      r.error = "unknown unit '" + std::string(unit) + "' in duration " + quoted(s) +
                "; units are ms, s, m, h and d";
      return r;
    }
    if (index + 1 <= lastUnit) {
      r.error = "invalid duration " + quoted(s) +
                "; combine units from the largest to the smallest, each once (1h30m)";
      return r;
    }
    lastUnit = index + 1;
    // total <= max holds before each step, so (limit - total) / perUnit cannot wrap, and the
    // check rejects anything that would pass max: no multiplication or sum ever overflows.
    const auto perUnit = static_cast<std::uint64_t>(kDurationUnits[index].millis);
    const auto limit = static_cast<std::uint64_t>(max.count());
    if (number > (limit - static_cast<std::uint64_t>(total)) / perUnit) {
      r.error = "duration " + quoted(s) + tooLong;
      return r;
    }
    total += static_cast<std::int64_t>(number * perUnit);
  }
  r.value = Millis{total};
  return r;
}

namespace {

std::string formatClock(std::int64_t ms) {
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  std::int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m", s %= 60;
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

}  // namespace

std::string formatDuration(Millis d, DurationStyle style) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms < 0) {
    if (ms == std::numeric_limits<std::int64_t>::min()) return "-" + std::to_string(ms) + "ms";
    return "-" + formatDuration(Millis{-ms}, style);
  }
  if (style == DurationStyle::kClock) return formatClock(ms);
  // Candidate 1: one unit, the largest that divides exactly.
  std::string single;
  for (const auto& u : kDurationUnits) {
    if (ms % u.millis == 0) {
      single = std::to_string(ms / u.millis) + std::string(u.name);
      break;
    }
  }
  // Candidate 2: every unit from the largest down ("1h2m3s").
  std::string combined;
  std::int64_t rest = ms;
  for (const auto& u : kDurationUnits) {
    if (rest >= u.millis) {
      combined += std::to_string(rest / u.millis) + std::string(u.name);
      rest %= u.millis;
    }
  }
  return combined.size() < single.size() ? combined : single;
}

std::string formatWholePercent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", fraction * 100.0);
  return buf;
}

Parsed<double> parsePercent(std::string_view raw) {
  Parsed<double> r;
  std::string_view s = trim(raw);
  if (s.empty()) {
    r.error = "empty percentage; expected a value such as 80%";
    return r;
  }
  if (s.front() == '-') {
    r.error = "negative percentage " + quoted(s) + "; expected 0% to 100%";
    return r;
  }
  bool hasPercent = s.back() == '%';
  std::string_view number = hasPercent ? trim(s.substr(0, s.size() - 1)) : s;
  // Digits, optionally a decimal point and more digits: no sign, exponent, inf or nan.
  std::size_t pos = 0, intDigits = 0, fracDigits = 0;
  while (pos < number.size() && isDigit(number[pos])) ++pos, ++intDigits;
  if (pos < number.size() && number[pos] == '.') {
    ++pos;
    while (pos < number.size() && isDigit(number[pos])) ++pos, ++fracDigits;
  }
  if (intDigits + fracDigits == 0 || pos != number.size()) {
    r.error = "invalid percentage " + quoted(s) + "; expected a value such as 80%";
    return r;
  }
  if (!hasPercent) {
    r.error = "missing '%' in percentage " + quoted(s) + " (write " + std::string(number) + "%)";
    return r;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  (void)ptr;
  if (ec != std::errc{} || !(value >= 0.0 && value <= 100.0)) {
    r.error = "percentage " + quoted(s) + " is out of range; expected 0% to 100%";
    return r;
  }
  r.value = value / 100.0;
  return r;
}

std::string formatPercent(double fraction) {
  double percent = std::round(fraction * 100.0 * 1e6) / 1e6;
  if (percent == 0.0) percent = 0.0;  // no "-0%"
  std::array<char, 64> buf{};
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), percent);
  if (ec != std::errc{}) return "?%";
  return std::string(buf.data(), ptr) + "%";
}

namespace {
struct SizeUnit {
  std::string_view name;
  std::uint64_t bytes;
};
// Largest first within each family; formatSize prefers the shorter form.
constexpr std::uint64_t kKi = 1024;
constexpr std::array<SizeUnit, 9> kSizeUnits{{
    {"TiB", kKi* kKi* kKi* kKi},
    {"TB", 1000ULL * 1000 * 1000 * 1000},
    {"GiB", kKi* kKi* kKi},
    {"GB", 1000ULL * 1000 * 1000},
    {"MiB", kKi* kKi},
    {"MB", 1000ULL * 1000},
    {"KiB", kKi},
    {"KB", 1000},
    {"B", 1},
}};
}  // namespace

Parsed<std::uint64_t> parseSize(std::string_view raw) {
  Parsed<std::uint64_t> r;
  std::string_view s = trim(raw);
  constexpr std::string_view kHint = "expected a size such as 10MB, 512KiB or 1048576";
  if (s.empty()) {
    r.error = "empty size; " + std::string(kHint);
    return r;
  }
  if (s.front() == '-') {
    r.error = "negative size " + quoted(s) + " is not allowed";
    return r;
  }
  std::size_t pos = 0;
  std::uint64_t number = 0;
  if (!isDigit(s[0])) {
    r.error = "invalid size " + quoted(s) + "; " + std::string(kHint);
    return r;
  }
  if (!readDigits(s, pos, number)) {
    r.error = "size " + quoted(s) + " is too large";
    return r;
  }
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    r.error = "fractional size " + quoted(s) + " is not supported; use a smaller unit (1500KB)";
    return r;
  }
  std::string_view unit = trim(s.substr(pos));
  std::uint64_t perUnit = 1;
  if (!unit.empty()) {
    bool found = false;
    for (const auto& u : kSizeUnits) {
      if (equalsIgnoreCase(unit, u.name)) {
        perUnit = u.bytes;
        found = true;
        break;
      }
    }
    if (!found) {
      r.error = "unknown unit '" + std::string(unit) + "' in size " + quoted(s) +
                "; units are B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB";
      return r;
    }
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / perUnit) {
    r.error = "size " + quoted(s) + " is too large";
    return r;
  }
  r.value = number * perUnit;
  return r;
}

std::string formatSize(std::uint64_t bytes) {
  if (bytes == 0) return "0B";
  std::string best = std::to_string(bytes) + "B";
  for (const auto& u : kSizeUnits) {
    if (bytes % u.bytes == 0) {
      std::string candidate = std::to_string(bytes / u.bytes) + std::string(u.name);
      if (candidate.size() < best.size()) best = candidate;
    }
  }
  return best;
}

}  // namespace pgvigil
