#include "core/recovery_progress.h"

#include <cctype>
#include <charconv>

namespace pgvigil {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) || s.front() == '\0'))
    s.remove_prefix(1);
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '\0'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<PostmasterPid> parsePostmasterPid(std::string_view text) {
  PostmasterPid out;
  int line = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view cur = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line;
    if (line == 1) {
      auto [ptr, ec] = std::from_chars(cur.data(), cur.data() + cur.size(), out.pid);
      if (ec != std::errc{} || ptr != cur.data() + cur.size() || out.pid <= 0) return std::nullopt;
    } else if (line == 8) {
      out.status = std::string(cur);
      break;
    }
  }
  if (line == 0) return std::nullopt;
  return out;
}

std::optional<std::string> startupActivity(std::string_view cmdline) {
  // The title replaces argv; the rest of the area may hold NULs or spaces.
  std::string title;
  for (char c : cmdline) title += c == '\0' ? ' ' : c;
  std::string_view t = trim(title);
  constexpr std::string_view kPrefix = "postgres: ";
  if (t.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  t.remove_prefix(kPrefix.size());
  // "startup ..." or "CLUSTER_NAME: startup ...".
  constexpr std::string_view kStartup = "startup";
  std::size_t at = 0;
  if (t.substr(0, kStartup.size()) != kStartup) {
    const auto colon = t.find(": ");
    if (colon == std::string_view::npos) return std::nullopt;
    at = colon + 2;
    if (t.substr(at, kStartup.size()) != kStartup) return std::nullopt;
  }
  std::string_view rest = t.substr(at + kStartup.size());
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;  // "startup_x" is not it
  return std::string(trim(rest));
}

std::optional<std::string> lastRedoProgress(std::string_view logTail) {
  constexpr std::string_view kLine = "redo in progress, elapsed time:";
  constexpr std::string_view kLsn = "current LSN: ";
  const auto at = logTail.rfind(kLine);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = logTail.substr(at);
  rest = rest.substr(0, rest.find('\n'));
  const auto lsn = rest.find(kLsn);
  if (lsn == std::string_view::npos) return std::nullopt;
  std::string_view value = rest.substr(lsn + kLsn.size());
  std::size_t n = 0;
  while (n < value.size() &&
         (std::isxdigit(static_cast<unsigned char>(value[n])) || value[n] == '/'))
    ++n;
  if (n == 0) return std::nullopt;
  return std::string(value.substr(0, n));
}

}  // namespace pgvigil
