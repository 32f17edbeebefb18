#include "restart/restarter.h"

namespace pgvigil {

RestarterPtr makeRestarter(const RestartConfig& config, const Clock& clock) {
  (void)clock;
  switch (config.method) {
    case RestartMethod::kNone: return nullptr;
    default: return nullptr;  // filled in as each restarter lands
  }
}

ServiceWatcherPtr makeServiceWatcher(const RestartConfig& config) {
  (void)config;
  return nullptr;
}

}  // namespace pgvigil
