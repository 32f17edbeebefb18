// The field factories of the configuration schema: one per value type (duration, integer, number,
// percentage, size, boolean, string, enumeration), each reading, bounding and rendering its value.
// Internal to config_schema.cpp.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <sstream>
#include <system_error>
#include <type_traits>

#include "core/config_schema.h"
#include "core/config_suggest.h"
#include "core/units.h"

namespace pgvigil::config_detail {

// `get` is a generic lambda returning a reference to the member.

template <class Obj, class Get>
Field<Obj> durationField(std::string path, Get get, Millis min, Millis max) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "duration";
  f.read = [get, min, max](Input& in, Obj& obj) {
    auto s = in.scalar("a duration such as 5s");
    if (!s) return false;
    auto p = parseDuration(s->text);
    if (!p.ok()) {
      in.fail(p.error);
      return false;
    }
    if (p.value < min) {
      in.fail(min == Millis{1}
                  ? "must be greater than 0"
                  : "must be at least " + formatDuration(min) + ", got " + formatDuration(p.value));
      return false;
    }
    if (p.value > max) {
      in.fail("must be at most " + formatDuration(max) + ", got " + formatDuration(p.value));
      return false;
    }
    get(obj) = p.value;
    return true;
  };
  f.render = [get](const Obj& obj) { return formatDuration(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> intField(std::string path, Get get, long long min, long long max) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "integer";
  f.read = [get, min, max](Input& in, Obj& obj) {
    auto s = in.scalar("a whole number");
    if (!s) return false;
    long long v = 0;
    const char* b = s->text.data();
    const char* e = b + s->text.size();
    auto [ptr, ec] = std::from_chars(b, e, v);
    if (ec == std::errc::result_out_of_range) {
      in.fail("number " + shown(s->text) + " is out of range");
      return false;
    }
    if (ec != std::errc{} || ptr != e || s->text.empty()) {
      in.fail("expected a whole number, got " + shown(s->text));
      return false;
    }
    if (v < min || v > max) {
      in.fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
              std::to_string(v));
      return false;
    }
    get(obj) = static_cast<std::remove_reference_t<decltype(get(obj))>>(v);
    return true;
  };
  f.render = [get](const Obj& obj) { return std::to_string(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> numberField(std::string path, Get get, double min, double max) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "number";
  f.read = [get, min, max](Input& in, Obj& obj) {
    auto s = in.scalar("a number");
    if (!s) return false;
    double v = 0;
    const char* b = s->text.data();
    const char* e = b + s->text.size();
    auto [ptr, ec] = std::from_chars(b, e, v, std::chars_format::fixed);
    if (ec != std::errc{} || ptr != e || s->text.empty() || !std::isfinite(v)) {
      in.fail("expected a number such as 2 or 1.5, got " + shown(s->text));
      return false;
    }
    if (v < min || v > max) {
      std::ostringstream m;
      m << "must be between " << min << " and " << max << ", got " << s->text;
      in.fail(m.str());
      return false;
    }
    get(obj) = v;
    return true;
  };
  f.render = [get](const Obj& obj) {
    std::array<char, 64> buf{};
    auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), get(obj));
    return ec == std::errc{} ? std::string(buf.data(), ptr) : std::string("0");
  };
  return f;
}

template <class Obj, class Get>
Field<Obj> percentField(std::string path, Get get) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "percentage";
  f.read = [get](Input& in, Obj& obj) {
    auto s = in.scalar("a percentage such as 80%");
    if (!s) return false;
    auto p = parsePercent(s->text);
    if (!p.ok()) {
      in.fail(p.error);
      return false;
    }
    get(obj) = p.value;
    return true;
  };
  f.render = [get](const Obj& obj) { return formatPercent(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> sizeField(std::string path, Get get, std::uint64_t min) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "size";
  f.read = [get, min](Input& in, Obj& obj) {
    auto s = in.scalar("a size such as 10MB");
    if (!s) return false;
    auto p = parseSize(s->text);
    if (!p.ok()) {
      in.fail(p.error);
      return false;
    }
    if (p.value < min) {
      in.fail("must be at least " + formatSize(min) + ", got " + formatSize(p.value));
      return false;
    }
    get(obj) = p.value;
    return true;
  };
  f.render = [get](const Obj& obj) { return formatSize(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> boolField(std::string path, Get get) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "boolean";
  f.read = [get](Input& in, Obj& obj) {
    auto s = in.scalar("true or false");
    if (!s) return false;
    auto b = parseBool(s->text);
    if (!b) {
      in.fail("expected true or false, got " + shown(s->text));
      return false;
    }
    get(obj) = *b;
    return true;
  };
  f.render = [get](const Obj& obj) { return std::string(get(obj) ? "true" : "false"); };
  return f;
}

/// A string; `check` returns "" when the value is acceptable, else the problem.
template <class Obj, class Get>
Field<Obj> stringField(std::string path, Get get,
                       std::function<std::string(const std::string&)> check = {}) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "string";
  f.read = [get, check](Input& in, Obj& obj) {
    std::string value;
    if (!in.node().IsNull()) {  // `key:` with nothing after it is the empty string
      auto s = in.scalar("a string");
      if (!s) return false;
      value = std::move(s->text);
    }
    if (check) {
      std::string problem = check(value);
      if (!problem.empty()) {
        in.fail(problem);
        return false;
      }
    }
    get(obj) = std::move(value);
    return true;
  };
  f.render = [get](const Obj& obj) { return yamlQuote(get(obj)); };
  f.text = [get](const Obj& obj) { return std::string(get(obj)); };
  return f;
}

template <class Obj, class E, class Get>
Field<Obj> enumField(std::string path, Get get, std::vector<std::pair<std::string, E>> names,
                     std::string what) {
  Field<Obj> f;
  f.path = std::move(path);
  std::vector<std::string> list;
  for (const auto& n : names) list.push_back(n.first);
  f.type = joinNames(list, " | ");
  f.read = [get, names, list, what](Input& in, Obj& obj) {
    auto s = in.scalar("one of " + joinNames(list, ", "));
    if (!s) return false;
    for (const auto& [name, value] : names) {
      if (name == s->text) {
        get(obj) = value;
        return true;
      }
    }
    std::string m =
        "unknown " + what + " " + shown(s->text) + " (expected " + joinNames(list, ", ") + ")";
    std::string hint = suggestKey(s->text, list);
    if (!hint.empty()) m += "; did you mean '" + hint + "'?";
    in.fail(m);
    return false;
  };
  f.render = [get, names](const Obj& obj) {
    for (const auto& [name, value] : names)
      if (value == get(obj)) return name;
    return std::string("?");
  };
  return f;
}

}  // namespace pgvigil::config_detail
