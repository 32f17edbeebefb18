// What of the restart engine survives an agent restart: per target, the restart history, the
// restarts the budget counts, the backoff position and a pause. One small YAML file per agent
// in agent.state_dir, written atomically (temp file + fsync + rename). A corrupt or unreadable
// file is reported to the caller (to log) and set aside, never fatal: the agent then starts
// with an empty history.
//
// Times are stored as wall-clock RFC 3339 (steady time does not survive a reboot); the
// TargetSupervisor converts them to and from steady time with the clock offsets.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/wall_time.h"  // formatWallTime/parseWallTime, used by the file format

namespace pgvigil {

/// What one target's restart engine keeps across agent restarts.
struct PersistedTarget {
  std::vector<RestartRecord> history;        ///< newest last
  std::vector<WallTime> budget;              ///< restarts the budget still counts, oldest first
  int attempts = 0;                          ///< restarts since the target was last up (backoff)
  std::optional<WallTime> last_attempt_end;  ///< backoff runs from here
  bool paused = false;
  std::optional<WallTime> paused_until;

  bool operator==(const PersistedTarget& other) const;
};

struct PersistedState {
  std::map<std::string, PersistedTarget> targets;  ///< by target name
};

class StateStore {
 public:
  /// `file` is the state file; see pathFor().
  explicit StateStore(std::filesystem::path file);
  /// The state file in a state_dir: <state_dir>/pgvigil-state.yaml.
  static std::filesystem::path pathFor(const std::string& stateDir);

  struct [[nodiscard]] LoadResult {
    PersistedState state;
    std::string error;  ///< non-empty: the file was unreadable or corrupt and was set aside
  };
  /// Reads the file. A missing file is a first start: empty state, no error. A corrupt one is
  /// renamed to <file>.corrupt (the next save() writes a fresh one) and reported.
  /// Every time in the file must lie between 1970 and a year and a day after `now`; attempts,
  /// budget and history have upper bounds (below). Outside them the file is corrupt.
  LoadResult load(WallTime now = std::chrono::system_clock::now()) const;
  /// Writes the whole state atomically. Returns an error message, empty on success. Creates the
  /// directory when missing.
  std::string save(const PersistedState& state) const;

  const std::filesystem::path& path() const { return file_; }

  /// The YAML text for a state (what save() writes), and its parser (what load() reads);
  /// the parser returns an error message instead of throwing.
  static std::string serialize(const PersistedState& state);
  static std::optional<PersistedState> parse(const std::string& text, std::string* error,
                                             WallTime now = std::chrono::system_clock::now());

  static constexpr std::size_t kMaxHistory = 20;  ///< restart records kept per target
  /// Longer history lists in a file are corrupt (shorter ones over kMaxHistory are trimmed).
  static constexpr std::size_t kMaxHistoryInFile = 1000;
  /// Budget entries: restart.budget.max is at most 1000.
  static constexpr std::size_t kMaxBudget = 1000;
  /// Restarts since the target was last up; the backoff saturates long before.
  static constexpr int kMaxAttempts = 1'000'000;

 private:
  std::filesystem::path file_;
};

}  // namespace pgvigil
