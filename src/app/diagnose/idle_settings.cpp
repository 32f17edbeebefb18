// The verdict of diagnose's idle step. See idle_settings.h.
#include "app/diagnose/idle_settings.h"

#include <cstdlib>

namespace pgvigil {
namespace {

/// A time setting in milliseconds; -1 when it is not a number.
long long millisOf(const ServerSetting& s) {
  char* end = nullptr;
  const long long v = std::strtoll(s.setting.c_str(), &end, 10);
  if (s.setting.empty() || *end != '\0') return -1;
  if (s.unit == "s") return v * 1000;
  if (s.unit == "min") return v * 60'000;
  return v;  // "ms"
}

std::string valueText(const ServerSetting& s) {
  const long long ms = millisOf(s);
  if (ms < 0 || s.unit.empty()) return s.setting;
  return durationText(Millis(ms));
}

}  // namespace

bool ServerSetting::nonDefault() const {
  // Over TCP, pg_settings shows the kernel's own keepalive values for tcp_keepalives_* left at
  // 0 (source "default"): those are the OS defaults, not a choice of the server's.
  return source != "default" && setting != boot_val;
}

namespace {}  // namespace

const std::vector<std::string>& idleSettingNames() {
  static const std::vector<std::string> names = {
      "idle_session_timeout", "idle_in_transaction_session_timeout",
      "tcp_keepalives_idle",  "tcp_keepalives_interval",
      "tcp_keepalives_count", "client_connection_check_interval"};
  return names;
}

IdleVerdict judgeIdleSettings(const std::vector<ServerSetting>& settings, const std::string& user) {
  IdleVerdict v;
  const ServerSetting* idle = nullptr;
  const ServerSetting* inTx = nullptr;
  std::string changed;
  for (const auto& s : settings) {
    if (!s.nonDefault()) continue;
    const std::string value = valueText(s);
    changed += (changed.empty() ? "" : ", ") + s.name + "=" + value;
    const bool on = millisOf(s) > 0;
    if (s.name == "idle_session_timeout" && on) {
      idle = &s;
      v.notes.push_back(s.name + " = " + value +
                        ": the server closes a session that sits idle (no query, no open "
                        "transaction) for " +
                        value + " (FATAL 57P05)");
    } else if (s.name == "idle_in_transaction_session_timeout" && on) {
      inTx = &s;
      v.notes.push_back(s.name + " = " + value +
                        ": the server closes a session that stays inside an open transaction "
                        "without a query for " +
                        value + " (FATAL 25P03)");
    } else if (s.name == "tcp_keepalives_idle") {
      v.notes.push_back(
          s.name + " = " + value + ": the server sends a TCP keepalive after " + value +
          " of silence, which keeps NAT gateways and load balancers from dropping an idle "
          "connection only when it is shorter than their idle limit (350s on an AWS NLB)");
    } else if (s.name == "tcp_keepalives_interval" || s.name == "tcp_keepalives_count") {
      v.notes.push_back(s.name + " = " + value +
                        ": with the keepalive settings, how soon the server gives up on a "
                        "client that stopped answering");
    } else if (s.name == "client_connection_check_interval") {
      v.notes.push_back(s.name + " = " + value + ": during a long query the server checks every " +
                        value +
                        " that the client is still there and stops the query when it is gone; "
                        "it closes no idle session");
    }
  }
  const std::string as = " (as seen by role " + user +
                         "; an ALTER ROLE ... SET for the "
                         "application's own role shows only to that role)";
  if (changed.empty()) {
    v.detail =
        "no setting closes idle sessions: idle_session_timeout and "
        "idle_in_transaction_session_timeout are off, TCP keepalives at the OS defaults" +
        as;
    return v;
  }
  v.detail = changed + as;
  if (!idle && !inTx) return v;
  v.warn = true;
  if (idle) {
    const std::string t = valueText(*idle);
    v.advice.explanation =
        "the server closes sessions idle for " + t +
        ": an application pool that keeps a connection idle longer hands out a dead one, and "
        "the next query fails with ECONNRESET or 'Connection terminated unexpectedly' (the "
        "error-after-idle pattern)";
    v.advice.remedies.push_back(
        "node-postgres: new Pool({ idleTimeoutMillis: ... }) below " + t +
        " (its default is 10000 ms, 0 keeps idle connections forever), so the pool closes them "
        "first");
    v.advice.remedies.push_back(
        "HikariCP: idleTimeout below " + t +
        " (it applies only when minimumIdle is below maximumPoolSize), or keepaliveTime below " +
        t +
        " so that idle connections are pinged, and maxLifetime a few seconds shorter than "
        "any limit the database imposes");
    v.advice.remedies.push_back(
        "Prisma: connection_limit is the pool's size and pool_timeout how long a query waits "
        "for a free connection; neither closes idle connections (lift the limit for the "
        "application's role, below)");
    v.advice.remedies.push_back(
        "or lift it for the application's role: ALTER ROLE app_user SET "
        "idle_session_timeout = 0 (it is meant for sessions nobody "
        "pools)");
  }
  if (inTx) {
    const std::string t = valueText(*inTx);
    if (v.advice.explanation.empty())
      v.advice.explanation =
          "the server closes a session that stays " + t +
          " inside an open transaction without a query: the application then sees ECONNRESET "
          "or 'terminating connection due to idle-in-transaction timeout' on its next query";
    else
      v.advice.explanation += "; and it closes a session that stays " + t +
                              " inside an open transaction without a query";
    v.advice.remedies.push_back(
        "end every transaction promptly (COMMIT/ROLLBACK, then client.release() in a finally "
        "block with node-postgres); Prisma's interactive transactions time out after 5 s by "
        "default ($transaction timeout option): keep it below " +
        t + "; HikariCP's leakDetectionThreshold below " + t + " logs where a connection is held");
  }
  return v;
}

}  // namespace pgvigil
