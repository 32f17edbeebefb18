#include "app/cmd_service.h"

#include <ostream>

namespace pgvigil {

int runServiceCommand(const CliCommand& cmd, std::ostream&, std::ostream& err) {
  err << "pgvigil: 'service " << cmd.sub
      << "' registers pgvigil as a Windows service and exists only on Windows; "
         "on Linux install service/pgvigil.service (docs/operations.md)\n";
  return kExitUsage;
}

int runRunAsService(const std::string&, std::ostream& err) {
  err << "pgvigil: 'run --service' runs pgvigil under the Windows Service Control Manager and "
         "exists only on Windows; under systemd use 'pgvigil run' (service/pgvigil.service)\n";
  return kExitUsage;
}

}  // namespace pgvigil
