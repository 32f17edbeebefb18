#include "http/router.h"

#include "core/units.h"

#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "http/dashboard.h"
#include "http/json_writer.h"
#include "http/metrics.h"
#include "http/renderers.h"

namespace pgvigil {

// ---- token ------------------------------------------------------------------------------------

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // Walk the longer length every time; a length difference is folded into the result.
  std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

void TokenStore::set(std::optional<std::string> token) {
  std::lock_guard lock(mutex_);
  token_ = token ? std::make_shared<const std::string>(std::move(*token)) : nullptr;
}

bool TokenStore::required() const {
  std::lock_guard lock(mutex_);
  return token_ != nullptr;
}

bool TokenStore::matches(std::string_view authorization) const {
  std::shared_ptr<const std::string> token;
  {
    std::lock_guard lock(mutex_);
    token = token_;
  }
  if (!token) return true;
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  std::string_view presented = authorization.substr(kScheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  return constantTimeEquals(presented, *token);
}

// ---- parameters -------------------------------------------------------------------------------

std::optional<std::string> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string key, value;
    auto plusToSpace = [](std::string_view raw) {
      std::string s(raw);
      std::replace(s.begin(), s.end(), '+', ' ');
      return s;
    };
    try {
      Poco::URI::decode(plusToSpace(pair.substr(0, eq)), key);
      if (eq != std::string_view::npos) Poco::URI::decode(plusToSpace(pair.substr(eq + 1)), value);
    } catch (...) {
      continue;  // a malformed escape: treat the parameter as absent
    }
    if (key == name) return value;
  }
  return std::nullopt;
}

// ---- routing ----------------------------------------------------------------------------------

namespace {

enum class Access { kPublic, kData, kControl };

HttpResponse json(int status, std::string body) {
  return HttpResponse{status, std::string(kJsonContentType), std::move(body), {}};
}

HttpResponse json(Rendered r) {
  HttpResponse h = json(r.code, std::move(r.body));
  h.headers = std::move(r.headers);
  return h;
}

HttpResponse error(int status, std::string_view message) {
  return json(renderError(status, message));
}

int httpCode(ControlResult::Code c) {
  using C = ControlResult::Code;
  switch (c) {
    case C::kOk:
      return 200;
    case C::kAccepted:
      return 202;
    case C::kNotFound:
      return 404;
    case C::kConflict:
      return 409;
    case C::kInvalid:
      return 400;
    case C::kRejected:
      return 422;
    case C::kFailed:
      return 500;
  }
  return 500;
}

HttpResponse controlAnswer(const ControlResult& r, std::string_view action, std::string_view target,
                           WallTime now) {
  JsonWriter w;
  w.beginObject();
  w.key("action").value(action);
  w.key("target").stringOrNull(target);
  w.key("result").value(toString(r.code));
  w.key("message").stringOrNull(r.message);
  w.key("checked_at").time(now);
  w.key("stale").value(false);
  w.endObject();
  return json(httpCode(r.code), w.take());
}

bool validTargetName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return false;
  return true;
}

}  // namespace

Router::Router(StatusProvider& provider, const TokenStore& tokens, const Clock& clock)
    : provider_(provider), tokens_(tokens), clock_(clock) {}

HttpResponse Router::handle(const HttpRequest& request) const {
  HttpResponse response;
  try {
    response = dispatch(request);
  } catch (...) {
    // Never tell the client what went wrong inside: that is for the log, not the wire.
    response = error(500, "internal error");
  }
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

HttpResponse Router::dispatch(const HttpRequest& request) const {
  const std::string& path = request.path;
  bool isGet = request.method == "GET" || request.method == "HEAD";
  bool isPost = request.method == "POST";

  // Exact paths first; then the two families with a name in them.
  Access access = Access::kData;
  bool post = false;
  std::string_view target, action;
  enum class Route {
    kDashboard,
    kLivez,
    kHealth,
    kHealthTarget,
    kStatus,
    kMetrics,
    kEvents,
    kReload,
    kControl,
    kNone
  } route = Route::kNone;
  if (path == "/")
    route = Route::kDashboard, access = Access::kPublic;
  else if (path == "/livez")
    route = Route::kLivez, access = Access::kPublic;
  else if (path == "/health")
    route = Route::kHealth, access = Access::kPublic;
  else if (path == "/status")
    route = Route::kStatus;
  else if (path == "/metrics")
    route = Route::kMetrics;
  else if (path == "/events")
    route = Route::kEvents;
  else if (path == "/reload")
    route = Route::kReload, access = Access::kControl, post = true;
  else if (path.starts_with("/health/")) {
    target = std::string_view(path).substr(8);
    if (!target.empty() && target.find('/') == std::string_view::npos)
      route = Route::kHealthTarget, access = Access::kPublic;
  } else if (path.starts_with("/targets/")) {
    std::string_view rest = std::string_view(path).substr(9);
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      target = rest.substr(0, slash);
      action = rest.substr(slash + 1);
      if (!target.empty() && (action == "pause" || action == "resume" || action == "restart"))
        route = Route::kControl, access = Access::kControl, post = true;
    }
  }

  if (route == Route::kNone) return error(404, "not found");
  if (post ? !isPost : !isGet) {
    HttpResponse r = error(405, "method not allowed");
    r.headers.emplace_back("Allow", post ? "POST" : "GET, HEAD");
    return r;
  }
  if (access == Access::kControl && !tokens_.required())
    return error(403, "control endpoints are off: no token_file is configured");
  if (access != Access::kPublic && !tokens_.matches(request.authorization)) {
    HttpResponse r = error(401, "a valid bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pgvigil\"");
    return r;
  }

  switch (route) {
    case Route::kDashboard: {
      HttpResponse r{200, "text/html; charset=utf-8", std::string(dashboardHtml()), {}};
      r.headers.emplace_back("Content-Security-Policy",
                             "default-src 'none'; script-src 'unsafe-inline'; "
                             "style-src 'unsafe-inline'; connect-src 'self'; img-src data:");
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      r.headers.emplace_back("Referrer-Policy", "no-referrer");
      return r;
    }
    case Route::kLivez:
      return json(renderLivez(*provider_.snapshot()));
    case Route::kHealth:
      return json(*healthCache_.get(provider_.snapshot(), renderHealth));
    case Route::kHealthTarget:
      return json(renderHealthTarget(*provider_.snapshot(), target));
    case Route::kStatus:
      return json(*statusCache_.get(provider_.snapshot(), renderStatus));
    case Route::kMetrics: {
      auto body = metricsCache_.get(provider_.snapshot(),
                                    [](const AgentStatus& s) { return renderPrometheus(s); });
      return HttpResponse{200, std::string(kPrometheusContentType), *body, {}};
    }
    case Route::kEvents: {
      std::size_t limit = kDefaultEventLimit;
      if (auto raw = queryParam(request.query, "limit")) {
        std::size_t n = 0;
        auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), n);
        if (ec == std::errc::result_out_of_range)
          n = kMaxEventLimit;
        else if (ec != std::errc() || ptr != raw->data() + raw->size())
          return error(400, "limit must be a non-negative integer");
        limit = std::min(n, kMaxEventLimit);
      }
      return json(renderEvents(provider_.recentEvents(limit), clock_.wallNow()));
    }
    case Route::kReload:
      return controlAnswer(provider_.reload(), "reload", "", clock_.wallNow());
    case Route::kControl:
      return control(request, target, action);
    case Route::kNone:
      break;
  }
  return error(404, "not found");
}

HttpResponse Router::control(const HttpRequest& request, std::string_view target,
                             std::string_view action) const {
  if (!validTargetName(target)) return error(404, "no target named " + std::string(target));
  ControlResult result;
  if (action == "pause") {
    std::optional<Millis> duration;
    if (auto raw = queryParam(request.query, "for")) {
      // core/units.h: the same syntax as the config, at most kMaxPause (a year).
      auto parsed = parseDuration(*raw, kMaxPause);
      if (!parsed.ok()) return error(400, "for: " + parsed.error);
      if (parsed.value <= Millis{0})
        return error(400, "for must be a duration such as 30m, 2h or 90s");
      duration = parsed.value;
    }
    result = provider_.pause(target, duration);
  } else if (action == "resume") {
    result = provider_.resume(target);
  } else {
    result = provider_.restart(target);
  }
  return controlAnswer(result, action, target, clock_.wallNow());
}

}  // namespace pgvigil
