#include "restart/docker_client.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <istream>
#include <mutex>
#include <sstream>

#include "core/unique_fd.h"
#include "core/wall_time.h"

namespace pgvigil {

namespace {

/// Poco opens its sockets without close-on-exec: mark this one (the event stream lives for the
/// agent's whole run). The launcher closes every descriptor in its children anyway.
void keepFromChildren(Poco::Net::StreamSocket& socket) {
#ifndef _WIN32
  setCloseOnExec(static_cast<int>(socket.impl()->sockfd()));
#else
  (void)socket;
#endif
}

constexpr const char* kApiPrefix = "/v1.41";

Poco::Timespan toTimespan(std::chrono::milliseconds ms) {
  // At least 1 ms: Poco treats a zero timeout as "wait forever".
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(std::max<long long>(ms.count(), 1)) *
                        1000);
}

std::string encode(const std::string& s) {
  std::string out;
  Poco::URI::encode(s, "!#$&'()*+,/:;=?@[]\"{}", out);
  return out;
}

/// The filters= value for one container's container events: {"container":[NAME],"type":[...]}.
std::string containerFilter(const std::string& container) {
  Poco::JSON::Object filters;
  Poco::JSON::Array names;
  names.add(container);
  Poco::JSON::Array types;
  types.add(std::string("container"));
  filters.set("container", names);
  filters.set("type", types);
  std::ostringstream out;
  filters.stringify(out);
  return encode(out.str());
}

/// What a failed socket operation means for the caller.
DockerError fromException(const Poco::Exception& e, const std::string& where, bool connecting) {
  DockerError err;
  int code = e.code();
  if (dynamic_cast<const Poco::TimeoutException*>(&e)) {
    err.kind = DockerError::Kind::kTimeout;
    err.message = "docker daemon did not answer in time: " + where;
  } else if (code == EACCES || code == EPERM) {
    err.kind = DockerError::Kind::kPermissionDenied;
    err.message = "permission denied on " + where;
  } else if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e) ||
             code == ECONNREFUSED) {
    err.kind = DockerError::Kind::kUnreachable;
    err.message = "docker daemon not reachable: connection refused: " + where;
  } else if (code == ENOENT || code == ENOTDIR) {
    err.kind = DockerError::Kind::kUnreachable;
    err.message = "docker daemon not reachable: no socket: " + where;
  } else if (connecting || code == ECONNRESET || code == EPIPE || code == ENOTCONN ||
             dynamic_cast<const Poco::Net::NoMessageException*>(&e) ||
             dynamic_cast<const Poco::Net::ConnectionResetException*>(&e)) {
    err.kind = DockerError::Kind::kUnreachable;
    err.message = "docker daemon not reachable: " + e.displayText() + ": " + where;
  } else {
    err.kind = DockerError::Kind::kApi;
    err.message = "docker API: " + e.displayText();
  }
  return err;
}

/// Connects to the daemon, bounded by the deadline.
DockerError connectSocket(const DockerHost& host, const std::string& hostText,
                          const Deadline& deadline, Poco::Net::StreamSocket* socket) {
  if (!host.error.empty()) return {DockerError::Kind::kUnreachable, host.error, 0};
  if (deadline.expired())
    return {DockerError::Kind::kTimeout, "no time left to reach " + hostText, 0};
  try {
    if (host.kind == DockerHost::Kind::kUnix) {
      Poco::Net::SocketAddress address(Poco::Net::SocketAddress::UNIX_LOCAL, host.path);
      *socket = Poco::Net::StreamSocket(address.family());
      keepFromChildren(*socket);
      socket->connect(address, toTimespan(deadline.remaining()));
    } else {
      Poco::Net::SocketAddress address(host.host, host.port);
      *socket = Poco::Net::StreamSocket(address.family());
      keepFromChildren(*socket);
      socket->connect(address, toTimespan(deadline.remaining()));
    }
  } catch (const Poco::Exception& e) {
    return fromException(e, hostText, /*connecting=*/true);
  }
  return {};
}

/// The "message" of a Docker error body, or the body itself.
std::string apiMessage(const std::string& body) {
  try {
    Poco::JSON::Parser parser;
    auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    if (obj && obj->has("message")) return obj->getValue<std::string>("message");
  } catch (const Poco::Exception&) {
  } catch (const std::exception&) {
  }
  std::string line = body.substr(0, body.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) : line;
}

class PocoEventStream final : public DockerEventStream {
 public:
  PocoEventStream(Poco::Net::StreamSocket socket) : socket_(std::move(socket)), session_(socket_) {}

  DockerError open(const std::string& path, const std::string& hostText) {
    try {
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      req.setHost("docker");
      session_.sendRequest(req);
      body_ = &session_.receiveResponse(response_);
      if (response_.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        std::string text;
        Poco::StreamCopier::copyToString(*body_, text);
        return {DockerError::Kind::kApi, "docker API: " + apiMessage(text),
                static_cast<int>(response_.getStatus())};
      }
    } catch (const Poco::Exception& e) {
      return fromException(e, hostText, false);
    }
    return {};
  }

  bool next(DockerEvent* event) override {
    try {
      std::string line;
      while (std::getline(*body_, line)) {
        if (auto parsed = parseDockerEvent(line)) {
          *event = std::move(*parsed);
          return true;
        }
      }
    } catch (const Poco::Exception&) {
    } catch (const std::exception&) {
    }
    return false;
  }

  void interrupt() override {
    try {
      socket_.shutdown();
    } catch (const Poco::Exception&) {
    }
  }

 private:
  Poco::Net::StreamSocket socket_;
  Poco::Net::HTTPClientSession session_;
  Poco::Net::HTTPResponse response_;
  std::istream* body_ = nullptr;
};

}  // namespace

DockerHost parseDockerHost(std::string_view text) {
  DockerHost h;
  if (text.rfind("unix://", 0) == 0) {
    h.kind = DockerHost::Kind::kUnix;
    h.path = std::string(text.substr(7));
    if (h.path.empty() || h.path.front() != '/')
      h.error = "docker_host: unix socket path must be absolute: " + std::string(text);
    return h;
  }
  if (text.rfind("tcp://", 0) == 0) {
    h.kind = DockerHost::Kind::kTcp;
    std::string_view rest = text.substr(6);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      h.error = "docker_host: tcp address needs host:port: " + std::string(text);
      return h;
    }
    std::string_view host = rest.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    h.host = std::string(host);
    unsigned port = 0;
    auto portText = rest.substr(colon + 1);
    auto [p, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || p != portText.data() + portText.size() || port == 0 || port > 65535)
      h.error = "docker_host: bad port in " + std::string(text);
    h.port = static_cast<std::uint16_t>(port);
    return h;
  }
  h.error = "docker_host: unsupported address (want unix:///path or tcp://host:port): " +
            std::string(text);
  return h;
}

std::optional<DockerEvent> parseDockerEvent(std::string_view json) {
  while (!json.empty() && (json.back() == '\r' || json.back() == '\n' || json.back() == ' '))
    json.remove_suffix(1);
  if (json.empty() || json.front() != '{') return std::nullopt;
  try {
    Poco::JSON::Parser parser;
    auto obj = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
    if (!obj) return std::nullopt;
    DockerEvent ev;
    ev.type = obj->optValue<std::string>("Type", "");
    ev.action = obj->optValue<std::string>("Action", obj->optValue<std::string>("status", ""));
    if (ev.action.empty()) return std::nullopt;
    ev.timeNano = obj->optValue<Poco::Int64>("timeNano", 0);
    if (auto actor = obj->getObject("Actor")) {
      ev.id = actor->optValue<std::string>("ID", "");
      if (auto attrs = actor->getObject("Attributes")) {
        for (const auto& [key, value] : *attrs) {
          if (value.isString()) ev.attributes[key] = value.extract<std::string>();
        }
      }
    }
    if (ev.id.empty()) ev.id = obj->optValue<std::string>("id", "");
    return ev;
  } catch (const Poco::Exception&) {
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<double> parseDockerTime(std::string_view t) {
  auto at = parseWallTime(t);  // "0001-01-01T00:00:00Z" ("never") is outside its range: empty
  if (!at) return std::nullopt;
  return std::chrono::duration<double>(at->time_since_epoch()).count();
}

struct DockerClient::Response {
  int status = 0;
  std::string body;
};

DockerClient::DockerClient(std::string dockerHost)
    : hostText_(std::move(dockerHost)), host_(parseDockerHost(hostText_)) {}

DockerError DockerClient::request(const std::string& method, const std::string& path,
                                  const Deadline& deadline, Response* response) const {
  Poco::Net::StreamSocket socket;
  if (auto err = connectSocket(host_, hostText_, deadline, &socket)) return err;
  try {
    auto timeout = toTimespan(deadline.remaining());
    socket.setSendTimeout(timeout);
    socket.setReceiveTimeout(timeout);
    Poco::Net::HTTPClientSession session(socket);
    session.setKeepAlive(false);
    Poco::Net::HTTPRequest req(method, kApiPrefix + path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setHost("docker");  // the Engine requires a Host header; it ignores its value
    if (method == Poco::Net::HTTPRequest::HTTP_POST) req.setContentLength(0);
    session.sendRequest(req);
    Poco::Net::HTTPResponse res;
    std::istream& in = session.receiveResponse(res);
    socket.setReceiveTimeout(toTimespan(deadline.remaining()));
    Poco::StreamCopier::copyToString(in, response->body);
    response->status = static_cast<int>(res.getStatus());
  } catch (const Poco::Exception& e) {
    return fromException(e, hostText_, false);
  }
  if (response->status == 404)
    return {DockerError::Kind::kNotFound, apiMessage(response->body), 404};
  if (response->status >= 400)
    return {DockerError::Kind::kApi, "docker API: " + apiMessage(response->body), response->status};
  return {};
}

DockerError DockerClient::inspect(const std::string& container, const Deadline& deadline,
                                  ContainerState* state) const {
  Response res;
  if (auto err = request(Poco::Net::HTTPRequest::HTTP_GET,
                         "/containers/" + encode(container) + "/json", deadline, &res))
    return err;
  try {
    Poco::JSON::Parser parser;
    auto obj = parser.parse(res.body).extract<Poco::JSON::Object::Ptr>();
    auto st = obj ? obj->getObject("State") : nullptr;
    if (!st) return {DockerError::Kind::kApi, "docker API: inspect answer has no State", 200};
    state->status = st->optValue<std::string>("Status", "");
    state->running = st->optValue<bool>("Running", false);
    state->oomKilled = st->optValue<bool>("OOMKilled", false);
    state->exitCode = st->optValue<int>("ExitCode", 0);
    state->startedAt = st->optValue<std::string>("StartedAt", "");
    state->finishedAt = st->optValue<std::string>("FinishedAt", "");
  } catch (const Poco::Exception& e) {
    return {DockerError::Kind::kApi, "docker API: bad inspect answer: " + e.displayText(), 200};
  } catch (const std::exception& e) {
    return {DockerError::Kind::kApi, std::string("docker API: bad inspect answer: ") + e.what(),
            200};
  }
  return {};
}

DockerError DockerClient::restart(const std::string& container, std::chrono::seconds stopTimeout,
                                  const Deadline& deadline) const {
  Response res;
  return request(
      Poco::Net::HTTPRequest::HTTP_POST,
      "/containers/" + encode(container) + "/restart?t=" + std::to_string(stopTimeout.count()),
      deadline, &res);
}

DockerError DockerClient::start(const std::string& container, const Deadline& deadline) const {
  Response res;
  return request(Poco::Net::HTTPRequest::HTTP_POST, "/containers/" + encode(container) + "/start",
                 deadline, &res);  // 204 started, 304 already running
}

DockerError DockerClient::events(const std::string& container, double since, double until,
                                 const Deadline& deadline, std::vector<DockerEvent>* out) const {
  char range[96];
  std::snprintf(range, sizeof range, "since=%.3f&until=%.3f", since, until);
  Response res;
  if (auto err = request(Poco::Net::HTTPRequest::HTTP_GET,
                         std::string("/events?") + range + "&filters=" + containerFilter(container),
                         deadline, &res))
    return err;
  std::istringstream in(res.body);
  for (std::string line; std::getline(in, line);)
    if (auto ev = parseDockerEvent(line)) out->push_back(std::move(*ev));
  return {};
}

DockerError DockerClient::openEventStream(const std::string& container,
                                          const Deadline& connectDeadline,
                                          DockerEventStreamPtr* stream) const {
  Poco::Net::StreamSocket socket;
  if (auto err = connectSocket(host_, hostText_, connectDeadline, &socket)) return err;
  try {
    socket.setSendTimeout(toTimespan(connectDeadline.remaining()));
    socket.setReceiveTimeout(toTimespan(connectDeadline.remaining()));
  } catch (const Poco::Exception& e) {
    return fromException(e, hostText_, false);
  }
  auto s = std::make_unique<PocoEventStream>(socket);
  if (auto err = s->open(std::string(kApiPrefix) + "/events?filters=" + containerFilter(container),
                         hostText_))
    return err;
  try {
    socket.setReceiveTimeout(Poco::Timespan(0));  // events may be hours apart; interrupt() ends it
  } catch (const Poco::Exception& e) {
    return fromException(e, hostText_, false);
  }
  *stream = std::move(s);
  return {};
}

}  // namespace pgvigil
