// restart.method: docker — restart PostgreSQL where it really runs, through the Docker Engine API.
//
// How an operator stop is told from a crash (docs/restarters.md):
//  * `docker stop` sends the container's stop signal; PostgreSQL shuts down cleanly and exits 0.
//    The events are `kill` (signal 15, or 2 with --stop-signal SIGINT), `die` (exitCode 0), `stop`.
//  * a crash or `docker kill` ends it with a non-zero code (137 for SIGKILL): `die` (exitCode != 0)
//    and no `stop`; an OOM kill adds `oom` and sets State.OOMKilled.
//  * a `docker stop` that had to SIGKILL after its timeout exits 137 too, but is followed by
//  `stop`.
// So: exit code 0 is an operator stop; a non-zero exit is an operator stop only when the daemon's
// event log shows `stop` after the last `start`; OOMKilled is always a failure.
//
// As the events stream in, `stop` comes too late to act on: it follows `die`, and a `die`
// published as a failure asks for a confirming round at once, which sees `refused` and restarts
// before `stop` arrives (seen: "down: refused in 31 consecutive rounds" after a `docker stop -t 30`
// that had to SIGKILL). What comes first is `docker stop`'s `kill` with the stop signal, long
// before any SIGKILL: a `kill` with one of PostgreSQL's shutdown signals (TERM smart, INT fast,
// QUIT immediate) is a shutdown someone asked for, reported as an operator stop at once, and the
// `die` that follows it (whatever its exit code, 137 after Docker's SIGKILL) stays one. `docker
// kill` (SIGKILL, no shutdown signal first) is still a crash; `docker kill -s HUP` (a reload) is
// neither. A `start` ends the episode.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "restart/docker_client.h"
#include "restart/restarter.h"

namespace pgvigil {

/// The state a container event says the container is in; nullopt for events that say nothing
/// about it (kill, restart, exec_*, health_status, ...).
std::optional<ServiceState> serviceStateFromEvent(const DockerEvent& event);
/// True for a `kill` event whose signal is one of PostgreSQL's shutdown signals (SIGTERM, SIGINT,
/// SIGQUIT; Docker gives the number, e.g. "15", older daemons a name): a shutdown asked for.
bool isShutdownKill(const DockerEvent& event);

/// The state a container's events say, in order, with the memory that serviceStateFromEvent()
/// lacks: a shutdown signal (`kill` signal=15/2/3, which `docker stop` sends first) makes the
/// stop an operator's, also when Docker has to SIGKILL after its timeout (`die` exitCode=137).
class DockerEventFold {
 public:
  /// The state after this event; nullopt when the event says nothing new about it.
  std::optional<ServiceState> onEvent(const DockerEvent& event);
  void reset() { shutdownAsked_ = false; }

 private:
  bool shutdownAsked_ = false;  ///< a shutdown signal since the last start/die
};

/// Folds a container's events, oldest first, into the state they leave it in (nullopt: none said).
std::optional<ServiceState> foldEvents(const std::vector<DockerEvent>& events);
/// Inspect plus, for a non-zero exit, the events log: see the header comment.
ServiceState judgeContainer(const ContainerState& state,
                            const std::optional<ServiceState>& fromEvents);
/// How long `restart?t=N` may let the container stop before Docker SIGKILLs it: generous (the
/// restart deadline less what the start needs), at least 1 s.
std::chrono::seconds dockerStopTimeout(std::chrono::milliseconds remaining);

RestartOutcome::Result toRestartResult(DockerError::Kind kind);

class DockerRestarter final : public Restarter {
 public:
  DockerRestarter(std::string container, std::string dockerHost, const Clock& clock);

  std::string_view method() const override { return "docker"; }
  /// A running container is restarted (restart?t=N, N generous); a stopped one is started. Then
  /// inspected: kSucceeded only when Docker says it runs.
  RestartOutcome restart(const Deadline& deadline) override;
  /// kRunning, kFailed (crashed, killed, OOM, restarting), kOperatorStopped (docker stop, paused,
  /// never started), kNotFound; kUnknown when the daemon cannot be asked.
  ServiceState query(const Deadline& deadline) override;
  /// The daemon answers and the container exists (GET /containers/{id}/json).
  RestartPathCheck preflight(const Deadline& deadline) override;

 private:
  std::string container_;
  DockerClient client_;
  const Clock& clock_;
};

/// Follows GET /events for one container on its own thread and reports the state its events
/// say (die, oom, stop, start, pause, destroy), each change once. On every (re)connect it
/// inspects the container, so a change while the daemon was away is not missed; while the daemon
/// is unreachable it reports kUnknown and reconnects with backoff (100 ms doubling to 5 s).
class DockerEventWatcher final : public ServiceWatcher {
 public:
  DockerEventWatcher(std::string container, std::string dockerHost);
  ~DockerEventWatcher() override;

  void start(std::function<void(ServiceState)> onChange) override;
  /// Interrupts the blocking read (socket shutdown) and joins; prompt.
  void stop() override;

 private:
  void run();
  /// One subscription: connect, inspect, follow the stream until it ends. False once stopping.
  bool follow(std::chrono::milliseconds& backoff);
  void publish(ServiceState state);
  void report(const std::string& what) noexcept;
  bool sleepUnlessStopped(std::chrono::milliseconds d);

  std::string container_;
  DockerClient client_;
  std::function<void(ServiceState)> onChange_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  DockerEventStream* current_ = nullptr;  ///< guarded by mutex_; interrupted by stop()
  std::optional<ServiceState> last_;      ///< watcher thread only
};

}  // namespace pgvigil
