// One alert event as one line of text (logfmt-like) or JSON (SPEC.md §6). Pure functions.
//
// Field rules, the same for both formats:
//  - The eight SPEC fields are always present, in this order: ts, level, event, target, state,
//    previous_state, cause, msg. Every line has the same schema, so `grep cause=` and `jq .cause`
//    work on every line. An absent value (an agent-wide event has no target; no cause) is `""` in
//    text and `null` in JSON; msg is always a string (`""` when empty).
//  - Event-specific fields follow, in the order given. Their keys are reduced to
//    [A-Za-z0-9_.-] (anything else becomes '_'); a key that repeats a SPEC field gets an "x_"
//    prefix ("x_msg"); a key that repeats an earlier extra key is dropped (the first one wins).
//    An empty extra value is kept (`key=""` / `"key":""`).
//  - ts is RFC 3339 in UTC with milliseconds: 2026-11-22T13:00:00.123Z.
//  - Text is UTF-8; bytes that are not valid UTF-8 become U+FFFD in both formats.
//
// Text quoting: a value is written bare unless it is empty or contains a space, '"', '=', '\' or
// a control character; then it is double-quoted with \" \\ \n \r \t and \u00XX escapes.
// Non-ASCII UTF-8 is never escaped in text. JSON lines come from Poco::JSON (one object, no
// whitespace, no trailing newline).
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <string_view>

#include "core/alert_event.h"
#include "core/clock.h"

namespace pgvigil {

/// RFC 3339, UTC, milliseconds (truncated): "2026-11-22T13:00:00.123Z".
std::string formatTimestamp(WallTime t);

/// One logfmt-like line, without a trailing newline.
std::string formatEventText(const AlertEvent& event);

/// One JSON object, without a trailing newline.
std::string formatEventJson(const AlertEvent& event);

/// The JSON object behind formatEventJson (keys in the documented order), for renderers that
/// embed events in a larger document (GET /events).
Poco::JSON::Object::Ptr eventToJson(const AlertEvent& event);

/// `text` with every invalid UTF-8 byte replaced by U+FFFD.
std::string sanitizeUtf8(std::string_view text);

}  // namespace pgvigil
