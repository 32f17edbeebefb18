#include "restart/command_restarter.h"

#include <algorithm>
#include <cstdlib>

#include "core/redact.h"
#include "core/units.h"
#include "restart/command_preflight.h"

namespace pgvigil {

namespace {

using std::chrono::milliseconds;

/// The last non-empty line of the output, at most 200 bytes: what an event can carry.
std::string lastLine(const std::string& text) {
  auto end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  auto start = text.find_last_of('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  std::string line = text.substr(start, end - start + 1);
  if (line.size() > 200) line = line.substr(0, 197) + "...";
  return line;
}

/// The budget as an operator configured it: "1m", not "59s998ms" for a deadline taken a moment
/// before the restart started.
std::string formatBudget(milliseconds budget) {
  if (budget >= std::chrono::seconds{10})
    budget = std::chrono::round<std::chrono::seconds>(budget);
  else if (budget >= std::chrono::seconds{1})
    budget = std::chrono::round<std::chrono::duration<long long, std::deci>>(budget);
  return formatDuration(budget);
}

}  // namespace

CommandRestarter::CommandRestarter(std::vector<std::string> argv, ProcessLauncher& launcher,
                                   const Clock& clock, CommandRestarterOptions options)
    : argv_(std::move(argv)), launcher_(launcher), clock_(clock), options_(options) {}

CommandRestarter::CommandRestarter(std::vector<std::string> argv, ProcessLauncherPtr launcher,
                                   const Clock& clock, CommandRestarterOptions options)
    : argv_(std::move(argv)),
      ownedLauncher_(std::move(launcher)),
      launcher_(*ownedLauncher_),
      clock_(clock),
      options_(options) {}

RestartOutcome CommandRestarter::restart(const Deadline& deadline) {
  const auto started = clock_.now();
  const milliseconds budget = deadline.remaining();
  RestartOutcome outcome;
  auto finish = [&](RestartOutcome::Result result, std::string detail) {
    outcome.result = result;
    outcome.detail = std::move(detail);
    outcome.took = std::chrono::duration_cast<Millis>(clock_.now() - started);
    return outcome;
  };

  if (argv_.empty()) return finish(RestartOutcome::Result::kSpawnFailed, "no command configured");
  if (budget.count() <= 0) return finish(RestartOutcome::Result::kTimedOut, "no time left to run");

  SpawnResult spawned = launcher_.spawn(argv_);
  if (!spawned.child)
    return finish(RestartOutcome::Result::kSpawnFailed,
                  describeSpawnError(spawned.error, argv_.front()));
  ChildProcess& child = *spawned.child;

  // The command runs until the deadline less the time the escalation needs. Without a polite
  // stop (Windows), there is no grace to keep: it runs until the kill.
  const bool askFirst = child.canAskToStop();
  const milliseconds grace = askFirst ? std::min(options_.killGrace, budget / 4) : milliseconds{0};
  const milliseconds margin = std::min(options_.reapMargin, budget / 10);
  const Deadline runUntil(clock_, deadline.at() - grace - margin);
  const Deadline termUntil(clock_, deadline.at() - margin);

  std::string step;
  if (!child.waitExit(runUntil)) {
    if (!askFirst) {
      step = "terminated: no polite stop on this platform";
    } else {
      child.signalGroup(kSignalTerm);
      if (child.waitExit(termUntil)) {
        step = "SIGTERM";
      } else {
        step = "SIGKILL: it ignored SIGTERM";
      }
    }
    // Also when the command itself obeyed SIGTERM: whatever it started in its group and left
    // behind goes too. The unreaped command still holds the group id, so no stranger is hit.
    child.signalGroup(kSignalKill);
    // Bounded: SIGKILL is not ignorable, but a process in uninterruptible sleep may take a
    // moment; the child's destructor reaps it off-thread if it takes longer still.
    if (!child.waitExit(Deadline(clock_, deadline.at() + options_.reapMargin))) {
      outcome.output = redactSecrets(child.output().text(), options_.secrets);
      return finish(
          RestartOutcome::Result::kTimedOut,
          "killed after " + formatBudget(budget) + " timeout (" + step + "; not reaped yet)");
    }
  }
  ExitStatus status = child.reap();
  // What a restart script prints may quote a conninfo or a password: mask it before it goes
  // into an event, a log line or /status.
  outcome.output = redactSecrets(child.output().text(), options_.secrets);
  if (!step.empty())
    return finish(RestartOutcome::Result::kTimedOut,
                  "killed after " + formatBudget(budget) + " timeout (" + step + ")");
  if (status.success()) return finish(RestartOutcome::Result::kSucceeded, describe(status));
  std::string detail = describe(status);
  std::string last = lastLine(outcome.output);
  if (!last.empty()) detail += ": " + last;
  return finish(RestartOutcome::Result::kFailed, std::move(detail));
}

RestartPathCheck CommandRestarter::preflight(const Deadline& deadline) {
  (void)deadline;  // stat and access only
  const char* path = std::getenv("PATH");
  RestartPathCheck check = checkCommandPath(argv_, path ? path : "");
  if (!check.ok) check.problem = redactSecrets(check.problem, options_.secrets);
  return check;
}

}  // namespace pgvigil
