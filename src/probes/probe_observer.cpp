#include "probes/probe_observer.h"

namespace pgvigil {

ProbeObserver& ProbeObserver::none() {
  static ProbeObserver nothing;
  return nothing;
}

}  // namespace pgvigil
