#include "http/metrics.h"

#include <algorithm>
#include <optional>

#include "http/json_writer.h"

namespace pgvigil {
namespace {

double unixSeconds(WallTime t) {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<milliseconds>(t.time_since_epoch()).count()) / 1000.0;
}

double seconds(Micros d) {
  return static_cast<double>(d.count()) / 1e6;
}

void add(std::vector<Sample>& out, Metric m, std::string l0, std::string l1, double v) {
  out.push_back(Sample{m, {std::move(l0), std::move(l1), "", "", ""}, v});
}

/// One sample per holder (top kTopHolders by rank, then "other"): a fixed number of series.
template <typename Value>
void addHolders(std::vector<Sample>& out, Metric m, const std::string& target,
                const ConnectionStats& c, Value value) {
  int rank = 0;
  for (const auto& h : c.holders) {
    ++rank;
    std::optional<double> v = value(h);
    if (!v) continue;
    if (h.other)
      out.push_back(Sample{m, {target, "other", "", "", ""}, *v});
    else
      out.push_back(Sample{m, {target, std::to_string(rank), h.application, h.user, h.client}, *v});
  }
}

void collectMetric(Metric m, const AgentStatus& status, std::vector<Sample>& out) {
  if (m == Metric::kBuildInfo) return add(out, m, status.version, "", 1);
  if (m == Metric::kStartTime) return add(out, m, "", "", unixSeconds(status.started_at));
  if (m == Metric::kEventsDropped)
    return add(out, m, "", "", static_cast<double>(status.events_dropped));
  for (const auto& t : status.targets) {
    const auto& round = t.last_round;
    // The round's figures, else the last ones read (pgvigil_connections_age_seconds says how
    // old): at saturation or while it is down they do not vanish.
    const ConnectionStats* conn = round && round->connections ? &*round->connections
                                  : t.last_connections        ? &*t.last_connections
                                                              : nullptr;
    switch (m) {
      case Metric::kUp: {
        const CheckOutcome* q = round ? round->find("query") : nullptr;
        add(out, m, t.name, "", q && q->ok ? 1 : 0);
        break;
      }
      case Metric::kTargetState:
        for (TargetState s : kAllStates)
          add(out, m, t.name, std::string(toString(s)), s == t.state ? 1 : 0);
        break;
      case Metric::kCheckSuccess:
        if (round)
          for (const auto& c : round->checks) add(out, m, t.name, c.check, c.ok ? 1 : 0);
        break;
      case Metric::kCheckDuration:
        if (round)
          for (const auto& c : round->checks) add(out, m, t.name, c.check, seconds(c.latency));
        break;
      case Metric::kConnections:
        if (conn)
          for (const auto& [state, n] : conn->by_state) add(out, m, t.name, state, n);
        break;
      case Metric::kConnectionsUsed:
        if (conn) add(out, m, t.name, "", conn->used);
        break;
      case Metric::kConnectionsUsable:
        if (conn) add(out, m, t.name, "", conn->usable);
        break;
      case Metric::kConnectionsUsageRatio:
        if (conn) add(out, m, t.name, "", conn->ratio());
        break;
      case Metric::kConnectionsAge:
        if (conn && conn->measured_at != WallTime{})
          add(out, m, t.name, "",
              std::max(0.0, unixSeconds(status.now) - unixSeconds(conn->measured_at)));
        break;
      case Metric::kConnectionsHidden:
        if (conn) add(out, m, t.name, "", conn->hidden);
        break;
      case Metric::kConnectionsSeesAll:
        if (conn) add(out, m, t.name, "", conn->sees_all ? 1 : 0);
        break;
      case Metric::kHolderSessions:
        if (conn)
          addHolders(out, m, t.name, *conn,
                     [](const ConnectionHolder& h) { return std::optional<double>(h.total); });
        break;
      case Metric::kHolderIdle:
        if (conn)
          addHolders(out, m, t.name, *conn,
                     [](const ConnectionHolder& h) { return std::optional<double>(h.idle); });
        break;
      case Metric::kHolderIdleInTransaction:
        if (conn)
          addHolders(out, m, t.name, *conn, [](const ConnectionHolder& h) {
            return std::optional<double>(h.idle_in_transaction);
          });
        break;
      case Metric::kHolderOldestIdle:
        if (conn)
          addHolders(out, m, t.name, *conn, [](const ConnectionHolder& h) -> std::optional<double> {
            if (!h.oldest_idle) return std::nullopt;
            return static_cast<double>(h.oldest_idle->count()) / 1000.0;
          });
        break;
      case Metric::kFailuresTotal:
        for (Cause c : kAllCauses) {
          std::uint64_t n = 0;
          for (const auto& [cause, count] : t.failures_total)
            if (cause == c) n += count;
          add(out, m, t.name, std::string(toString(c)), static_cast<double>(n));
        }
        break;
      case Metric::kRestartsTotal:
        add(out, m, t.name, "success", static_cast<double>(t.restarts_succeeded));
        add(out, m, t.name, "failure", static_cast<double>(t.restarts_failed));
        break;
      case Metric::kConsecutiveFailures:
        add(out, m, t.name, "", t.consecutive_failures);
        break;
      case Metric::kLastSuccessTimestamp:
        if (t.last_success) add(out, m, t.name, "", unixSeconds(*t.last_success));
        break;
      case Metric::kLastCheckTimestamp:
        if (round) add(out, m, t.name, "", unixSeconds(round->checked_at));
        break;
      case Metric::kServerCertificateExpiry:
        if (round && round->server_cert_not_after)
          add(out, m, t.name, "",
              unixSeconds(*round->server_cert_not_after) - unixSeconds(status.now));
        break;
      case Metric::kBuildInfo:
      case Metric::kStartTime:
      case Metric::kEventsDropped:
        break;
    }
  }
}

void appendEscaped(std::string& out, std::string_view v, bool quotes) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else
      out += c;
  }
}

}  // namespace

const MetricDef& metricDef(Metric m) {
  return kMetricDefs[static_cast<std::size_t>(m)];
}

std::string escapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  appendEscaped(out, v, true);
  return out;
}

std::vector<Sample> collectSamples(const AgentStatus& status) {
  std::vector<Sample> out;
  out.reserve(16 + status.targets.size() * 40);
  for (const auto& def : kMetricDefs) collectMetric(def.metric, status, out);
  return out;
}

std::string renderPrometheus(const AgentStatus& status) {
  auto samples = collectSamples(status);
  std::string out;
  out.reserve(samples.size() * 64 + kMetricCount * 120);
  std::size_t i = 0;
  for (const auto& def : kMetricDefs) {
    out += "# HELP ";
    out += def.name;
    out += ' ';
    appendEscaped(out, def.help, false);
    out += "\n# TYPE ";
    out += def.name;
    out += def.type == MetricType::kCounter ? " counter\n" : " gauge\n";
    for (; i < samples.size() && samples[i].metric == def.metric; ++i) {
      const Sample& s = samples[i];
      out += def.name;
      bool any = false;
      for (std::size_t l = 0; l < def.labels.size(); ++l) {
        if (def.labels[l].empty()) continue;
        out += any ? ',' : '{';
        any = true;
        out += def.labels[l];
        out += "=\"";
        appendEscaped(out, s.labels[l], true);
        out += '"';
      }
      if (any) out += '}';
      out += ' ';
      out += formatDouble(s.value);
      out += '\n';
    }
  }
  return out;
}

}  // namespace pgvigil
