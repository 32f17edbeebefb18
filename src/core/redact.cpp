// Secret masking by known value and by pattern. See redact.h.
#include "core/redact.h"

#include <algorithm>

namespace pgvigil {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool startsWithIgnoreCase(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (lower(text[pos + i]) != word[i]) return false;
  return true;
}

/// True when text[pos...] is the marker of an earlier pass, followed by a natural end.
bool alreadyMasked(std::string_view text, std::size_t pos) {
  if (text.substr(pos, kRedacted.size()) != kRedacted) return false;
  std::size_t after = pos + kRedacted.size();
  if (after >= text.size()) return true;
  char c = text[after];
  return isSpace(c) || c == '"' || c == '\'' || c == '&' || c == '#' || c == ',' || c == ';' ||
         c == '@' || c == '}' || c == ')';
}

std::string replaceKnown(std::string_view text, const std::vector<std::string>& known) {
  std::vector<std::string_view> secrets;
  for (const auto& s : known)
    if (!s.empty()) secrets.push_back(s);
  if (secrets.empty()) return std::string(text);
  std::sort(secrets.begin(), secrets.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (std::string_view s : secrets) {
      if (text.substr(i, s.size()) == s) {
        out += kRedacted;
        i += s.size();
        matched = true;
        break;
      }
    }
    if (!matched) out += text[i++];
  }
  return out;
}

/// Masks the value after `password=` / `passwd:` and friends.
std::string maskKeywordValues(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t keyLen = 0;
    if (startsWithIgnoreCase(text, i, "password"))
      keyLen = 8;
    else if (startsWithIgnoreCase(text, i, "passwd"))
      keyLen = 6;
    if (keyLen == 0) {
      out += text[i++];
      continue;
    }
    bool uriParam = i > 0 && (text[i - 1] == '?' || text[i - 1] == '&');
    std::size_t j = i + keyLen;
    if (j < text.size() && (text[j] == '"' || text[j] == '\'')) ++j;  // "password": ...
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    // "password=x"; "password: x" and "password":"x" (YAML, JSON); not "${PGPASSWORD:-x}".
    const bool colonForm =
        j + 1 < text.size() && text[j] == ':' &&
        (text[j + 1] == ' ' || text[j + 1] == '\t' || text[j + 1] == '"' || text[j + 1] == '\'');
    if (j >= text.size() || (text[j] != '=' && !colonForm)) {
      out += text[i++];
      continue;
    }
    ++j;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    out.append(text.substr(i, j - i));  // the keyword and separator stay
    if (j >= text.size() || alreadyMasked(text, j)) {
      i = j;
      continue;
    }
    char q = text[j];
    if (q == '\'' || q == '"') {
      std::size_t k = j + 1;
      while (k < text.size() && text[k] != q && text[k] != '\n') {
        if (text[k] == '\\' && k + 1 < text.size()) ++k;
        ++k;
      }
      out += q;
      out += kRedacted;
      if (k < text.size() && text[k] == q) {
        out += q;
        ++k;
      }
      i = k;
      continue;
    }
    std::size_t k = j;
    while (k < text.size() && !isSpace(text[k]) &&
           !(uriParam && (text[k] == '&' || text[k] == '#')))
      ++k;
    if (k > j) out += kRedacted;
    i = k;
  }
  return out;
}

/// Masks the password of postgresql:// and postgres:// userinfo.
std::string maskUriUserinfo(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t schemeLen = 0;
    if (startsWithIgnoreCase(text, i, "postgresql://"))
      schemeLen = 13;
    else if (startsWithIgnoreCase(text, i, "postgres://"))
      schemeLen = 11;
    if (schemeLen == 0) {
      out += text[i++];
      continue;
    }
    std::size_t start = i + schemeLen;
    std::size_t end = start;
    while (end < text.size() && !isSpace(text[end]) && text[end] != '/' && text[end] != '?' &&
           text[end] != '#' && text[end] != '"' && text[end] != '\'' && text[end] != '<' &&
           text[end] != '>')
      ++end;
    std::string_view authority = text.substr(start, end - start);
    std::size_t at = authority.rfind('@');
    std::size_t colon = at == std::string_view::npos ? at : authority.substr(0, at).find(':');
    if (colon == std::string_view::npos || colon + 1 == at ||
        authority.substr(colon + 1, at - colon - 1) == kRedacted) {
      out.append(text.substr(i, end - i));
    } else {
      out.append(text.substr(i, schemeLen + colon + 1));
      out += kRedacted;
      out.append(authority.substr(at));
    }
    i = end;
  }
  return out;
}

std::string maskBearer(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!startsWithIgnoreCase(text, i, "bearer ")) {
      out += text[i++];
      continue;
    }
    std::size_t j = i + 7;
    while (j < text.size() && text[j] == ' ') ++j;
    out.append(text.substr(i, j - i));
    if (alreadyMasked(text, j)) {
      i = j;
      continue;
    }
    std::size_t k = j;
    while (k < text.size() && !isSpace(text[k]) && text[k] != '"' && text[k] != '\'') ++k;
    if (k > j) out += kRedacted;
    i = k;
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool isSecretKeyword(std::string_view key) {
  std::string k;
  for (char c : key) k += lower(c);
  return k == "password" || k == "sslpassword";
}

void addSecret(std::vector<std::string>& out, std::string s) {
  if (s.empty()) return;
  if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
}

}  // namespace

std::string redactSecrets(std::string_view text, const std::vector<std::string>& knownSecrets) {
  std::string s = replaceKnown(text, knownSecrets);
  s = maskUriUserinfo(s);
  s = maskKeywordValues(s);
  return maskBearer(s);
}

std::vector<std::string> connInfoSecrets(std::string_view conninfo) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (b < conninfo.size() && isSpace(conninfo[b])) ++b;
  std::string_view s = conninfo.substr(b);

  std::size_t schemeLen = 0;
  if (startsWithIgnoreCase(s, 0, "postgresql://"))
    schemeLen = 13;
  else if (startsWithIgnoreCase(s, 0, "postgres://"))
    schemeLen = 11;
  if (schemeLen != 0) {
    std::string_view rest = s.substr(schemeLen);
    std::size_t authEnd = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authEnd);
    std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      std::size_t colon = userinfo.find(':');
      if (colon != std::string_view::npos) {
        std::string_view pw = userinfo.substr(colon + 1);
        addSecret(out, std::string(pw));
        addSecret(out, percentDecode(pw));
      }
    }
    std::size_t q = rest.find('?');
    if (q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      query = query.substr(0, query.find('#'));
      while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && isSecretKeyword(percentDecode(pair.substr(0, eq)))) {
          addSecret(out, std::string(pair.substr(eq + 1)));
          addSecret(out, percentDecode(pair.substr(eq + 1)));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
      }
    }
    return out;
  }

  // keyword=value pairs, libpq rules: values may be single-quoted, \ escapes ' and \.
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isSpace(s[i])) ++i;
    std::size_t keyStart = i;
    while (i < s.size() && s[i] != '=' && !isSpace(s[i])) ++i;
    std::string_view key = s.substr(keyStart, i - keyStart);
    while (i < s.size() && isSpace(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') {  // not keyword=value: skip a word and go on
      while (i < s.size() && !isSpace(s[i])) ++i;
      continue;
    }
    ++i;
    while (i < s.size() && isSpace(s[i])) ++i;
    std::string value;
    std::size_t rawStart = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      rawStart = i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
      std::string_view raw = s.substr(rawStart, i - rawStart);
      if (i < s.size()) ++i;  // closing quote
      if (isSecretKeyword(key)) {
        addSecret(out, std::string(raw));
        addSecret(out, value);
      }
    } else {
      while (i < s.size() && !isSpace(s[i])) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
      if (isSecretKeyword(key)) {
        addSecret(out, std::string(s.substr(rawStart, i - rawStart)));
        addSecret(out, value);
      }
    }
  }
  return out;
}

}  // namespace pgvigil
