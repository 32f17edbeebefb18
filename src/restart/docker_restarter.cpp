#include "restart/docker_restarter.h"

#include <algorithm>
#include <cstdio>
#include <exception>

namespace pgvigil {

namespace {

using namespace std::chrono_literals;

double epochSeconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

/// What the daemon says about the container now: inspect, and the events log for a non-zero
/// exit (was it `docker stop` that had to SIGKILL?).
ServiceState queryState(const DockerClient& client, const std::string& container,
                        const Deadline& deadline) {
  ContainerState st;
  if (auto err = client.inspect(container, deadline, &st)) {
    return err.kind == DockerError::Kind::kNotFound ? ServiceState::kNotFound
                                                    : ServiceState::kUnknown;
  }
  std::optional<ServiceState> fromEvents;
  if (!st.running && !st.oomKilled && st.exitCode != 0) {
    if (auto finished = parseDockerTime(st.finishedAt)) {
      std::vector<DockerEvent> events;
      // `stop` follows `die`; a few seconds before the finish cover its kill and die.
      double until = std::max(epochSeconds(deadline.clock().wallNow()), *finished + 0.001);
      if (!client.events(container, *finished - 5.0, until, deadline, &events))
        fromEvents = foldEvents(events);
    }
  }
  return judgeContainer(st, fromEvents);
}

std::string describeExit(const ContainerState& st) {
  std::string s = st.status.empty() ? "not running" : st.status;
  if (st.status == "exited" || st.status == "dead") s += " " + std::to_string(st.exitCode);
  if (st.oomKilled) s += ", OOM-killed";
  return s;
}

}  // namespace

std::optional<ServiceState> serviceStateFromEvent(const DockerEvent& event) {
  const std::string& a = event.action;
  if (a == "start" || a == "unpause") return ServiceState::kRunning;
  if (a == "oom") return ServiceState::kFailed;
  if (a == "stop" || a == "pause") return ServiceState::kOperatorStopped;
  if (a == "destroy") return ServiceState::kNotFound;
  if (a == "die") {
    auto it = event.attributes.find("exitCode");
    // PostgreSQL exits 0 only after a shutdown someone asked for (docker stop, pg_ctl stop).
    if (it != event.attributes.end() && it->second == "0") return ServiceState::kOperatorStopped;
    return ServiceState::kFailed;
  }
  return std::nullopt;
}

bool isShutdownKill(const DockerEvent& event) {
  if (event.action != "kill") return false;
  auto it = event.attributes.find("signal");
  if (it == event.attributes.end()) return false;
  std::string sig = it->second;
  if (sig.rfind("SIG", 0) == 0) sig = sig.substr(3);
  return sig == "15" || sig == "2" || sig == "3" || sig == "TERM" || sig == "INT" || sig == "QUIT";
}

std::optional<ServiceState> DockerEventFold::onEvent(const DockerEvent& event) {
  if (isShutdownKill(event)) {
    shutdownAsked_ = true;
    return ServiceState::kOperatorStopped;
  }
  const std::string& a = event.action;
  if (a == "start") shutdownAsked_ = false;
  if (a == "die") {
    const bool asked = shutdownAsked_;
    shutdownAsked_ = false;
    // Docker's SIGKILL after the stop timeout (137), or a shutdown that ended badly: the
    // operator asked for it to end, so it is theirs, not a crash.
    if (asked) return ServiceState::kOperatorStopped;
  }
  return serviceStateFromEvent(event);
}

std::optional<ServiceState> foldEvents(const std::vector<DockerEvent>& events) {
  DockerEventFold fold;
  std::optional<ServiceState> state;
  for (const auto& ev : events)
    if (auto s = fold.onEvent(ev)) state = s;
  return state;
}

ServiceState judgeContainer(const ContainerState& st,
                            const std::optional<ServiceState>& fromEvents) {
  if (st.status == "paused") return ServiceState::kOperatorStopped;
  if (st.status == "restarting") return ServiceState::kFailed;  // died; Docker's policy restarts
  if (st.running || st.status == "running") return ServiceState::kRunning;
  if (st.status == "created" || st.status == "removing") return ServiceState::kOperatorStopped;
  if (st.oomKilled) return ServiceState::kFailed;
  if (st.exitCode == 0) return ServiceState::kOperatorStopped;
  if (fromEvents == ServiceState::kOperatorStopped) return ServiceState::kOperatorStopped;
  return ServiceState::kFailed;
}

std::chrono::seconds dockerStopTimeout(std::chrono::milliseconds remaining) {
  auto reserve = std::min<std::chrono::milliseconds>(15s, remaining / 4);
  // Rounded, not floored: a deadline taken a moment ago still says "45s" for a 60 s timeout.
  auto t = std::chrono::round<std::chrono::seconds>(remaining - reserve);
  return std::max<std::chrono::seconds>(t, 1s);
}

RestartOutcome::Result toRestartResult(DockerError::Kind kind) {
  using R = RestartOutcome::Result;
  switch (kind) {
    case DockerError::Kind::kNone:
      return R::kSucceeded;
    case DockerError::Kind::kUnreachable:
      return R::kUnreachable;
    case DockerError::Kind::kPermissionDenied:
      return R::kPermissionDenied;
    case DockerError::Kind::kNotFound:
      return R::kNotFound;
    case DockerError::Kind::kTimeout:
      return R::kTimedOut;
    case DockerError::Kind::kApi:
      return R::kFailed;
  }
  return R::kFailed;
}

DockerRestarter::DockerRestarter(std::string container, std::string dockerHost, const Clock& clock)
    : container_(std::move(container)), client_(std::move(dockerHost)), clock_(clock) {}

RestartPathCheck DockerRestarter::preflight(const Deadline& deadline) {
  ContainerState st;
  const DockerError err = client_.inspect(container_, deadline, &st);
  if (!err) return {};
  if (err.kind == DockerError::Kind::kNotFound)
    return {false,
            "container '" + container_ + "' does not exist (docker " + client_.hostText() + ")"};
  return {false, err.message};
}

RestartOutcome DockerRestarter::restart(const Deadline& deadline) {
  const auto started = clock_.now();
  RestartOutcome outcome;
  auto finish = [&](RestartOutcome::Result result, std::string detail) {
    outcome.result = result;
    outcome.detail = std::move(detail);
    outcome.took = std::chrono::duration_cast<Millis>(clock_.now() - started);
    return outcome;
  };
  auto fail = [&](const DockerError& err) {
    return finish(toRestartResult(err.kind), err.message);
  };

  ContainerState before;
  if (auto err = client_.inspect(container_, deadline, &before)) return fail(err);

  std::string done;
  if (before.running) {
    auto t = dockerStopTimeout(deadline.remaining());
    if (auto err = client_.restart(container_, t, deadline)) return fail(err);
    done = "restarted (stop timeout " + std::to_string(t.count()) + "s)";
  } else {
    if (auto err = client_.start(container_, deadline)) return fail(err);
    done = "started (was " + describeExit(before) + ")";
  }

  ContainerState after;
  if (auto err = client_.inspect(container_, deadline, &after)) return fail(err);
  if (!after.running)
    return finish(RestartOutcome::Result::kFailed,
                  "docker " + done + ", but it is " + describeExit(after) + " now");
  return finish(RestartOutcome::Result::kSucceeded, "container " + done);
}

ServiceState DockerRestarter::query(const Deadline& deadline) {
  return queryState(client_, container_, deadline);
}

// ---------------------------------------------------------------------------------------------

DockerEventWatcher::DockerEventWatcher(std::string container, std::string dockerHost)
    : container_(std::move(container)), client_(std::move(dockerHost)) {}

DockerEventWatcher::~DockerEventWatcher() {
  stop();
}

void DockerEventWatcher::start(std::function<void(ServiceState)> onChange) {
  stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  onChange_ = std::move(onChange);
  last_.reset();
  thread_ = std::thread([this] { run(); });
}

void DockerEventWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (current_) current_->interrupt();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool DockerEventWatcher::sleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, d, [this] { return stopping_; });
}

void DockerEventWatcher::publish(ServiceState state) {
  if (last_ == state) return;
  last_ = state;
  if (onChange_) onChange_(state);
}

void DockerEventWatcher::report(const std::string& what) noexcept {
  // The agent's log when it set a reporter (setErrorReporter); otherwise stderr, which the
  // service manager keeps (journald, the container log).
  try {
    if (report_) {
      report_("docker event watcher (" + container_ + "): " + what);
      return;
    }
  } catch (...) {
  }
  std::fprintf(stderr, "pgvigil: docker event watcher (%s): %s\n", container_.c_str(),
               what.c_str());
}

void DockerEventWatcher::run() {
  auto backoff = std::chrono::milliseconds(100ms);
  for (;;) {
    std::string error;
    try {
      if (!follow(backoff)) return;
      continue;
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    // Never std::terminate the agent: say what happened, forget the stream, and subscribe
    // again after a pause (the fresh subscription inspects the container, so nothing is lost).
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    report("watch interrupted, subscribing again: " + error);
    try {
      publish(ServiceState::kUnknown);
    } catch (...) {
      // the callback failed again; the next subscription reports afresh
    }
    backoff = std::clamp<std::chrono::milliseconds>(backoff * 2, 1s, 5s);
    if (!sleepUnlessStopped(backoff)) return;
  }
}

bool DockerEventWatcher::follow(std::chrono::milliseconds& backoff) {
  const Clock& clock = SystemClock::instance();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
  }
  DockerEventStreamPtr stream;
  if (client_.openEventStream(container_, Deadline(clock, 2s), &stream)) {
    publish(ServiceState::kUnknown);
    const auto wait = backoff;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    return sleepUnlessStopped(wait);
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    current_ = stream.get();
  }
  // Declared after `stream`, so destroyed before it, also when an exception unwinds: stop()
  // must never interrupt a stream that is gone.
  struct Forget {
    DockerEventWatcher& self;
    ~Forget() {
      std::lock_guard lock(self.mutex_);
      self.current_ = nullptr;
    }
  } forget{*this};
  backoff = 100ms;
  // Subscribed first, then asked: a change between the two shows up as an event.
  publish(queryState(client_, container_, Deadline(clock, 5s)));
  DockerEventFold fold;
  DockerEvent event;
  while (stream->next(&event)) {
    if (event.type != "container" && !event.type.empty()) continue;
    if (auto state = fold.onEvent(event)) publish(*state);
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
  }
  publish(ServiceState::kUnknown);  // the daemon went away (or restarted)
  return sleepUnlessStopped(backoff);
}

}  // namespace pgvigil
