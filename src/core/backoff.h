// Exponential backoff between restart attempts, as a tiny value type (dnsdist's
// ExponentialBackOffTimer): stateless, capped, overflow-safe; jitter comes from the caller.
#pragma once

#include <functional>

#include "core/config.h"
#include "core/types.h"

namespace pgvigil {

/// A source of random numbers in [0, 1). Injected so tests pin it.
using Random01 = std::function<double()>;

class Backoff {
 public:
  Backoff() = default;
  explicit Backoff(const BackoffConfig& config) : config_(config) {}

  /// The wait after `attempt` failed attempts (0-based: get(0) is `initial`):
  /// initial * multiplier^attempt, capped at `max`, then moved by up to ±jitter of itself as
  /// `random01` (in [0,1)) says: 0 -> -jitter, 0.5 -> exact, towards 1 -> +jitter. `max` is a
  /// hard cap, jitter never exceeds it. Never overflows, for any attempt.
  Millis get(unsigned attempt, double random01 = 0.5) const;

  const BackoffConfig& config() const { return config_; }

 private:
  BackoffConfig config_;
};

}  // namespace pgvigil
