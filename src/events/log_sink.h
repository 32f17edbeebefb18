// The alert log's output (docs/reference.md §2 agent.log, §6): events and agent diagnostics as one
// line each, text or JSON, to stdout, stderr, a rotated file, syslog, journald or (on Windows) the
// event log.
//
// Writes are synchronous, under the sink's own lock: events are rare (one per state change), so
// there is nothing to gain from an AsyncChannel queue and a great deal to lose — an event that
// emit() has returned from is already in the file, on the terminal or with the log daemon, and
// nothing is lost when the agent exits. The destructor flushes and closes the channel.
//
// Level: events below agent.log.level are dropped; critical always passes.
// Redaction (redactor.h): every string of the event passes through the secrets given to
// setSecrets() and the password patterns; then the finished line through the secrets again.
// File output: Poco FileChannel, rotated when the file reaches rotate.size; archives are
// FILE.0 (newest) .. FILE.<keep-1>, older ones are deleted after each rotation (keep 0: none).
// journald: MESSAGE is the formatted line; PRIORITY, SYSLOG_IDENTIFIER=pgvigil,
// PGVIGIL_EVENT/TARGET/STATE/PREVIOUS_STATE/CAUSE/LEVEL and each extra field as PGVIGIL_<KEY>
// are journal fields. When journald is not reachable the line goes to stderr instead and the
// failure is counted: the event is not lost and the agent does not stop.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/alert_event.h"
#include "core/clock.h"
#include "core/config.h"
#include "events/agent_log.h"
#include "events/redactor.h"

namespace pgvigil {

struct LogSinkOptions {
  /// Time stamps for agent_log diagnostics (events carry their own).
  const Clock* clock = &SystemClock::instance();
  /// Replaces std::cout / std::cerr for output stdout / stderr (tests).
  std::ostream* console = nullptr;
  /// Where a line goes when journald cannot take it (std::cerr when null).
  std::ostream* fallback = nullptr;
};

class LogSink final : public AlertSink, public AgentLog {
 public:
  struct [[nodiscard]] Result {
    std::unique_ptr<LogSink> sink;  ///< null on error
    std::string error;  ///< one line, e.g. "log file /x/y.log: directory /x does not exist"
  };

  /// Builds the sink and opens its output, so a bad path or an output this platform does not
  /// have is a config-time error, not a lost event later.
  static Result create(const LogConfig& config, LogSinkOptions options = {});

  ~LogSink() override;
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  /// Thread-safe; one whole line per event, never interleaved with another.
  void emit(const AlertEvent& event) override;
  /// A diagnostic as an "agent_log" line (see agent_log.h). Thread-safe.
  void log(EventLevel level, std::string_view msg, const EventFields& fields) override;

  /// Whether an event of this level passes the configured level.
  bool accepts(EventLevel level) const;
  void setSecrets(std::vector<std::string> secrets) { redactor_.setSecrets(std::move(secrets)); }
  void flush();

  const LogConfig& config() const { return config_; }
  /// Lines the output refused (journald not running, ...). They went to the fallback stream.
  std::uint64_t writeErrors() const;
  std::string lastError() const;

  class Writer;  ///< one per output kind; internal

 private:
  LogSink(const LogConfig& config, LogSinkOptions options, std::unique_ptr<Writer> writer);
  void write(const AlertEvent& event);

  LogConfig config_;
  LogSinkOptions options_;
  Redactor redactor_;
  mutable std::mutex mutex_;
  std::unique_ptr<Writer> writer_;
  std::uint64_t writeErrors_ = 0;
  std::string lastError_;
};

/// The syslog/journald priority of an event level (debug 7 ... critical 2).
int syslogPriority(EventLevel level);

}  // namespace pgvigil
