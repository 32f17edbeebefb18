#include "core/restart_output.h"

namespace pgvigil {

std::string restartOutputTail(std::string_view text) {
  const auto end = text.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) return "";
  std::size_t start = 0;
  std::size_t pos = end;
  for (std::size_t lines = 0; lines < kRestartOutputLines; ++lines) {
    const auto nl = text.rfind('\n', pos);
    if (nl == std::string_view::npos) {
      start = 0;
      break;
    }
    start = nl + 1;
    if (nl == 0) break;
    pos = nl - 1;
  }
  if (text.size() - start > kRestartOutputBytes) {
    start = text.size() - kRestartOutputBytes;
    if (auto nl = text.find('\n', start); nl != std::string_view::npos && nl < end) start = nl + 1;
  }
  return std::string(text.substr(start));
}

}  // namespace pgvigil
