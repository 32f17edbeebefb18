// Lets Boost.Test print restart outcomes and service states in failure messages.
#pragma once

#include <ostream>

#include "core/restart_outcome.h"

namespace pgvigil {

inline std::ostream& operator<<(std::ostream& os, RestartOutcome::Result r) {
  return os << toString(r);
}
inline std::ostream& operator<<(std::ostream& os, ServiceState s) {
  return os << toString(s);
}

}  // namespace pgvigil
