#include "agent/agent.h"

#include <algorithm>
#include <exception>
#include <random>

#include "agent/connection_watch.h"
#include "agent/serial_executor.h"
#include "agent/state_event_writer.h"
#include "core/guarded.h"
#include "probes/connections_check.h"
#include "probes/recovery_reader.h"
#include "probes/round_runner.h"
#include "restart/command_preflight.h"

namespace pgvigil {
namespace {

Random01 defaultRandom() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  auto mutex = std::make_shared<std::mutex>();
  return [engine, mutex] {
    std::lock_guard lock(*mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
  };
}

std::size_t workerCount(std::size_t requested, std::size_t targets) {
  if (requested > 0) return requested;
  return std::clamp<std::size_t>(targets, 2, 16);
}

/// /livez fails when the loop has not passed for this long.
constexpr auto kLivezStale = std::chrono::seconds(5);
/// A snapshot whose only change is a round's figures (latency, checked_at) is published at most
/// this often — at 1,000 targets a round ends every 10 ms, and rebuilding the picture of all of
/// them for each would cost more than the rounds; a change of state is published at once.
constexpr auto kPublishPeriod = std::chrono::seconds(1);
/// Monitoring sessions to open after good rounds are handed to the service thread together,
/// at most this often (a close is handed over at once).
constexpr auto kEnsurePeriod = std::chrono::milliseconds(250);
/// One preflight check of a restart path (docker inspect, D-Bus and polkit, stat).
constexpr auto kPreflightTimeout = std::chrono::seconds(5);
/// Control requests are answered by the loop in microseconds; this bound is for a dead loop.
constexpr auto kControlTimeout = std::chrono::seconds(5);

/// Where a target's recovery progress is read: its recovery keys, else the data directory that
/// scripts/pg-restart is given.
RecoverySources recoverySourcesOf(const TargetConfig& t) {
  RecoverySources s{t.recovery.data_dir, t.recovery.log_file};
  if (s.data_dir.empty() && t.restart.method == RestartMethod::kCommand)
    s.data_dir = pgRestartDataDirectory(t.restart.command);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Agent::Agent(Config config, AlertSink& events, AgentLog& log, AgentOptions options)
    : core_(options.random ? options.random : (options.random = defaultRandom()),
            options.clock->wallNow(), AgentCore::defaultOptions(config.targets.size())),
      initialConfig_(std::move(config)),
      events_(events),
      log_(log),
      options_(std::move(options)),
      clock_(*options_.clock),
      startedAt_(clock_.wallNow()),
      store_(StateStore::pathFor(initialConfig_.agent.state_dir)) {
  if (!options_.prober)
    options_.prober = [this](const TargetConfig& t, const Clock& c) {
      // The connections query runs on the target's monitoring session when it is open: the
      // fresh session runs the liveness query alone, and the figures still arrive when the
      // server is full (reference.md §3).
      ConnectionsSource source;
      if (connectionWatch_ && t.monitoring_session)
        source = [this, &t](int excludePid,
                            const Deadline& deadline) -> std::optional<ConnectionStats> {
          auto answer = connectionWatch_->query(
              t.name,
              [excludePid](int version) { return connectionsStatement(version, excludePid); },
              deadline);
          if (!answer || !answer->ok) return std::nullopt;
          return connectionsOutcomeFromRows(answer->rows).stats;
        };
      return runRoundWith(t, c, source);
    };
  if (!options_.restarterFactory)
    options_.restarterFactory = [](const RestartConfig& r, const Clock& c) {
      return makeRestarter(r, c);
    };
  if (!options_.watcherFactory)
    options_.watcherFactory = [](const RestartConfig& r) { return makeServiceWatcher(r); };
  config_ = std::make_shared<const Config>(initialConfig_);
}

Agent::~Agent() {
  stop();
}

void Agent::post(Input input, bool wake) {
  {
    std::lock_guard lock(mailboxMutex_);
    mailbox_.push_back(std::move(input));
    if (!wake) return;
    ++urgent_;
  }
  mailboxCv_.notify_one();
}

void Agent::start() {
  if (started_) return;
  started_ = true;
  writer_ = std::make_unique<StateEventWriter>(store_, events_, log_, options_.max_queued_events);
  service_ = std::make_unique<SerialExecutor>(log_, "service");
  checks_ = std::make_unique<SerialExecutor>(log_, "checks");
  recovery_ = std::make_unique<SerialExecutor>(log_, "recovery");
  if (options_.watch_connections)
    connectionWatch_ = std::make_unique<ConnectionWatch>(
        clock_,
        [this](const ConnectionWatch::Drop& d) {
          post(Dropped{d.target, d.sqlstate, d.message});
        },
        [this](const std::string& error) {
          log_.log(EventLevel::kError, "internal error in the monitoring sessions' thread",
                   {{"error", error}});
        },
        // /status only: handled at the loop's next wake (at most the sweep period).
        [this](const ConnectionWatch::Report& r) {
          post(SessionReport{r.target, r.state, r.idle_session_timeout, r.keepalive_every}, false);
        });

  // Reading the state file is the one blocking call before the loop runs: nothing reads the
  // agent yet.
  auto loaded = store_.load(clock_.wallNow());
  if (!loaded.error.empty())
    log_.log(EventLevel::kWarning, "restart state file was unreadable and was set aside",
             {{"path", store_.path().string()}, {"error", loaded.error}});

  const SteadyTime now = clock_.now();
  const WallTime wall = clock_.wallNow();
  Effects fx;
  core_.start(initialConfig_, loaded.state, now, wall, fx);
  lastTickNs_ = now.time_since_epoch().count();
  running_ = true;
  execute(fx, now, wall);
  publish(now, wall);
  for (std::size_t i = 0; i < workerCount(options_.workers, initialConfig_.targets.size()); ++i)
    workers_.emplace_back([this] { worker(); });
  loopThread_ = std::thread([this] { loop(); });
}

void Agent::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  post(Stop{});
  if (loopThread_.joinable()) loopThread_.join();
  running_ = false;
  {
    std::lock_guard lock(jobsMutex_);
    jobsStopping_ = true;
  }
  jobsCv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  // A restart in flight is let finish (it is bounded by restart.timeout): abandoning it halfway
  // could leave PostgreSQL stopped. Its outcome still reaches the core, so the history and the
  // budget it used are saved below.
  for (auto& r : restartThreads_) r.thread.join();
  restartThreads_.clear();
  const SteadyTime now = clock_.now();
  const WallTime wall = clock_.wallNow();
  Effects fx;
  {
    std::lock_guard lock(mailboxMutex_);
    for (auto& input : mailbox_) {
      if (auto* done = std::get_if<RestartDone>(&input))
        core_.restartFinished(done->job, done->outcome, done->service, now, wall, fx);
      else if (auto* c = std::get_if<Control>(&input))
        c->reply->set_value({ControlResult::Code::kFailed, "the agent is stopping"});
      else if (auto* r = std::get_if<Reload>(&input))
        r->done->set_value();
    }
    mailbox_.clear();
  }
  // Checks and readings still queued return at once (running_ is false); one in progress ends
  // within its bound, and its answer finds no loop and is dropped.
  checks_->stop();
  recovery_->stop();
  // Watchers and monitoring sessions end (each session with a clean Terminate).
  service_->post([this] {
    for (auto& [name, slot] : watchers_)
      if (slot.watcher) slot.watcher->stop();
    watchers_.clear();
    if (connectionWatch_) connectionWatch_->stop();
  });
  service_->stop();
  writer_->submit(core_.persisted(now, wall), std::move(fx.events));
  writer_->stop();
}

bool Agent::waitFirstRounds(std::chrono::milliseconds timeout) {
  std::unique_lock lock(firstMutex_);
  return firstCv_.wait_for(lock, timeout, [this] { return firstRoundsDone_ || stopped_; });
}

// ---------------------------------------------------------------------------------------------
// The loop

void Agent::loop() {
  try {
    std::vector<Input> inputs;
    for (;;) {
      {
        std::unique_lock lock(mailboxMutex_);
        // The wait is measured on the injected clock but bounded by the sweep period, so a fake
        // clock cannot make it spin or sleep forever.
        auto wait = core_.nextWake() - clock_.now();
        wait = std::clamp<SteadyTime::duration>(wait, SteadyTime::duration::zero(),
                                                std::chrono::milliseconds(250));
        mailboxCv_.wait_for(lock, wait, [this] { return urgent_ > 0; });
        inputs.swap(mailbox_);
        urgent_ = 0;
      }
      const SteadyTime now = clock_.now();
      const WallTime wall = clock_.wallNow();
      lastTickNs_ = now.time_since_epoch().count();
      Effects fx;
      bool stop = false;
      for (auto& input : inputs) stop = handle(input, now, wall, fx) || stop;
      inputs.clear();
      if (stop) {
        // Whatever the last inputs decided is still carried out (events, state).
        fx.probes.clear();
        fx.restarts.clear();
        fx.pathChecks.clear();
        fx.recoveryReads.clear();
        execute(fx, now, wall);
        return;
      }
      core_.tick(now, wall, fx);
      execute(fx, now, wall);
      joinFinishedRestarts();
      if (fx.stateChanged || now - lastPublish_ >= kPublishPeriod) publish(now, wall);
      if (options_.on_tick) options_.on_tick(now);
    }
  } catch (...) {
    // The decisions can no longer be trusted: /livez turns 503 (no more passes) and the app
    // exits non-zero so that the supervisor (systemd, the SCM) restarts pgvigil.
    failed_ = true;
    log_.log(EventLevel::kCritical, "internal error in the agent loop; pgvigil must restart",
             {{"error", describeException(std::current_exception())}});
  }
}

bool Agent::handle(Input& input, SteadyTime now, WallTime wall, Effects& fx) {
  if (auto* r = std::get_if<RoundDone>(&input)) {
    core_.roundFinished(r->job, r->round, now, wall, fx);
  } else if (auto* d = std::get_if<RestartDone>(&input)) {
    core_.restartFinished(d->job, d->outcome, d->service, now, wall, fx);
  } else if (auto* s = std::get_if<ServiceEvent>(&input)) {
    core_.serviceState(s->target, s->generation, s->state, now, wall, fx);
  } else if (auto* dropped = std::get_if<Dropped>(&input)) {
    core_.connectionDropped(dropped->target, dropped->sqlstate, dropped->message, now, wall, fx);
  } else if (auto* session = std::get_if<SessionReport>(&input)) {
    core_.monitorSession(session->target, session->state, session->idle_session_timeout,
                         session->keepalive_every, wall, fx);
  } else if (auto* checked = std::get_if<PathChecked>(&input)) {
    core_.restartPathChecked(checked->job, checked->check, now, wall, fx);
  } else if (auto* read = std::get_if<RecoveryDone>(&input)) {
    core_.recoveryRead(read->job, read->reading, now, wall, fx);
  } else if (auto* c = std::get_if<Control>(&input)) {
    ControlResult result;
    switch (c->kind) {
      case Control::Kind::kPause:
        result = core_.pause(c->target, c->duration, now, wall, fx);
        break;
      case Control::Kind::kResume:
        result = core_.resume(c->target, now, wall, fx);
        break;
      case Control::Kind::kRestart:
        result = core_.restart(c->target, now, wall, fx);
        break;
    }
    // Whoever asked reads /status next: the answer goes out only once the picture shows it.
    publish(now, wall);
    c->reply->set_value(std::move(result));
  } else if (auto* reload = std::get_if<Reload>(&input)) {
    core_.reload(reload->config, now, wall, fx);
    {
      std::lock_guard lock(publishedMutex_);
      config_ = std::make_shared<const Config>(reload->config);
    }
    // As for control requests: /health right after POST /reload answers for the new targets
    // (systemd_reload_storm once caught the old snapshot between the reply and the publish).
    publish(now, wall);
    reload->done->set_value();
  } else if (std::holds_alternative<Stop>(input)) {
    return true;
  }
  return false;
}

void Agent::execute(Effects& fx, SteadyTime now, WallTime wall) {
  // Restart paths: the restarter is built here (a constructor, no I/O); the watcher is started
  // and the old one stopped on the service thread, where a join may take its time.
  for (auto& change : fx.restarters) {
    if (change.config) {
      std::shared_ptr<Restarter> restarter = options_.restarterFactory(*change.config, clock_);
      restarters_[change.target] = {change.generation, std::move(restarter)};
    } else {
      restarters_.erase(change.target);
    }
    service_->post([this, change = std::move(change)] {
      auto it = watchers_.find(change.target);
      if (it != watchers_.end()) {
        if (it->second.watcher) it->second.watcher->stop();
        watchers_.erase(it);
      }
      if (!change.config) return;
      ServiceWatcherPtr watcher = options_.watcherFactory(*change.config);
      if (!watcher) return;
      const std::string target = change.target;
      const std::uint64_t generation = change.generation;
      watcher->setErrorReporter([this](const std::string& error) {
        log_.log(EventLevel::kError, "internal error in a service watcher; it goes on watching",
                 {{"error", error}});
      });
      watcher->start([this, target, generation](ServiceState state) {
        post(ServiceEvent{target, generation, state});
      });
      watchers_[target] = {generation, std::move(watcher)};
    });
  }
  if (connectionWatch_) {
    // Opening a session after a good round is never urgent (a crash before it opens is seen by
    // the next round); closing one is (never delay a shutdown). So ensures are gathered and
    // handed over together every kEnsurePeriod, while every other command goes at once and
    // drops the target's pending ensure: the newest command for a target wins, as in order.
    for (auto& m : fx.monitors) {
      if (m.op == MonitorCommand::Op::kEnsure) {
        pendingEnsures_.insert(m.target);
        continue;
      }
      pendingEnsures_.erase(m.target);
      service_->post([this, m = std::move(m)] {
        switch (m.op) {
          case MonitorCommand::Op::kSet:
            connectionWatch_->set(*m.config);
            break;
          case MonitorCommand::Op::kRemove:
            connectionWatch_->remove(m.target);
            break;
          case MonitorCommand::Op::kEnsure:
            connectionWatch_->ensure(m.target);
            break;
          case MonitorCommand::Op::kClose:
            connectionWatch_->close(m.target);
            break;
        }
      });
    }
    if (!pendingEnsures_.empty() && now - lastEnsureFlush_ >= kEnsurePeriod) {
      service_->post([this, names = std::move(pendingEnsures_)] {
        for (const auto& name : names) connectionWatch_->ensure(name);
      });
      pendingEnsures_.clear();
      lastEnsureFlush_ = now;
    }
  }
  if (fx.persist || !fx.events.empty())
    writer_->submit(
        fx.persist ? std::optional<PersistedState>(core_.persisted(now, wall)) : std::nullopt,
        std::move(fx.events));
  if (!fx.probes.empty()) {
    {
      std::lock_guard lock(jobsMutex_);
      for (auto& job : fx.probes) jobs_.push_back(std::move(job));
    }
    // One worker per job: notify_all would wake all of them for every round.
    for (std::size_t i = 0; i < fx.probes.size(); ++i) jobsCv_.notify_one();
  }
  for (const auto& job : fx.restarts) startRestart(job);
  for (auto& job : fx.pathChecks) {
    std::shared_ptr<Restarter> restarter;
    if (auto it = restarters_.find(job.target);
        it != restarters_.end() && it->second.generation == job.restarter)
      restarter = it->second.restarter;
    checks_->post([this, job = std::move(job), restarter] {
      if (!running_) return;  // stopping: what is still queued is not worth waiting for
      RestartPathCheck check;
      try {
        if (!restarter)
          check = {false, "restart method not available in this build"};
        else
          check = restarter->preflight(Deadline(clock_, kPreflightTimeout));
      } catch (...) {
        check = {false, "internal error: " + describeException(std::current_exception())};
      }
      post(PathChecked{job, std::move(check)});
    });
  }
  for (auto& job : fx.recoveryReads) {
    recovery_->post([this, job = std::move(job)] {
      if (!running_) return;
      RecoveryReading reading;
      try {
        reading = readRecoveryProgress(recoverySourcesOf(*job.config));
      } catch (...) {
        reading.problem = "internal error: " + describeException(std::current_exception());
      }
      post(RecoveryDone{job, std::move(reading)});
    });
  }
  if (fx.firstRoundsDone) {
    {
      std::lock_guard lock(firstMutex_);
      firstRoundsDone_ = true;
    }
    firstCv_.notify_all();
  }
}

void Agent::publish(SteadyTime now, WallTime wall) {
  auto status = std::make_shared<AgentStatus>(core_.status(now, wall));
  status->version = options_.version;
  status->started_at = startedAt_;
  status->ticking = true;
  status->events_dropped =
      (writer_ ? writer_->dropped() : 0) + (options_.log_dropped ? options_.log_dropped() : 0);
  {
    std::lock_guard lock(publishedMutex_);
    published_ = std::move(status);
  }
  lastPublish_ = now;
}

// ---------------------------------------------------------------------------------------------
// Probe workers and restarts

void Agent::worker() {
  for (;;) {
    ProbeJob job;
    {
      std::unique_lock lock(jobsMutex_);
      jobsCv_.wait(lock, [this] { return jobsStopping_ || !jobs_.empty(); });
      if (jobsStopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    RoundResult round;
    try {
      round = options_.prober(*job.config, clock_);
    } catch (...) {
      // runRound never throws; an injected prober might. A round that could not run is a
      // failed round with cause internal, never a dead worker.
      round = RoundResult{};
      round.verdict = Verdict::kFailed;
      round.cause = Cause::kInternal;
      round.checked_at = clock_.wallNow();
      round.message = "internal error: " + describeException(std::current_exception());
    }
    // A good answer about a settled target waits for the loop's next wake (a due round, another
    // input, or the sweep): at 1,000 targets that is a hundred fewer wake-ups a second.
    const bool wake = !(job.quiet && round.ok());
    post(RoundDone{std::move(job), std::move(round)}, wake);
  }
}

void Agent::startRestart(const RestartJob& job) {
  std::shared_ptr<Restarter> restarter;
  if (auto it = restarters_.find(job.target);
      it != restarters_.end() && it->second.generation == job.restarter)
    restarter = it->second.restarter;
  auto done = std::make_shared<std::atomic<bool>>(false);
  restartThreads_.push_back(
      {std::thread([this, job, restarter, done] {
         RestartOutcome outcome;
         ServiceState service = ServiceState::kUnknown;
         try {
           if (!restarter) {
             outcome.result = RestartOutcome::Result::kFailed;
             outcome.detail = "restart method none";
           } else {
             outcome = restarter->restart(Deadline(clock_, job.timeout));
             service = restarter->query(Deadline(clock_, std::chrono::seconds(5)));
           }
         } catch (...) {
           outcome.result = RestartOutcome::Result::kFailed;
           outcome.detail = "internal error: " + describeException(std::current_exception());
         }
         post(RestartDone{job, std::move(outcome), service});
         *done = true;
       }),
       done});
}

void Agent::joinFinishedRestarts() {
  for (auto it = restartThreads_.begin(); it != restartThreads_.end();) {
    if (*it->done) {
      it->thread.join();
      it = restartThreads_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Readers and control

std::shared_ptr<const AgentStatus> Agent::snapshot() const {
  std::shared_ptr<const AgentStatus> s;
  {
    std::lock_guard lock(publishedMutex_);
    s = published_;
  }
  if (!s) {
    auto empty = std::make_shared<AgentStatus>();
    empty->version = options_.version;
    empty->ticking = false;
    empty->now = clock_.wallNow();
    return empty;
  }
  const auto lastTick = SteadyTime(SteadyTime::duration(lastTickNs_.load()));
  const bool ticking = running_ && !failed_ && clock_.now() - lastTick < kLivezStale;
  if (ticking) return s;
  // Rare: the loop is stuck or gone. Say so (a copy, so the published one stays intact).
  auto copy = std::make_shared<AgentStatus>(*s);
  copy->ticking = false;
  copy->now = clock_.wallNow();
  return copy;
}

Config Agent::config() const {
  std::lock_guard lock(publishedMutex_);
  return *config_;
}

std::vector<AlertEvent> Agent::recentEvents(std::size_t limit) const {
  return recentEvents_ ? recentEvents_(limit) : std::vector<AlertEvent>{};
}

ControlResult Agent::control(Control request) {
  if (!running_) return {ControlResult::Code::kFailed, "the agent is not running"};
  auto reply = std::make_shared<std::promise<ControlResult>>();
  auto answer = reply->get_future();
  request.reply = reply;
  post(std::move(request));
  if (answer.wait_for(kControlTimeout) != std::future_status::ready)
    return {ControlResult::Code::kFailed, "the agent's loop did not answer in time"};
  return answer.get();
}

ControlResult Agent::pause(std::string_view target, std::optional<Millis> duration) {
  return control({Control::Kind::kPause, std::string(target), duration, nullptr});
}

ControlResult Agent::resume(std::string_view target) {
  return control({Control::Kind::kResume, std::string(target), std::nullopt, nullptr});
}

ControlResult Agent::restart(std::string_view target) {
  return control({Control::Kind::kRestart, std::string(target), std::nullopt, nullptr});
}

ControlResult Agent::reload() {
  if (!reloadHandler_) return {ControlResult::Code::kFailed, "reload is not available"};
  return reloadHandler_();
}

void Agent::applyConfig(const Config& next) {
  if (!running_) {
    // Not started (or stopped): nothing runs the loop; take the config for the next start.
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto taken = done->get_future();
  post(Reload{next, done});
  taken.wait_for(kControlTimeout);
}

void Agent::emitAgentEvent(std::string_view name, EventLevel level, std::string msg,
                           std::vector<std::pair<std::string, std::string>> fields,
                           std::vector<std::string> numbers) {
  AlertEvent e;
  e.ts = clock_.wallNow();
  e.level = level;
  e.event = std::string(name);
  e.msg = std::move(msg);
  e.fields = std::move(fields);
  e.number_fields = std::move(numbers);
  if (writer_ && !stopped_)
    writer_->submit(std::nullopt, {std::move(e)});
  else
    events_.emit(e);
}

}  // namespace pgvigil
