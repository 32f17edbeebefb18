// The one RFC 3339 format/parse pair (docs/reference.md §6): every time pgvigil writes (the event
// log, /status, /events, `check --format json`, the state file) and every one it reads (the state
// file, Docker's container times). Pure: civil-from-days arithmetic on std::chrono, no
// gmtime/timegm, so times before 1970 format the same on every platform.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace pgvigil {

/// "2026-11-22T13:00:00.123Z": RFC 3339, UTC, milliseconds, truncated toward the past (never
/// rounded up into the next second); "1969-12-31T23:59:59.999Z" for one millisecond before 1970.
std::string formatWallTime(WallTime t);

/// Parses what formatWallTime writes, also without a fraction, with 1-9 fraction digits, with a
/// lower-case 't'/'z' and with a numeric offset "+02:00". Empty on anything else, including
/// impossible dates and times (month 13, February 30, hour 24) and times outside
/// 1900-01-01T00:00:00Z .. 2200-12-31T23:59:59.999999999Z after the offset, far inside what
/// WallTime's int64 nanoseconds hold (1677..2262), so nothing read can wrap around.
std::optional<WallTime> parseWallTime(std::string_view s);

}  // namespace pgvigil
