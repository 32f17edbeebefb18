#include "app/cmd_run.h"

#include <iostream>
#include <memory>

#include "agent/agent.h"
#include "app/agent_signals.h"
#include "app/cli.h"
#include "app/service_notify.h"
#include "core/config_loader.h"
#include "core/env.h"
#include "events/async_sink.h"
#include "events/event_ring.h"
#include "events/fanout_sink.h"
#include "events/log_sink.h"
#include "http/http_server.h"
#include "pgvigil/version.h"

namespace pgvigil {

int runAgent(Config config, const RunHooks& hooks, std::ostream& err) {
  auto logResult = LogSink::create(config.agent.log);
  if (!logResult.sink) {
    err << "pgvigil: " << logResult.error << "\n";
    return kExitConfig;
  }
  std::shared_ptr<LogSink> logSink = std::move(logResult.sink);
  auto ring = std::make_shared<EventRing>();
  const auto secrets = configSecrets(config);
  logSink->setSecrets(secrets);
  ring->setSecrets(secrets);
  // The log output may block (a stdout pipe nobody reads, a stalled journald or disk): the
  // agent only ever enqueues to it; the ring behind /events is memory and takes events at once.
  auto asyncLog = std::make_shared<AsyncSink>(*logSink, *logSink);
  FanoutSink events;
  events.add(asyncLog);
  events.add(ring);

  ServiceNotifier notifier;
  AgentOptions options;
  options.version = kVersion;
  options.on_tick = [&notifier](SteadyTime now) { notifier.watchdogKick(now); };
  options.log_dropped = [asyncLog] { return asyncLog->dropped(); };
  Agent agent(config, events, *asyncLog, options);
  agent.setEventSource([ring](std::size_t limit) { return ring->recent(limit); });

  std::unique_ptr<HttpServer> http;
  if (!config.agent.listen.empty()) {
    auto httpOptions = HttpServerOptions::fromConfig(config.agent);
    httpOptions.log = logSink.get();  // the loop reports unexpected errors there
    http = std::make_unique<HttpServer>(agent, std::move(httpOptions));
    if (auto error = http->start()) {
      err << "pgvigil: status endpoint: " << *error << "\n";
      return kExitConfig;
    }
  }

  // A reload rereads the file, keeps the old config when the new one is invalid, and applies
  // the new one otherwise: targets that did not change keep their state.
  std::mutex reloadMutex;
  auto doReload = [&]() -> ControlResult {
    std::lock_guard lock(reloadMutex);
    notifier.reloading();
    std::string errors;
    std::optional<Config> next;
    if (hooks.reload) {
      next = hooks.reload(&errors);
    } else {
      auto loaded = loadConfigFile(config.path, Env::process());
      if (loaded.config)
        next = std::move(loaded.config);
      else
        errors = formatErrors(loaded.errors);
    }
    ControlResult result;
    if (!next) {
      agent.emitAgentEvent("config_rejected", EventLevel::kError,
                           "the new config is invalid; the running config stays",
                           {{"path", config.path}, {"errors", errors}});
      result = {ControlResult::Code::kRejected, errors};
    } else {
      auto fixed = nonReloadableChanges(agent.config(), *next);
      const auto newSecrets = configSecrets(*next);
      logSink->setSecrets(newSecrets);
      ring->setSecrets(newSecrets);
      agent.applyConfig(*next);
      if (http) {
        if (auto tokenError = http->reloadToken(next->agent.token_file))
          asyncLog->log(EventLevel::kWarning, "token file could not be reread; the old token stays",
                        {{"error", *tokenError}});
      }
      std::vector<std::pair<std::string, std::string>> fields{
          {"path", next->path}, {"targets", std::to_string(next->targets.size())}};
      std::string restartNeeded;
      for (const auto& key : fixed) restartNeeded += (restartNeeded.empty() ? "" : ",") + key;
      if (!restartNeeded.empty()) fields.emplace_back("needs_agent_restart", restartNeeded);
      agent.emitAgentEvent("config_loaded", EventLevel::kInfo, "config reloaded", fields,
                           {"targets"});
      result = ControlResult::ok("config reloaded");
    }
    notifier.ready();
    return result;
  };
  agent.setReloadHandler(doReload);

  agent.emitAgentEvent("agent_started", EventLevel::kInfo, "pgvigil started",
                       {{"version", kVersion},
                        {"config", config.path},
                        {"targets", std::to_string(config.targets.size())},
                        {"listen", http ? config.agent.listen : std::string("off")}},
                       {"targets"});
  agent.start();

  // Readiness after the first round of every target (bounded: a hung server must not keep the
  // unit in "activating" past its start timeout).
  Millis firstWait{0};
  for (const auto& t : config.targets) firstWait = std::max(firstWait, t.timeout);
  agent.waitFirstRounds(firstWait + std::chrono::seconds(2));
  notifier.ready();
  notifier.status("watching " + std::to_string(config.targets.size()) + " target(s)");
  if (hooks.on_ready) hooks.on_ready(agent, http.get());

  int exitCode = kExitOk;
  for (;;) {
    const AgentSignal signal = waitAgentSignal(std::chrono::milliseconds(1000));
    if (agent.failed()) {
      // The loop died of an internal error (already logged as critical): exit non-zero so that
      // systemd or the SCM restarts pgvigil with a fresh state.
      exitCode = kExitSoftware;
      break;
    }
    if (signal.request == AgentRequest::kReload) {
      (void)doReload();  // its outcome is already in the log (config_loaded / config_rejected)
    } else if (signal.request == AgentRequest::kStop) {
      notifier.stopping();
      agent.emitAgentEvent("agent_stopping", EventLevel::kInfo, "pgvigil stopping",
                           {{"signal", signal.name}});
      break;
    }
  }
  if (http) http->stop();
  agent.stop();
  asyncLog->flush();
  logSink->flush();
  return exitCode;
}

int runRun(const std::string& configPath, std::ostream& err) {
  const Env env = Env::process();
  const std::string path = resolveConfigPath(configPath, env);
  auto loaded = loadConfigFile(path, env);
  if (!loaded.config) {
    err << formatErrors(loaded.errors);
    if (!loaded.errors.empty() && formatErrors(loaded.errors).back() != '\n') err << "\n";
    err << "pgvigil: the config is invalid; not starting\n";
    return kExitConfig;
  }
  prepareAgentSignals();
  return runAgent(std::move(*loaded.config), {}, err);
}

}  // namespace pgvigil
