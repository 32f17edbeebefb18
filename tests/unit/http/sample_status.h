// Hand-made AgentStatus values for the http tests: one rich target in every detail, and helpers.
#pragma once

#include <string>
#include <vector>

#include "core/connection_holders.h"
#include "core/status.h"

namespace pgvigil::testing {

using namespace std::chrono_literals;

inline WallTime at(std::int64_t unixMillis) {
  return WallTime{std::chrono::milliseconds{unixMillis}};
}

/// A target that has had a round at `checkedAt` with every check, connection stats and history.
inline TargetStatus richTarget(std::string name, TargetState state, WallTime checkedAt) {
  TargetStatus t;
  t.name = std::move(name);
  t.state = state;
  t.since = checkedAt - 60s;
  t.interval = 5s;
  t.cause = stateIsUp(state) ? Cause::kNone : Cause::kRefused;
  RoundResult r;
  r.checked_at = checkedAt;
  r.latency = 2500us;
  r.verdict = stateIsUp(state) ? Verdict::kOk : Verdict::kFailed;
  r.cause = t.cause;
  r.checks.push_back({"tcp", true, Cause::kNone, Phase::kNone, 300us, "", ""});
  if (stateIsUp(state)) {
    r.checks.push_back({"query", true, Cause::kNone, Phase::kNone, 1200us, "", ""});
    r.checks.push_back({"connections", true, Cause::kNone, Phase::kNone, 900us, "", ""});
    ConnectionStats c;
    c.used = 42;
    c.usable = 97;
    c.max_connections = 100;
    c.superuser_reserved = 3;
    c.by_state = {{"active", 5}, {"idle", 30}, {"idle in transaction", 7}};
    ConnectionHolder web;
    web.application = "web";
    web.user = "app";
    web.client = "10.0.0.7";
    web.total = 30;
    web.active = 4;
    web.idle = 22;
    web.idle_in_transaction = 4;
    web.oldest_idle = Millis{95'000};
    web.oldest_idle_in_transaction = Millis{12'000};
    ConnectionHolder rest;
    rest.other = true;
    rest.groups = 3;
    rest.total = 12;
    rest.active = 1;
    rest.idle = 8;
    rest.idle_in_transaction = 3;
    c.holders = {web, rest};
    c.role = "pgvigil";
    c.measured_at = checkedAt;
    r.connections = c;
    r.server_version = "15.18";
  } else {
    r.checks.push_back({"query", false, Cause::kRefused, Phase::kConnect, 150us,
                        "connection refused on 127.0.0.1:5432", ""});
    r.message = "connection refused on 127.0.0.1:5432";
    r.phase = Phase::kConnect;
  }
  t.last_round = r;
  t.consecutive_failures = stateIsUp(state) ? 0 : 4;
  t.consecutive_successes = stateIsUp(state) ? 9 : 0;
  t.last_success = checkedAt - (stateIsUp(state) ? 0s : 20s);
  t.restart_method = "systemd";
  t.restart_history.push_back({checkedAt - 3600s, "auto", "failed", "job failed", 1500ms});
  t.restart_history.push_back({checkedAt - 600s, "manual", "succeeded", "job done", 2300ms});
  t.next_restart_allowed = checkedAt + 40s;
  t.budget_used = 2;
  t.budget_max = 5;
  t.failures_total = {{Cause::kRefused, 12}, {Cause::kTimeout, 3}};
  t.restarts_succeeded = 4;
  t.restarts_failed = 1;
  return t;
}

/// An agent with a healthy "main", an unhealthy "replica" and one with no round yet.
inline AgentStatus richStatus() {
  AgentStatus s;
  s.version = "0.1.0";
  s.config_path = "/etc/pgvigil/pgvigil.yaml";
  s.started_at = at(1'700'000'000'000);
  s.now = at(1'700'000'100'000);
  s.ticking = true;
  s.targets.push_back(richTarget("main", TargetState::kHealthy, s.now - 2s));
  s.targets.push_back(richTarget("replica", TargetState::kUnhealthy, s.now - 3s));
  TargetStatus fresh;
  fresh.name = "new-one";
  fresh.interval = 5s;
  fresh.since = s.started_at;
  s.targets.push_back(fresh);
  return s;
}

/// richStatus() with "main" held by `groups` applications (1 to 7 idle sessions each), ranked as
/// the agent ranks them: more groups than the metrics export.
inline AgentStatus manyHoldersStatus(int groups) {
  AgentStatus s = richStatus();
  std::vector<ConnectionHolder> holders;
  for (int i = 0; i < groups; ++i) {
    ConnectionHolder h;
    h.application = "app" + std::to_string(i);
    h.user = "u";
    h.client = "10.0.0.1";
    h.total = 1 + i % 7;
    h.idle = h.total;
    h.oldest_idle = Millis(1000 * i);
    holders.push_back(h);
  }
  rankHolders(holders);
  s.targets[0].last_round->connections->holders = holders;
  return s;
}

}  // namespace pgvigil::testing
