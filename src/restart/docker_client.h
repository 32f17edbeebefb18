// A small Docker Engine API client (API v1.41) over the daemon's unix socket or a tcp:// address,
// with Poco::Net's HTTP client on a socket we connect ourselves. Only what the docker restarter
// needs: inspect, start, restart, the events log and the live events stream. Every call is bounded
// by a Deadline and reports failure as a value, never by throwing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace pgvigil {

struct [[nodiscard]] DockerError {
  enum class Kind {
    kNone,
    kUnreachable,       ///< socket missing, connection refused or dropped: the daemon is down
    kPermissionDenied,  ///< EACCES on the socket (not in the docker group)
    kNotFound,          ///< 404: no such container
    kTimeout,           ///< the deadline passed
    kApi,               ///< any other answer than the expected one; message says which
  };
  Kind kind = Kind::kNone;
  std::string message;  ///< one line: "no such container: pg", "connection refused: unix:///..."
  int httpStatus = 0;

  explicit operator bool() const { return kind != Kind::kNone; }  ///< true when it is an error
};

/// Where the daemon listens: "unix:///var/run/docker.sock" or "tcp://127.0.0.1:2375".
struct DockerHost {
  enum class Kind { kUnix, kTcp } kind = Kind::kUnix;
  std::string path;  ///< kUnix
  std::string host;  ///< kTcp
  std::uint16_t port = 0;
  std::string error;  ///< non-empty when the text could not be used
};
DockerHost parseDockerHost(std::string_view text);

/// The part of GET /containers/{id}/json that matters here (its "State" object).
struct ContainerState {
  std::string status;  ///< created, running, paused, restarting, removing, exited, dead
  bool running = false;
  bool oomKilled = false;
  int exitCode = 0;
  std::string startedAt;   ///< RFC 3339 with nanoseconds, as Docker writes it
  std::string finishedAt;  ///< "0001-01-01T00:00:00Z" when it never finished
};

/// One line of the /events stream.
struct DockerEvent {
  std::string type;    ///< "container"
  std::string action;  ///< "die", "oom", "stop", "start", "kill", "restart", "destroy", ...
  std::string id;
  std::map<std::string, std::string> attributes;  ///< "name", "exitCode", "signal", ...
  std::int64_t timeNano = 0;
};
/// Parses one JSON event line; nullopt when it is not one.
std::optional<DockerEvent> parseDockerEvent(std::string_view json);
/// "2026-11-22T13:29:30.506551226Z" -> seconds since the epoch (core/wall_time's parser);
/// nullopt when unparsable, outside 1900..2200, or the zero time Docker uses for "never".
std::optional<double> parseDockerTime(std::string_view rfc3339);

/// A live GET /events response. next() blocks until an event arrives; interrupt() (from any
/// thread) shuts the socket down so a blocked next() returns false at once.
class DockerEventStream {
 public:
  virtual ~DockerEventStream() = default;
  /// The next event; false at the end of the stream (daemon gone, interrupted).
  virtual bool next(DockerEvent* event) = 0;
  virtual void interrupt() = 0;
};
using DockerEventStreamPtr = std::unique_ptr<DockerEventStream>;

class DockerClient {
 public:
  explicit DockerClient(std::string dockerHost);

  const std::string& hostText() const { return hostText_; }

  DockerError inspect(const std::string& container, const Deadline& deadline,
                      ContainerState* state) const;
  /// POST /containers/{id}/restart?t=N: stop (its stop signal, then SIGKILL after N s), start.
  DockerError restart(const std::string& container, std::chrono::seconds stopTimeout,
                      const Deadline& deadline) const;
  /// POST /containers/{id}/start. Already running (304) is not an error.
  DockerError start(const std::string& container, const Deadline& deadline) const;
  /// The daemon's recent events for this container between since and until (epoch seconds).
  DockerError events(const std::string& container, double since, double until,
                     const Deadline& deadline, std::vector<DockerEvent>* out) const;
  /// Opens the live event stream for this container; the connect is bounded by the deadline,
  /// reading it is not (interrupt() ends it).
  DockerError openEventStream(const std::string& container, const Deadline& connectDeadline,
                              DockerEventStreamPtr* stream) const;

 private:
  struct Response;
  DockerError request(const std::string& method, const std::string& path, const Deadline& deadline,
                      Response* response) const;

  std::string hostText_;
  DockerHost host_;
};

}  // namespace pgvigil
