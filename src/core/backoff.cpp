#include "core/backoff.h"

#include <algorithm>
#include <cmath>

namespace pgvigil {

Millis Backoff::get(unsigned attempt, double random01) const {
  const double initial = std::max<double>(0.0, double(config_.initial.count()));
  const double cap = std::max<double>(0.0, double(config_.max.count()));
  const double multiplier = std::max(1.0, config_.multiplier);
  const double jitter = std::clamp(config_.jitter, 0.0, 1.0);

  // Work in logarithms: initial * multiplier^attempt > cap  <=>  attempt * log(m) >
  // log(cap/initial). No power is ever computed that could overflow, whatever `attempt` is.
  double base = cap;
  if (initial <= 0.0) {
    base = 0.0;
  } else if (initial < cap) {
    if (multiplier == 1.0 || double(attempt) * std::log(multiplier) < std::log(cap / initial))
      base = std::min(cap, initial * std::pow(multiplier, double(attempt)));
  } else {
    base = std::min(initial, cap);
  }

  if (!(random01 >= 0.0)) random01 = 0.0;  // also NaN
  if (random01 >= 1.0) random01 = std::nextafter(1.0, 0.0);
  const double factor = 1.0 + jitter * (2.0 * random01 - 1.0);
  const double value = std::clamp(base * factor, 0.0, cap);
  return Millis{static_cast<Millis::rep>(std::llround(value))};
}

}  // namespace pgvigil
