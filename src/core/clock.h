// Time is injected (Envoy's TimeSource): monotonic time for intervals and deadlines, wall time
// for display and events. Unit tests use FakeClock and never sleep.
#pragma once

#include <atomic>
#include <chrono>

namespace pgvigil {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;
  virtual WallTime wallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

/// A clock that moves only when told to. Steady and wall time advance together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime wallStart = WallTime{std::chrono::seconds{1'700'000'000}})
      : steady_(SteadyTime{std::chrono::hours{1}}), wall_(wallStart) {}
  SteadyTime now() const override { return steady_; }
  WallTime wallNow() const override { return wall_; }
  template <class Rep, class Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  SteadyTime steady_;
  WallTime wall_;
};

/// A point in monotonic time by which something must be done.
class Deadline {
 public:
  Deadline(const Clock& clock, std::chrono::steady_clock::duration budget)
      : clock_(&clock), at_(clock.now() + budget) {}
  Deadline(const Clock& clock, SteadyTime at) : clock_(&clock), at_(at) {}
  SteadyTime at() const { return at_; }
  bool expired() const { return clock_->now() >= at_; }
  std::chrono::milliseconds remaining() const {
    auto left = at_ - clock_->now();
    if (left <= left.zero()) return std::chrono::milliseconds{0};
    return std::chrono::ceil<std::chrono::milliseconds>(left);
  }
  const Clock& clock() const { return *clock_; }
  /// The earlier of this deadline and now + budget (a phase deadline inside a round deadline).
  Deadline sooner(std::chrono::steady_clock::duration budget) const {
    auto other = clock_->now() + budget;
    return Deadline(*clock_, other < at_ ? other : at_);
  }

 private:
  const Clock* clock_;
  SteadyTime at_;
};

}  // namespace pgvigil
