#include "app/report_json.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/JSONException.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace pgvigil {

Poco::JSON::Object::Ptr orderedObject() {
  return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

double seconds(Micros d) {
  return std::round(double(d.count())) / 1e6;
}

namespace {

Poco::Dynamic::Var nullable(std::string_view s) {
  if (s.empty()) return Poco::Dynamic::Var();
  return std::string(s);
}

}  // namespace

Poco::JSON::Object::Ptr checkToJson(const CheckOutcome& outcome) {
  auto o = orderedObject();
  o->set("check", outcome.check);
  o->set("status", outcome.ok ? "ok" : "failed");
  o->set("ok", outcome.ok);
  o->set("cause", nullable(toString(outcome.cause)));
  o->set("phase", outcome.ok ? Poco::Dynamic::Var() : nullable(toString(outcome.phase)));
  o->set("latency_seconds", seconds(outcome.latency));
  o->set("message", nullable(outcome.message));
  o->set("sqlstate", nullable(outcome.sqlstate));
  return o;
}

Poco::JSON::Object::Ptr skippedCheckToJson(const std::string& check) {
  auto o = orderedObject();
  o->set("check", check);
  o->set("status", "skipped");
  o->set("ok", false);
  o->set("cause", Poco::Dynamic::Var());
  o->set("phase", Poco::Dynamic::Var());
  o->set("latency_seconds", Poco::Dynamic::Var());
  o->set("message", "not run: an earlier check failed");
  o->set("sqlstate", Poco::Dynamic::Var());
  return o;
}

Poco::JSON::Object::Ptr connectionsToJson(const ConnectionStats& stats,
                                          const ConnectionsCheckConfig& thresholds, bool atWarn,
                                          bool atCritical) {
  auto o = orderedObject();
  o->set("used", stats.used);
  o->set("usable", stats.usable);
  o->set("max_connections", stats.max_connections);
  o->set("superuser_reserved", stats.superuser_reserved);
  o->set("reserved", stats.reserved);
  auto byState = orderedObject();
  for (const auto& [state, n] : stats.by_state) byState->set(state, n);
  o->set("by_state", byState);
  o->set("ratio", std::round(stats.ratio() * 1e4) / 1e4);
  o->set("warn", thresholds.warn);
  o->set("critical", thresholds.critical);
  o->set("at_warn", atWarn);
  o->set("at_critical", atCritical);
  o->set("role", stats.role);
  o->set("sees_all_sessions", stats.sees_all);
  o->set("hidden", stats.hidden);
  auto holders = Poco::JSON::Array::Ptr(new Poco::JSON::Array);
  for (const auto& h : stats.holders) {
    auto ho = orderedObject();
    ho->set("application", h.other ? std::string("other") : h.application);
    ho->set("user", h.user);
    ho->set("client", h.client);
    ho->set("other", h.other);
    ho->set("groups", h.groups);
    ho->set("sessions", h.total);
    ho->set("active", h.active);
    ho->set("idle", h.idle);
    ho->set("idle_in_transaction", h.idle_in_transaction);
    ho->set("hidden", h.hidden);
    ho->set("oldest_idle_s", h.oldest_idle
                                 ? Poco::Dynamic::Var(double(h.oldest_idle->count()) / 1000.0)
                                 : Poco::Dynamic::Var());
    ho->set("oldest_idle_in_transaction_s",
            h.oldest_idle_in_transaction
                ? Poco::Dynamic::Var(double(h.oldest_idle_in_transaction->count()) / 1000.0)
                : Poco::Dynamic::Var());
    holders->add(ho);
  }
  o->set("holders", holders);
  return o;
}

std::string toJsonLine(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream s;
  object->stringify(s);
  s << '\n';
  return s.str();
}

}  // namespace pgvigil
