// `pgvigil demo` is not part of the Windows build: it runs initdb and pg_ctl from a Debian
// PostgreSQL as children of the agent (fork, a POSIX restart script). docs/windows.md.
#include "app/cmd_demo.h"

#include <ostream>

#include "app/cli.h"

namespace pgvigil {

int runDemo(const std::optional<std::string>&, std::ostream&, std::ostream& err) {
  err << "pgvigil: demo is not available in the Windows build (it runs initdb and pg_ctl as its "
         "own children); try it on Linux, or watch a real service with config\\windows.yaml\n";
  return kExitFailed;
}

}  // namespace pgvigil
