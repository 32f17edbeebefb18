// What the command preflight shares between platforms; checkCommandPath is per platform
// (restart/posix/, restart/windows/).
#include "restart/command_preflight.h"

namespace pgvigil {

std::string pgRestartDataDirectory(const std::vector<std::string>& argv) {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--fast-timeout" || a == "--immediate-timeout" || a == "--kill-timeout" ||
        a == "--start-timeout") {
      ++i;  // its value
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    return a;
  }
  return "";
}

}  // namespace pgvigil
