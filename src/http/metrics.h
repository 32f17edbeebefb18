// The metrics of docs/reference.md §5, declared once (STYLE.md 11). collectSamples() turns an
// AgentStatus into samples of these definitions; the Prometheus renderer and the per-target
// "metrics" object of /status both read the samples, so the two views cannot drift apart.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pgvigil {

enum class MetricType { kGauge, kCounter };

enum class Metric {
  kUp,
  kTargetState,
  kCheckSuccess,
  kCheckDuration,
  kConnections,
  kConnectionsUsed,
  kConnectionsUsable,
  kConnectionsUsageRatio,
  kFailuresTotal,
  kRestartsTotal,
  kConsecutiveFailures,
  kLastSuccessTimestamp,
  kLastCheckTimestamp,
  kServerCertificateExpiry,
  kBuildInfo,
  kStartTime,
  kEventsDropped,
};

struct MetricDef {
  Metric metric;
  std::string_view name;
  MetricType type;
  std::string_view help;
  std::array<std::string_view, 2> labels;  ///< label names in order; "" = unused
};

/// Every metric, in exposition order. kMetricDefs[i].metric == Metric(i).
inline constexpr MetricDef kMetricDefs[] = {
    {Metric::kUp,
     "pgvigil_up",
     MetricType::kGauge,
     "1 when the last liveness query of the target succeeded, else 0.",
     {"target", ""}},
    {Metric::kTargetState,
     "pgvigil_target_state",
     MetricType::kGauge,
     "1 for the target's current state, 0 for the others.",
     {"target", "state"}},
    {Metric::kCheckSuccess,
     "pgvigil_check_success",
     MetricType::kGauge,
     "1 when the check succeeded in the last round, else 0.",
     {"target", "check"}},
    {Metric::kCheckDuration,
     "pgvigil_check_duration_seconds",
     MetricType::kGauge,
     "How long the check took in the last round.",
     {"target", "check"}},
    {Metric::kConnections,
     "pgvigil_connections",
     MetricType::kGauge,
     "Client backends by pg_stat_activity.state.",
     {"target", "state"}},
    {Metric::kConnectionsUsed,
     "pgvigil_connections_used",
     MetricType::kGauge,
     "Client backends in use.",
     {"target", ""}},
    {Metric::kConnectionsUsable,
     "pgvigil_connections_usable",
     MetricType::kGauge,
     "Usable connection slots: max_connections minus the reserved ones.",
     {"target", ""}},
    {Metric::kConnectionsUsageRatio,
     "pgvigil_connections_usage_ratio",
     MetricType::kGauge,
     "Client backends divided by usable slots.",
     {"target", ""}},
    {Metric::kFailuresTotal,
     "pgvigil_failures_total",
     MetricType::kCounter,
     "Failed rounds since the agent started, by cause.",
     {"target", "cause"}},
    {Metric::kRestartsTotal,
     "pgvigil_restarts_total",
     MetricType::kCounter,
     "Restart attempts since the agent started, by result.",
     {"target", "result"}},
    {Metric::kConsecutiveFailures,
     "pgvigil_consecutive_failures",
     MetricType::kGauge,
     "Failed rounds in a row.",
     {"target", ""}},
    {Metric::kLastSuccessTimestamp,
     "pgvigil_last_success_timestamp_seconds",
     MetricType::kGauge,
     "When the last good round finished, as a Unix time.",
     {"target", ""}},
    {Metric::kLastCheckTimestamp,
     "pgvigil_last_check_timestamp_seconds",
     MetricType::kGauge,
     "When the last round finished, as a Unix time (for staleness alerts).",
     {"target", ""}},
    {Metric::kServerCertificateExpiry,
     "pgvigil_server_certificate_expiry_seconds",
     MetricType::kGauge,
     "Seconds until the server's TLS certificate seen in the last round expires (TLS only).",
     {"target", ""}},
    {Metric::kBuildInfo,
     "pgvigil_build_info",
     MetricType::kGauge,
     "Always 1; the labels name the build.",
     {"version", ""}},
    {Metric::kStartTime,
     "pgvigil_start_time_seconds",
     MetricType::kGauge,
     "When the agent started, as a Unix time.",
     {"", ""}},
    {Metric::kEventsDropped,
     "pgvigil_events_dropped_total",
     MetricType::kCounter,
     "Events and log lines lost because an output (log, state file) stayed blocked past its "
     "queue's bound.",
     {"", ""}},
};
inline constexpr std::size_t kMetricCount = std::size(kMetricDefs);

const MetricDef& metricDef(Metric m);

struct Sample {
  Metric metric;
  std::array<std::string, 2> labels;  ///< values, in the order of MetricDef::labels
  double value = 0;
};

/// Every sample for a status, grouped by metric in kMetricDefs order. Counters are emitted for
/// every cause / result (0 included) so rate() works from the first scrape; per-round values are
/// left out while a target has no round yet.
std::vector<Sample> collectSamples(const AgentStatus& status);

/// The Prometheus text exposition format 0.0.4.
std::string renderPrometheus(const AgentStatus& status);
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

/// Label value escaping of the exposition format: backslash, double quote, newline.
std::string escapeLabelValue(std::string_view v);

}  // namespace pgvigil
