// The environment lookup and ${VAR} expansion. See env.h.
#include "core/env.h"

#include <cstdlib>

namespace pgvigil {

Env Env::process() {
  return Env([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

Env Env::fromMap(std::map<std::string, std::string> vars) {
  return Env([vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

Env Env::layered(Env first, Env second) {
  return Env([first = std::move(first),
              second = std::move(second)](const std::string& name) -> std::optional<std::string> {
    if (auto v = first.get(name)) return v;
    return second.get(name);
  });
}

namespace {
bool isNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool isNameChar(char c) {
  return isNameStart(c) || (c >= '0' && c <= '9');
}
}  // namespace

Expansion expandEnv(std::string_view text, const Env& env) {
  Expansion r;
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$') {
      r.value += c;
      ++i;
      continue;
    }
    if (text.substr(i, 3) == "$${") {  // escaped: a literal "${"
      r.value += "${";
      i += 3;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {  // a lone '$' is just a character
      r.value += c;
      ++i;
      continue;
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      r.error = "unterminated '${' (write ${NAME} or ${NAME:-default}, or $${ for a literal ${)";
      return r;
    }
    std::string_view inner = text.substr(i + 2, close - (i + 2));
    std::size_t n = 0;
    while (n < inner.size() && isNameChar(inner[n])) ++n;
    std::string name(inner.substr(0, n));
    std::string_view rest = inner.substr(n);
    bool hasDefault = rest.substr(0, 2) == ":-";
    if (name.empty() || !isNameStart(name[0]) || (!rest.empty() && !hasDefault)) {
      r.error = "invalid variable reference '${" + std::string(inner) +
                "}' (write ${NAME} or ${NAME:-default}; NAME is letters, digits and _)";
      return r;
    }
    std::optional<std::string> value = env.get(name);
    if (hasDefault) {
      if (value && !value->empty()) {
        r.value += *value;
        r.substituted.push_back(name);
      } else {
        r.value += rest.substr(2);
        r.defaulted.push_back(name);
      }
    } else if (value) {
      r.value += *value;
      r.substituted.push_back(name);
    } else {
      r.error = "environment variable " + name + " is not set (write ${" + name +
                ":-default} to give a fallback)";
      return r;
    }
    i = close + 1;
  }
  return r;
}

}  // namespace pgvigil
