#include "events/event_format.h"

#include "core/json_escape.h"
#include "core/wall_time.h"

#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <array>
#include <optional>
#include <utility>
#include <vector>

namespace pgvigil {
namespace {

constexpr std::array<std::string_view, 8> kSpecFields{"ts",    "level",          "event", "target",
                                                      "state", "previous_state", "cause", "msg"};

/// One field as it will be written: nullopt means "absent" ("" in text, null in JSON).
using Field = std::pair<std::string, std::optional<std::string>>;

std::string sanitizeKey(std::string_view key) {
  if (key.empty()) return "_";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out;
}

bool isSpecField(std::string_view key) {
  for (auto f : kSpecFields)
    if (f == key) return true;
  return false;
}

std::optional<std::string> nonEmpty(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return sanitizeUtf8(s);
}

/// The fields of one event, in output order, with the rules of the header applied.
std::vector<Field> orderedFields(const AlertEvent& e) {
  std::vector<Field> out;
  out.reserve(kSpecFields.size() + e.fields.size());
  out.emplace_back("ts", formatWallTime(e.ts));
  out.emplace_back("level", std::string(toString(e.level)));
  out.emplace_back("event", sanitizeUtf8(e.event));
  out.emplace_back("target", nonEmpty(e.target));
  out.emplace_back("state",
                   e.state ? std::optional<std::string>(toString(*e.state)) : std::nullopt);
  out.emplace_back("previous_state", e.previous_state
                                         ? std::optional<std::string>(toString(*e.previous_state))
                                         : std::nullopt);
  out.emplace_back("cause", nonEmpty(toString(e.cause)));
  out.emplace_back("msg", sanitizeUtf8(e.msg));
  for (const auto& [rawKey, value] : e.fields) {
    std::string key = sanitizeKey(rawKey);
    if (isSpecField(key)) key = "x_" + key;
    bool seen = false;
    for (std::size_t i = kSpecFields.size(); i < out.size() && !seen; ++i)
      seen = out[i].first == key;
    if (seen) continue;
    out.emplace_back(std::move(key), sanitizeUtf8(value));
  }
  return out;
}

/// A JSON number as RFC 8259 writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?, nothing else (no exponent,
/// no NaN): only then does a count field go out bare.
bool isJsonNumber(std::string_view v) {
  std::size_t i = 0;
  if (i < v.size() && v[i] == '-') ++i;
  if (i >= v.size()) return false;
  auto digit = [&](std::size_t k) { return k < v.size() && v[k] >= '0' && v[k] <= '9'; };
  if (v[i] == '0') {
    ++i;
  } else if (digit(i)) {
    while (digit(i)) ++i;
  } else {
    return false;
  }
  if (i < v.size() && v[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == v.size() && v.size() <= 32;
}

bool needsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || c < 0x20 || c == 0x7f) return true;
  return false;
}

void appendTextValue(std::string& out, std::string_view v) {
  if (!needsQuoting(v)) {
    out += v;
    return;
  }
  out.push_back('"');
  appendJsonEscaped(out, v);
  out.push_back('"');
}

}  // namespace

std::string formatEventText(const AlertEvent& event) {
  std::string out;
  out.reserve(160);
  bool first = true;
  for (const auto& [key, value] : orderedFields(event)) {
    if (!first) out.push_back(' ');
    first = false;
    out += key;
    out.push_back('=');
    appendTextValue(out, value ? std::string_view(*value) : std::string_view());
  }
  return out;
}

void appendEventJson(std::string& out, const AlertEvent& event) {
  out.push_back('{');
  bool first = true;
  std::size_t index = 0;
  for (const auto& [key, value] : orderedFields(event)) {
    const bool extra = index++ >= kSpecFields.size();
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    appendJsonEscaped(out, key);  // keys are [A-Za-z0-9_.-] already; escaping costs nothing
    out += "\":";
    if (!value) {
      out += "null";
      continue;
    }
    // A count (AlertEvent::addNumber) is a JSON number; its key is the one the builder gave
    // (sanitizing leaves [a-z_] keys alone), and a value that is not a plain number stays a
    // string rather than break the line.
    if (extra && event.isNumber(key) && isJsonNumber(*value)) {
      out += *value;
      continue;
    }
    out.push_back('"');
    appendJsonEscaped(out, *value);
    out.push_back('"');
  }
  out.push_back('}');
}

std::string formatEventJson(const AlertEvent& event) {
  std::string out;
  out.reserve(256);
  appendEventJson(out, event);
  return out;
}

Poco::JSON::Object::Ptr eventToJson(const AlertEvent& event) {
  // Read back from the one serializer, so the DOM cannot drift from the line.
  Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(/*preserveObjectOrder=*/true));
  return parser.parse(formatEventJson(event)).extract<Poco::JSON::Object::Ptr>();
}

std::string sanitizeUtf8(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // bounds of the second byte (overlongs, surrogates, > U+10FFFF)
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool valid = len != 0 && i + len <= n && p[i + 1] >= lo && p[i + 1] <= hi;
    for (std::size_t k = 2; valid && k < len; ++k) valid = p[i + k] >= 0x80 && p[i + k] <= 0xBF;
    if (!valid) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace pgvigil
