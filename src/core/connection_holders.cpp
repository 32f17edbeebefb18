#include "core/connection_holders.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/units.h"

namespace pgvigil {
namespace {

std::optional<Millis> older(std::optional<Millis> a, std::optional<Millis> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

/// "41s" under a minute, whole minutes ("41m", "2h5m") from one minute on.
std::string ageText(Millis d) {
  if (d < std::chrono::minutes(1))
    return formatDuration(std::chrono::floor<std::chrono::seconds>(d), DurationStyle::kClock);
  return formatDuration(std::chrono::floor<std::chrono::minutes>(d), DurationStyle::kClock);
}

std::string plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string applicationOf(const ConnectionHolder& h) {
  if (h.other) return "other";
  if (h.application.empty()) return "(no application_name)";
  return h.application;
}

}  // namespace

void rankHolders(std::vector<ConnectionHolder>& holders, std::size_t top) {
  ConnectionHolder other;
  other.other = true;
  other.groups = 0;
  std::vector<ConnectionHolder> named;
  named.reserve(holders.size());
  auto fold = [&other](const ConnectionHolder& h) {
    other.groups += h.groups;
    other.total += h.total;
    other.active += h.active;
    other.idle += h.idle;
    other.idle_in_transaction += h.idle_in_transaction;
    other.hidden += h.hidden;
    other.oldest_idle = older(other.oldest_idle, h.oldest_idle);
    other.oldest_idle_in_transaction =
        older(other.oldest_idle_in_transaction, h.oldest_idle_in_transaction);
  };
  for (auto& h : holders) {
    if (h.other)
      fold(h);
    else
      named.push_back(std::move(h));
  }
  std::sort(named.begin(), named.end(), [](const ConnectionHolder& a, const ConnectionHolder& b) {
    return std::tie(b.total, a.application, a.user, a.client) <
           std::tie(a.total, b.application, b.user, b.client);
  });
  for (std::size_t i = top; i < named.size(); ++i) fold(named[i]);
  if (named.size() > top) named.resize(top);
  if (other.groups > 0) named.push_back(std::move(other));
  holders = std::move(named);
}

std::string holderName(const ConnectionHolder& h) {
  if (h.other) return "other (" + plural(h.groups, "group", "groups") + ")";
  std::string who = h.user.empty() ? "?" : h.user;
  if (!h.client.empty()) who += "@" + h.client;
  return applicationOf(h) + " (" + who + ")";
}

std::string holderText(const ConnectionHolder& h, int usable) {
  std::string s = holderName(h) + " holds " + std::to_string(h.total) + " of " +
                  std::to_string(usable) + " usable";
  std::vector<std::string> parts;
  if (h.idle > 0) {
    std::string p = std::to_string(h.idle) + " idle";
    if (h.oldest_idle) p += ", oldest idle " + ageText(*h.oldest_idle);
    parts.push_back(std::move(p));
  }
  if (h.idle_in_transaction > 0) {
    std::string p = std::to_string(h.idle_in_transaction) + " idle in transaction";
    if (h.oldest_idle_in_transaction) p += ", oldest " + ageText(*h.oldest_idle_in_transaction);
    parts.push_back(std::move(p));
  }
  if (h.active > 0) parts.push_back(std::to_string(h.active) + " active");
  if (h.hidden > 0) parts.push_back(std::to_string(h.hidden) + " not visible to this role");
  for (const auto& p : parts) s += "; " + p;
  return s;
}

std::string topHolderText(const ConnectionStats& c) {
  if (c.holders.empty()) return "";
  return holderText(c.holders.front(), c.usable);
}

std::string grantRemedy(const std::string& role) {
  std::string quoted = "\"";
  for (char ch : role) {
    if (ch == '"') quoted += '"';
    quoted += ch;
  }
  quoted += '"';
  // A plain lower-case name reads better unquoted.
  bool plain = !role.empty() && !(role[0] >= '0' && role[0] <= '9');
  for (char ch : role)
    plain = plain && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_');
  return "GRANT pg_monitor TO " + (plain ? role : quoted);
}

std::string visibilityWarning(const ConnectionStats& c) {
  if (c.sees_all) return "";
  const std::string role = c.role.empty() ? std::string("the monitoring role") : "role " + c.role;
  return role + " cannot see other users' sessions (" + std::to_string(c.hidden) + " of " +
         std::to_string(c.used) + " hidden: counted, but with no state, address or query); " +
         grantRemedy(c.role.empty() ? "<role>" : c.role);
}

std::optional<std::string> unreachableThresholds(const ConnectionStats& c,
                                                 const ConnectionsCheckConfig& config) {
  if (c.usable <= 0 || c.superuser) return std::nullopt;
  const int reachable = c.usable - 1;  // the measuring session holds one usable slot
  const double maxRatio = double(reachable) / c.usable;
  const double eps = 1e-9;
  std::vector<std::string> bad;
  auto need = [&](double threshold) { return int(std::ceil(threshold * c.usable - eps)); };
  if (maxRatio + eps < config.critical)
    bad.push_back("critical " + formatWholePercent(config.critical) + " needs " +
                  std::to_string(need(config.critical)));
  if (maxRatio + eps < config.warn)
    bad.push_back("warn " + formatWholePercent(config.warn) + " needs " +
                  std::to_string(need(config.warn)));
  if (bad.empty()) return std::nullopt;
  std::string s;
  for (std::size_t i = 0; i < bad.size(); ++i) s += (i ? " and " : "") + bad[i];
  // The largest whole percent that can still be reached.
  const int pct = int(std::floor(maxRatio * 100.0 + eps));
  s += " of " + std::to_string(c.usable) + " usable slots, but at most " +
       std::to_string(reachable) +
       " other sessions can be counted (the monitoring session holds one slot): it can never "
       "fire; set it to " +
       std::to_string(pct) + "% or below";
  return s;
}

std::string blastRadiusText(const ConnectionStats& c) {
  if (c.used == 0) return "no client sessions";
  std::string s = plural(c.used, "client session", "client sessions");
  if (c.holders.empty()) return s;
  s += " (";
  for (std::size_t i = 0; i < c.holders.size(); ++i) {
    if (i) s += ", ";
    s += applicationOf(c.holders[i]) + " " + std::to_string(c.holders[i].total);
  }
  return s + ")";
}

std::string blastRadiusApplications(const ConnectionStats& c) {
  std::vector<std::string> seen;
  for (const auto& h : c.holders) {
    std::string app = applicationOf(h);
    if (std::find(seen.begin(), seen.end(), app) == seen.end()) seen.push_back(std::move(app));
  }
  std::string s;
  for (std::size_t i = 0; i < seen.size(); ++i) s += (i ? "," : "") + seen[i];
  return s;
}

}  // namespace pgvigil
