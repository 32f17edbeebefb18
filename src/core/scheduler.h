// When each target's next round is due: a tick()-driven queue ordered by due time (Envoy's
// interval timers, without the threads). The caller runs the rounds and reports each one done;
// the scheduler never runs anything itself and never looks at a clock: time is an argument.
//
// Guarantees: at most one round per target in flight (a target whose round has not been
// reported done is never returned again, also across remove/add of the same name), rounds
// never overlap, and every operation is O(log n) in the number of targets.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/types.h"

namespace pgvigil {

/// A source of random numbers in [0, 1). Injected so tests pin it.
using Random01 = std::function<double()>;

class Scheduler {
 public:
  struct Options {
    /// After a round reported with confirmSoon, the next one comes after
    /// min(interval, confirmInterval): "faster confirmation", as Envoy's unhealthy_edge_interval.
    /// A fixed time, not a fraction of the interval, so that a crash is confirmed as fast at a
    /// 1 min interval as at 1 s; confirmation ends once the state has changed, so its cost is
    /// bounded by unhealthy_after / healthy_after rounds per change.
    Millis confirmInterval{1000};
    /// The first rounds are spread over min(interval, maxStartSpread) (0: the whole interval), so
    /// an agent with a long interval still gives its first verdict soon after it starts.
    Millis maxStartSpread{0};
  };

  explicit Scheduler(Random01 random);
  Scheduler(Random01 random, Options options);

  /// Adds a target; its first round is due at now + random() * spread, with spread = interval
  /// (or Options::maxStartSpread when smaller), which spreads the targets' first rounds instead
  /// of probing them all at once. Adding a name that is
  /// already there only updates its interval (see update()).
  void add(const std::string& id, Millis interval, SteadyTime now);
  /// Removes a target. A round still in flight may still be reported done (it is ignored).
  bool remove(const std::string& id);
  /// A new interval (config reload): the next round is due at last start + interval, or now
  /// when that has passed; a target that never ran keeps its first due time, brought forward
  /// to now + interval at the latest.
  bool update(const std::string& id, Millis interval, SteadyTime now);

  /// The targets due at `now`, earliest first; each is in flight until done().
  std::vector<std::string> tick(SteadyTime now);
  /// The round of `id` that tick() returned has finished. The next one is due at its start +
  /// interval (or the confirm interval), never before now. False when `id` had no round in flight.
  bool done(const std::string& id, SteadyTime now, bool confirmSoon = false);
  /// Run a round of `id` as soon as possible ("crash seen: confirm at once"): due now, or right
  /// after the round in flight. False for an unknown target.
  bool runNow(const std::string& id, SteadyTime now);

  /// When the earliest round is due (the loop sleeps until then); empty when nothing is queued.
  std::optional<SteadyTime> nextDue() const;
  std::optional<SteadyTime> dueOf(const std::string& id) const;
  bool contains(const std::string& id) const;
  bool inFlight(const std::string& id) const;
  std::size_t size() const;  ///< targets scheduled (removed ones with a round in flight excluded)
  std::size_t inFlightCount() const { return inFlight_; }
  Millis confirmInterval(Millis interval) const;

 private:
  struct Entry {
    Millis interval{0};
    std::optional<SteadyTime> due;      ///< set while queued (not in flight)
    std::optional<SteadyTime> started;  ///< start of the last (or current) round
    bool inFlight = false;
    bool runAfterDone = false;  ///< runNow() while in flight
    bool removed = false;       ///< removed while in flight: dropped at done()
  };

  void enqueue(const std::string& id, Entry& e, SteadyTime due);
  void dequeue(const std::string& id, Entry& e);
  static Millis sane(Millis interval);

  Random01 random_;
  Options options_;
  std::unordered_map<std::string, Entry> entries_;
  std::set<std::pair<SteadyTime, std::string>> queue_;
  std::size_t inFlight_ = 0;
  std::size_t removedInFlight_ = 0;
};

}  // namespace pgvigil
