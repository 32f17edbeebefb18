// The value syntaxes of the configuration (docs/reference.md §2): durations ("250ms", "5s",
// "1h30m"), percentages ("80%") and sizes ("10MB", "512KiB"). Parsers return a value or an error
// string, never throw, and are overflow-safe; formatters give the shortest exact form, so that
// parse(format(x)) == x.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/types.h"

namespace pgvigil {

/// A parsed value or why it could not be parsed. `error` is empty on success.
template <class T>
struct [[nodiscard]] Parsed {
  T value{};
  std::string error;
  bool ok() const { return error.empty(); }
};

/// "250ms", "5s", "2m", "1h", "1d" and combinations from the largest unit to the smallest, each
/// at most once ("1h30m", "1m30s500ms"). "0" alone is accepted. Rejects negatives, a missing
/// unit, fractions, unknown units and values above `max` (types.h: at most kMaxDuration; a larger
/// `max` is taken as kMaxDuration); the error names the limit ("... is too large; the most allowed
/// is 365d").
Parsed<Millis> parseDuration(std::string_view text, Millis max = kMaxDuration);

/// How formatDuration spells a duration. Both read back through parseDuration as exactly `d`.
enum class DurationStyle {
  /// The shortest text: "90s", "1h", "90m", "1d", "1500ms", "3723s", "0s" (config show, errors).
  kShortest,
  /// Hours, minutes and seconds from the largest down, milliseconds only when the seconds are
  /// not whole: "1m30s", "1h", "1h30m", "24h", "1500ms", "1h2m3s", "0s" (event messages and
  /// fields, where a person reads "2m" more easily than "120s").
  kClock,
};

/// The one duration formatter. Negative durations get a leading '-'.
std::string formatDuration(Millis d, DurationStyle style = DurationStyle::kShortest);

/// "80%" -> 0.80, "99.5%" -> 0.995. 0% to 100% inclusive; the '%' is required.
Parsed<double> parsePercent(std::string_view text);
/// 0.8 -> "80%", 0.955 -> "96%": a fraction as a whole percentage, rounded to the nearest (the one
/// spelling of a percentage in messages and reports; formatPercent below is exact, for config).
std::string formatWholePercent(double fraction);

/// 0.8 -> "80%", 0.995 -> "99.5%" (rounded to a millionth of a percent).
std::string formatPercent(double fraction);

/// Bytes: "1048576", "512B", decimal "10KB"/"10MB"/"1GB"/"1TB" (powers of 1000) and binary
/// "10KiB"/"10MiB"/"1GiB"/"1TiB" (powers of 1024). Units are case-insensitive; whole numbers only.
Parsed<std::uint64_t> parseSize(std::string_view text);

/// The shortest exact form: 10000000 -> "10MB", 1048576 -> "1MiB", 1500 -> "1500B".
std::string formatSize(std::uint64_t bytes);

}  // namespace pgvigil
