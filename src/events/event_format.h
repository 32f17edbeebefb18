// One alert event as one line of text (logfmt-like) or JSON (docs/reference.md §6). Pure functions.
//
// Field rules, the same for both formats:
//  - The eight fixed fields (docs/reference.md §6) are always present, in this order: ts, level,
//  event, target, state,
//    previous_state, cause, msg. Every line has the same schema, so `grep cause=` and `jq .cause`
//    work on every line. An absent value (an agent-wide event has no target; no cause) is `""` in
//    text and `null` in JSON; msg is always a string (`""` when empty).
//  - Event-specific fields follow, in the order given. Their keys are reduced to
//    [A-Za-z0-9_.-] (anything else becomes '_'); a key that repeats a fixed field gets an "x_"
//    prefix ("x_msg"); a key that repeats an earlier extra key is dropped (the first one wins).
//    An empty extra value is kept (`key=""` / `"key":""`).
//  - ts is RFC 3339 in UTC with milliseconds (core/wall_time): 2026-11-22T13:00:00.123Z.
//  - Text is UTF-8; bytes that are not valid UTF-8 become U+FFFD in both formats.
//
// Text quoting: a value is written bare unless it is empty or contains a space, '"', '=', '\' or
// a control character; then it is double-quoted with \" \\ \n \r \t and \u00XX escapes.
// Non-ASCII UTF-8 is never escaped in text.
//
// JSON: appendEventJson is the one event -> JSON serializer: the JSON log line and each element
// of GET /events are the same bytes for the same event. One object, no whitespace, no trailing
// newline; strings escaped by core/json_escape (\" \\ \b \f \n \r \t by name, every other
// control byte and DEL as \u00XX, '/' and non-ASCII UTF-8 as they are), so the output is always
// valid UTF-8 JSON with unique keys.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <string_view>

#include "core/alert_event.h"
#include "core/clock.h"

namespace pgvigil {

/// One logfmt-like line, without a trailing newline.
std::string formatEventText(const AlertEvent& event);

/// Appends the event as one JSON object (no trailing newline) to `out`: the JSON log line, and
/// one element of GET /events' "events" array.
void appendEventJson(std::string& out, const AlertEvent& event);

/// appendEventJson into a new string.
std::string formatEventJson(const AlertEvent& event);

/// The object formatEventJson writes, read back with Poco (keys in the documented order), for
/// code that wants a DOM. Built from formatEventJson, so it cannot differ from it.
Poco::JSON::Object::Ptr eventToJson(const AlertEvent& event);

/// `text` with every invalid UTF-8 byte replaced by U+FFFD.
std::string sanitizeUtf8(std::string_view text);

}  // namespace pgvigil
