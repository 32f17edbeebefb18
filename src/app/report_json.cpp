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
  return o;
}

std::string toJsonLine(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream s;
  object->stringify(s);
  s << '\n';
  return s.str();
}

}  // namespace pgvigil
