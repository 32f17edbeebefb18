#include "http/renderers.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/connection_holders.h"
#include "core/retry_guidance.h"
#include "events/event_format.h"
#include "http/json_writer.h"
#include "http/metrics.h"

namespace pgvigil {
namespace {

double millis(Micros d) {
  return static_cast<double>(d.count()) / 1000.0;
}

void writeFreshness(JsonWriter& w, const Freshness& f) {
  w.key("checked_at");
  if (f.checked_at)
    w.time(*f.checked_at);
  else
    w.null();
  w.key("stale").value(f.stale);
}

void writeCause(JsonWriter& w, std::string_view key, Cause c) {
  w.key(key).stringOrNull(toString(c));
}

void writeOptionalTime(JsonWriter& w, std::string_view key, const std::optional<WallTime>& t) {
  w.key(key);
  if (t)
    w.time(*t);
  else
    w.null();
}

std::string_view verdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kDegraded:
      return "degraded";
    case Verdict::kFailed:
      return "failed";
  }
  return "failed";
}

void writeRound(JsonWriter& w, const RoundResult& r) {
  w.beginObject();
  w.key("checked_at").time(r.checked_at);
  w.key("latency_ms").value(millis(r.latency));
  w.key("verdict").value(verdictName(r.verdict));
  writeCause(w, "cause", r.cause);
  w.key("phase").stringOrNull(toString(r.phase));
  w.key("message").stringOrNull(r.message);
  w.key("degraded_reason").stringOrNull(r.degraded_reason);
  w.key("server_version").stringOrNull(r.server_version);
  w.key("server_certificate_not_after");
  if (r.server_cert_not_after)
    w.time(*r.server_cert_not_after);
  else
    w.null();
  w.key("checks").beginArray();
  for (const auto& c : r.checks) {
    w.beginObject();
    w.key("check").value(c.check);
    w.key("ok").value(c.ok);
    w.key("latency_ms").value(millis(c.latency));
    writeCause(w, "cause", c.cause);
    w.key("phase").stringOrNull(toString(c.phase));
    w.key("message").stringOrNull(c.message);
    w.key("sqlstate").stringOrNull(c.sqlstate);
    w.endObject();
  }
  w.endArray();
  w.endObject();
}

void writeOptionalAge(JsonWriter& w, std::string_view key, const std::optional<Millis>& d) {
  w.key(key);
  if (d)
    w.value(static_cast<double>(d->count()) / 1000.0);
  else
    w.null();
}

void writeHolders(JsonWriter& w, const ConnectionStats& c) {
  w.key("holders").beginArray();
  for (const auto& h : c.holders) {
    w.beginObject();
    w.key("application").value(h.other ? std::string_view("other") : h.application);
    w.key("user").stringOrNull(h.user);
    w.key("client").stringOrNull(h.client);
    w.key("other").value(h.other);
    w.key("groups").value(h.groups);
    w.key("sessions").value(h.total);
    w.key("active").value(h.active);
    w.key("idle").value(h.idle);
    w.key("idle_in_transaction").value(h.idle_in_transaction);
    w.key("hidden").value(h.hidden);
    writeOptionalAge(w, "oldest_idle_s", h.oldest_idle);
    writeOptionalAge(w, "oldest_idle_in_transaction_s", h.oldest_idle_in_transaction);
    w.endObject();
  }
  w.endArray();
}

/// The round's figures, or the last ones read (stale, with their age) when it read none.
void writeConnections(JsonWriter& w, const TargetStatus& t, WallTime now) {
  const RoundResult* r = t.last_round ? &*t.last_round : nullptr;
  const ConnectionStats* current = r && r->connections ? &*r->connections : nullptr;
  const ConnectionStats* shown =
      current ? current : (t.last_connections ? &*t.last_connections : nullptr);
  if (!shown) {
    w.null();
    return;
  }
  const auto& c = *shown;
  w.beginObject();
  w.key("used").value(c.used);
  w.key("usable").value(c.usable);
  w.key("ratio").value(c.ratio());
  w.key("max_connections").value(c.max_connections);
  w.key("superuser_reserved").value(c.superuser_reserved);
  w.key("reserved").value(c.reserved);
  w.key("warn").value(current && r->connections_warn);
  w.key("critical").value(current && r->connections_critical);
  w.key("by_state").beginObject();
  for (const auto& [state, n] : c.by_state) w.key(state).value(n);
  w.endObject();
  w.key("measured_at");
  if (c.measured_at != WallTime{})
    w.time(c.measured_at);
  else
    w.null();
  w.key("age_s").value(
      c.measured_at != WallTime{} && now > c.measured_at
          ? static_cast<double>(
                std::chrono::duration_cast<std::chrono::milliseconds>(now - c.measured_at)
                    .count()) /
                1000.0
          : 0.0);
  w.key("stale").value(current == nullptr);
  w.key("source").value(c.from_monitor ? "monitoring_session" : "probe_session");
  w.key("role").stringOrNull(c.role);
  w.key("sees_all_sessions").value(c.sees_all);
  w.key("hidden").value(c.hidden);
  w.key("visibility_warning").stringOrNull(visibilityWarning(c));
  w.key("top_holder").stringOrNull(topHolderText(c));
  writeHolders(w, c);
  w.endObject();
}

void writeRestart(JsonWriter& w, const TargetStatus& t) {
  w.beginObject();
  w.key("method").value(t.restart_method);
  writeOptionalTime(w, "next_allowed", t.next_restart_allowed);
  w.key("budget").beginObject();
  w.key("used").value(t.budget_used);
  w.key("max").value(t.budget_max);
  w.endObject();
  // The blast radius of a restart now, from the last figures.
  w.key("blast_radius");
  if (t.last_connections) {
    w.beginObject();
    w.key("sessions").value(t.last_connections->used);
    w.key("applications").beginArray();
    for (const auto& h : t.last_connections->holders)
      w.value(h.other ? std::string_view("other") : h.application);
    w.endArray();
    w.key("text").value(blastRadiusText(*t.last_connections));
    w.key("measured_at").time(t.last_connections->measured_at);
    w.endObject();
  } else {
    w.null();
  }
  w.key("history").beginArray();
  for (auto it = t.restart_history.rbegin(); it != t.restart_history.rend(); ++it) {
    w.beginObject();
    w.key("at").time(it->at);
    w.key("reason").value(it->reason);
    w.key("result").value(it->result);
    w.key("detail").stringOrNull(it->detail);
    w.key("took_ms").value(static_cast<std::int64_t>(it->took.count()));
    w.key("sessions_cut");
    if (it->sessions_cut)
      w.value(*it->sessions_cut);
    else
      w.null();
    w.key("applications").stringOrNull(it->applications);
    w.key("outage_ms");
    if (it->outage)
      w.value(static_cast<std::int64_t>(it->outage->count()));
    else
      w.null();
    w.key("output").stringOrNull(it->output);
    w.endObject();
  }
  w.endArray();
  w.endObject();
}

/// {"ok":false,"checked_at":"…","problem":"…"}; null for method none or before the first check.
void writeRestartPath(JsonWriter& w, const std::optional<RestartPathStatus>& p) {
  if (!p) {
    w.null();
    return;
  }
  w.beginObject();
  w.key("ok").value(p->ok);
  w.key("checked_at").time(p->checked_at);
  w.key("problem").stringOrNull(p->problem);
  w.endObject();
}

/// A starting or recovering server's progress (docs/health-model.md, "Recovery progress"); null
/// while the target does not answer starting up.
void writeRecovery(JsonWriter& w, const std::optional<RecoveryStatus>& r) {
  if (!r) {
    w.null();
    return;
  }
  w.beginObject();
  w.key("rule").value(r->rule);
  w.key("source").stringOrNull(r->source);
  w.key("progress").stringOrNull(r->progress);
  w.key("server_status").stringOrNull(r->server_status);
  w.key("problem").stringOrNull(r->problem);
  writeOptionalTime(w, "read_at", r->read_at);
  writeOptionalTime(w, "progress_at", r->progress_at);
  writeOptionalTime(w, "stuck_at", r->stuck_at);
  w.endObject();
}

/// {"enabled":true,"state":"open","since":…,"idle_session_timeout_ms":2000,
/// "keepalive_every_ms":1000,"drops":0,"last_drop":null}: the long-lived monitoring session.
void writeMonitoringSession(JsonWriter& w, const MonitorSessionStatus& m) {
  auto optionalMs = [&w](std::string_view key, const std::optional<Millis>& v) {
    w.key(key);
    if (v)
      w.value(static_cast<std::int64_t>(v->count()));
    else
      w.null();
  };
  w.beginObject();
  w.key("enabled").value(m.state != MonitorSessionState::kOff);
  w.key("state").value(toString(m.state));
  writeOptionalTime(w, "since", m.since);
  optionalMs("idle_session_timeout_ms", m.idle_session_timeout);
  optionalMs("keepalive_every_ms", m.keepalive_every);
  w.key("drops").value(static_cast<std::int64_t>(m.drops));
  w.key("last_drop");
  if (m.last_drop_at) {
    w.beginObject();
    w.key("at").time(*m.last_drop_at);
    w.key("sqlstate").stringOrNull(m.last_drop_sqlstate);
    w.key("message").stringOrNull(m.last_drop_message);
    w.endObject();
  } else {
    w.null();
  }
  w.endObject();
}

/// The target's samples from the metric table: {"up":1,"failures_total":{"refused":3,…},…}.
/// `mine` are the indices of its samples (per-target metrics only), in the table's order.
void writeMetrics(JsonWriter& w, const std::vector<Sample>& samples,
                  const std::vector<std::size_t>& mine) {
  w.beginObject();
  std::size_t i = 0;
  while (i < mine.size()) {
    const MetricDef& def = metricDef(samples[mine[i]].metric);
    std::size_t end = i;
    while (end < mine.size() && samples[mine[end]].metric == def.metric) ++end;
    std::string_view shortName = def.name.substr(def.name.find('_') + 1);
    if (def.labels[1].empty()) {
      for (std::size_t j = i; j < end; ++j) w.key(shortName).value(samples[mine[j]].value);
    } else {
      w.key(shortName).beginObject();
      for (std::size_t j = i; j < end; ++j)
        w.key(samples[mine[j]].labels[1]).value(samples[mine[j]].value);
      w.endObject();
    }
    i = end;
  }
  w.endObject();
}

/// The indices of each target's samples, so that /status walks the samples once instead of
/// once per target (all of them for each of 1,000 targets was quadratic).
std::unordered_map<std::string_view, std::vector<std::size_t>> samplesByTarget(
    const std::vector<Sample>& samples, std::size_t targets) {
  std::unordered_map<std::string_view, std::vector<std::size_t>> out;
  out.reserve(targets);
  for (std::size_t i = 0; i < samples.size(); ++i)
    if (metricDef(samples[i].metric).labels[0] == "target") out[samples[i].labels[0]].push_back(i);
  return out;
}

std::string_view overallStatus(const AgentStatus& status) {
  bool degraded = false;
  for (const auto& t : status.targets) {
    if (!stateIsUp(t.state)) return "unhealthy";
    if (t.state == TargetState::kDegraded) degraded = true;
  }
  return degraded ? "degraded" : "healthy";
}

/// A 503's machine-readable guidance: X-Pgvigil-Reason always, Retry-After when known.
void addRetryHeaders(Rendered& r, std::optional<ReasonClass> reason,
                     std::optional<WallTime> retryAt, WallTime now) {
  if (reason) r.headers.emplace_back("X-Pgvigil-Reason", std::string(toString(*reason)));
  if (retryAt)
    r.headers.emplace_back("Retry-After", std::to_string(retryAfterSeconds(*retryAt, now)));
}

}  // namespace

Freshness freshness(const TargetStatus& target, const AgentStatus& status) {
  Freshness f;
  auto limit = 2 * target.interval;
  if (target.last_round) {
    f.checked_at = target.last_round->checked_at;
    f.stale = limit.count() > 0 && status.now - *f.checked_at > limit;
  } else {
    f.stale = limit.count() > 0 && status.now - status.started_at > limit;
  }
  return f;
}

Freshness freshness(const AgentStatus& status) {
  Freshness all;
  bool missing = false;
  for (const auto& t : status.targets) {
    Freshness f = freshness(t, status);
    all.stale = all.stale || f.stale;
    if (!f.checked_at)
      missing = true;
    else if (!all.checked_at || *f.checked_at < *all.checked_at)
      all.checked_at = f.checked_at;
  }
  if (missing) all.checked_at.reset();
  return all;
}

Rendered renderLivez(const AgentStatus& status) {
  JsonWriter w;
  w.beginObject();
  w.key("status").value(status.ticking ? "ok" : "stalled");
  w.key("checked_at").time(status.now);
  w.key("stale").value(false);
  w.endObject();
  return {status.ticking ? 200 : 503, w.take()};
}

Rendered renderHealth(const AgentStatus& status) {
  JsonWriter w;
  std::string_view overall = overallStatus(status);
  w.beginObject();
  w.key("status").value(overall);
  w.key("targets").beginObject();
  for (const auto& t : status.targets) w.key(t.name).value(toString(t.state));
  w.endObject();
  writeFreshness(w, freshness(status));
  // Why not, and when to look again: all of it is up only when every part is, so the retry
  // time is the latest of the parts', and unknown when any part's is.
  std::optional<ReasonClass> first;
  WallTime latest{};
  bool retryKnown = true;
  w.key("reasons").beginObject();
  for (const auto& t : status.targets) {
    auto g = retryGuidance(t);
    if (!g) continue;
    w.key(t.name).value(toString(g->reason));
    if (!first) first = g->reason;
    if (!g->retry_at)
      retryKnown = false;
    else
      latest = std::max(latest, *g->retry_at);
  }
  w.endObject();
  std::optional<WallTime> retryAt;
  if (first && retryKnown) retryAt = latest;
  w.key("reason").stringOrNull(first ? toString(*first) : std::string_view());
  writeOptionalTime(w, "retry_at", retryAt);
  w.endObject();
  Rendered r{overall == "unhealthy" ? 503 : 200, w.take(), {}};
  if (r.code == 503) addRetryHeaders(r, first, retryAt, status.now);
  return r;
}

Rendered renderHealthTarget(const AgentStatus& status, std::string_view target) {
  for (const auto& t : status.targets) {
    if (t.name != target) continue;
    JsonWriter w;
    w.beginObject();
    w.key("status").value(toString(t.state));
    w.key("target").value(t.name);
    writeCause(w, "cause", t.cause);
    w.key("since").time(t.since);
    writeFreshness(w, freshness(t, status));
    const auto g = retryGuidance(t);
    w.key("reason").stringOrNull(g ? toString(g->reason) : std::string_view());
    writeOptionalTime(w, "retry_at", g ? g->retry_at : std::nullopt);
    w.endObject();
    Rendered r{g ? 503 : 200, w.take(), {}};
    if (g) addRetryHeaders(r, g->reason, g->retry_at, status.now);
    return r;
  }
  return renderError(404, "no target named " + std::string(target));
}

Rendered renderStatus(const AgentStatus& status) {
  auto samples = collectSamples(status);
  auto byTarget = samplesByTarget(samples, status.targets.size());
  static const std::vector<std::size_t> kNone;
  JsonWriter w;
  w.beginObject();
  w.key("agent").beginObject();
  w.key("version").value(status.version);
  w.key("config_path").value(status.config_path);
  w.key("started_at").time(status.started_at);
  w.key("uptime_seconds")
      .value(std::chrono::duration<double>(status.now - status.started_at).count());
  w.key("ticking").value(status.ticking);
  w.endObject();
  w.key("status").value(overallStatus(status));
  writeFreshness(w, freshness(status));
  w.key("targets").beginArray();
  for (const auto& t : status.targets) {
    w.beginObject();
    w.key("name").value(t.name);
    w.key("state").value(toString(t.state));
    w.key("since").time(t.since);
    writeCause(w, "cause", t.cause);
    writeFreshness(w, freshness(t, status));
    w.key("interval_ms").value(static_cast<std::int64_t>(t.interval.count()));
    w.key("consecutive_failures").value(t.consecutive_failures);
    w.key("consecutive_successes").value(t.consecutive_successes);
    writeOptionalTime(w, "last_success", t.last_success);
    writeOptionalTime(w, "paused_until", t.paused_until);
    {
      const auto g = retryGuidance(t);
      w.key("reason").stringOrNull(g ? toString(g->reason) : std::string_view());
      writeOptionalTime(w, "retry_at", g ? g->retry_at : std::nullopt);
    }
    writeOptionalTime(w, "grace_until", t.grace_until);
    writeOptionalTime(w, "next_change_at", t.next_change_at);
    w.key("last_round");
    if (t.last_round)
      writeRound(w, *t.last_round);
    else
      w.null();
    w.key("connections");
    writeConnections(w, t, status.now);
    w.key("restart");
    writeRestart(w, t);
    w.key("restart_path");
    writeRestartPath(w, t.restart_path);
    w.key("recovery");
    writeRecovery(w, t.recovery);
    w.key("monitoring_session");
    writeMonitoringSession(w, t.monitoring_session);
    w.key("metrics");
    auto mine = byTarget.find(t.name);
    writeMetrics(w, samples, mine == byTarget.end() ? kNone : mine->second);
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return {200, w.take()};
}

Rendered renderEvents(const std::vector<AlertEvent>& events, WallTime now) {
  JsonWriter w;
  w.beginObject();
  w.key("checked_at").time(now);
  w.key("stale").value(false);
  w.key("events").beginArray();
  std::string one;
  for (const auto& e : events) {
    one.clear();
    appendEventJson(one, e);  // the JSON log's serializer: the same object, byte for byte
    w.rawValue(one);
  }
  w.endArray();
  w.endObject();
  return {200, w.take()};
}

Rendered renderError(int code, std::string_view message) {
  JsonWriter w;
  w.beginObject();
  w.key("error").value(message);
  w.endObject();
  return {code, w.take()};
}

}  // namespace pgvigil
