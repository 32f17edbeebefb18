// A small streaming JSON writer: keys in the order written, strings escaped, non-finite numbers
// as null. The endpoint's answers are built with it (cheaper than a DOM on the /health path).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json_escape.h"  // appendJsonEscaped, used by the writer
#include "core/wall_time.h"    // formatWallTime, behind time()

namespace pgvigil {

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  JsonWriter& value(bool v);
  JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
  JsonWriter& value(std::int64_t v);
  JsonWriter& value(std::uint64_t v);
  JsonWriter& value(double v);
  JsonWriter& null();
  /// An RFC 3339 UTC time with milliseconds, "2026-11-22T13:25:37.123Z".
  JsonWriter& time(WallTime t);
  /// Appends `json` as the next value, as it is: the caller vouches that it is one valid JSON
  /// value (used for events, whose one serializer is events/event_format's appendEventJson).
  JsonWriter& rawValue(std::string_view json);
  /// A string, or null when empty.
  JsonWriter& stringOrNull(std::string_view v) { return v.empty() ? null() : value(v); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void beforeValue();
  std::string out_;
  std::vector<bool> first_;  ///< one per open container: nothing written in it yet
  bool afterKey_ = false;
};

/// The shortest text that reads back as the same double; "NaN", "+Inf", "-Inf" for non-finite.
std::string formatDouble(double v);

}  // namespace pgvigil
