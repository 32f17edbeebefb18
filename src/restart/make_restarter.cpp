// The only code that knows every restarter type (STYLE.md 5). One case per method; each
// restarter does one attempt, and the policy around it lives in core.
#include <memory>

#include "restart/command_restarter.h"
#include "restart/restarter.h"
#ifndef _WIN32
#include "restart/docker_restarter.h"
#endif
#ifdef PGVIGIL_HAVE_SYSTEMD
#include "restart/systemd_restarter.h"
#endif
#ifdef _WIN32
#include "restart/windows/scm_restarter.h"
#include "restart/windows/scm_watcher.h"
#endif

namespace pgvigil {

RestarterPtr makeRestarter(const RestartConfig& config, const Clock& clock) {
  switch (config.method) {
    case RestartMethod::kNone:
      return nullptr;
    case RestartMethod::kCommand:
      return std::make_unique<CommandRestarter>(config.command, makeProcessLauncher(), clock);
#ifndef _WIN32  // Docker Desktop's named pipe has no transport here (docs/windows.md)
    case RestartMethod::kDocker:
      return std::make_unique<DockerRestarter>(config.container, config.docker_host, clock);
#endif
#ifdef PGVIGIL_HAVE_SYSTEMD
    case RestartMethod::kSystemd:
      return std::make_unique<SystemdRestarter>(config.unit, clock);
#endif
#ifdef _WIN32
    case RestartMethod::kWindowsService:
      return std::make_unique<ScmRestarter>(config.service, clock);
#endif
    default:
      return nullptr;  // filled in as each restarter lands
  }
}

ServiceWatcherPtr makeServiceWatcher(const RestartConfig& config) {
  switch (config.method) {
#ifndef _WIN32
    case RestartMethod::kDocker:
      return std::make_unique<DockerEventWatcher>(config.container, config.docker_host);
#endif
#ifdef PGVIGIL_HAVE_SYSTEMD
    case RestartMethod::kSystemd:
      return std::make_unique<SystemdServiceWatcher>(config.unit);
#endif
#ifdef _WIN32
    case RestartMethod::kWindowsService:
      return std::make_unique<ScmServiceWatcher>(config.service);
#endif
    default:
      return nullptr;  // command: nothing to watch
  }
}

}  // namespace pgvigil
