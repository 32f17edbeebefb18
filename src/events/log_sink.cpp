#include "events/log_sink.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Exception.h>
#include <Poco/FileChannel.h>
#include <Poco/Message.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "events/event_format.h"

#if defined(_WIN32)
#include "events/windows/event_log.h"
#else
#include <Poco/SyslogChannel.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#endif
#if defined(PGVIGIL_HAVE_SYSTEMD)
#include <systemd/sd-journal.h>
#endif

namespace pgvigil {

class LogSink::Writer {
 public:
  virtual ~Writer() = default;
  /// Writes one finished line; returns "" or what went wrong.
  virtual std::string write(const AlertEvent& event, const std::string& line) = 0;
  virtual void flush() {}
};

namespace {

Poco::Message::Priority pocoPriority(EventLevel level) {
  switch (level) {
    case EventLevel::kDebug:
      return Poco::Message::PRIO_DEBUG;
    case EventLevel::kInfo:
      return Poco::Message::PRIO_INFORMATION;
    case EventLevel::kWarning:
      return Poco::Message::PRIO_WARNING;
    case EventLevel::kError:
      return Poco::Message::PRIO_ERROR;
    case EventLevel::kCritical:
      return Poco::Message::PRIO_CRITICAL;
  }
  return Poco::Message::PRIO_INFORMATION;
}

EventLevel threshold(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return EventLevel::kDebug;
    case LogLevel::kInfo:
      return EventLevel::kInfo;
    case LogLevel::kWarning:
      return EventLevel::kWarning;
    case LogLevel::kError:
      return EventLevel::kError;
  }
  return EventLevel::kInfo;
}

/// Any Poco channel: console, file, syslog, event log. The channel is closed (and so flushed)
/// with the writer.
class ChannelWriter : public LogSink::Writer {
 public:
  explicit ChannelWriter(Poco::AutoPtr<Poco::Channel> channel, std::ostream* stream = nullptr)
      : channel_(std::move(channel)), stream_(stream) {}
  ~ChannelWriter() override {
    try {
      flush();
      channel_->close();
    } catch (...) {  // nothing sensible left to do while shutting down
    }
  }
  std::string write(const AlertEvent& event, const std::string& line) override {
    try {
      channel_->log(Poco::Message("pgvigil", line, pocoPriority(event.level)));
    } catch (const Poco::Exception& e) {
      return e.displayText();
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  }
  void flush() override {
    if (stream_) stream_->flush();
  }

 protected:
  Poco::AutoPtr<Poco::Channel> channel_;
  std::ostream* stream_;
};

/// Poco's FileChannel rotates by size and archives by number (FILE.0 newest). Its own purge goes
/// by modification time, which cannot tell archives apart that were written within the same
/// second; the archive number can, so the writer deletes FILE.<keep> and older itself.
class FileWriter final : public ChannelWriter {
 public:
  FileWriter(Poco::AutoPtr<Poco::FileChannel> channel, std::string path, int keep)
      : ChannelWriter(channel), path_(std::move(path)), keep_(keep < 0 ? 0 : keep) {}
  std::string write(const AlertEvent& event, const std::string& line) override {
    std::string error = ChannelWriter::write(event, line);
    for (int n = keep_;; ++n) {
      std::error_code ec;
      if (!std::filesystem::remove(path_ + "." + std::to_string(n), ec)) break;
    }
    return error;
  }

 private:
  std::string path_;
  int keep_;
};

#if defined(_WIN32)
/// The Application event log, source "pgvigil" (events/windows/event_log.h): the level maps to
/// the entry type (debug and info: information; warning; error and critical: error).
class EventLogWriter final : public LogSink::Writer {
 public:
  explicit EventLogWriter(std::unique_ptr<WindowsEventLog> log) : log_(std::move(log)) {}
  std::string write(const AlertEvent& event, const std::string& line) override {
    const WORD type = event.level == EventLevel::kError || event.level == EventLevel::kCritical
                          ? EVENTLOG_ERROR_TYPE
                      : event.level == EventLevel::kWarning ? EVENTLOG_WARNING_TYPE
                                                            : EVENTLOG_INFORMATION_TYPE;
    const DWORD rc = log_->report(type, line);
    return rc == NO_ERROR ? std::string() : "ReportEventW failed with error " + std::to_string(rc);
  }

 private:
  std::unique_ptr<WindowsEventLog> log_;
};
#endif

#if defined(PGVIGIL_HAVE_SYSTEMD)
/// Native journald protocol through libsystemd. Extra fields become PGVIGIL_<KEY> (journal field
/// names are upper case letters, digits and '_', not starting with a digit, at most 64 bytes).
class JournaldWriter final : public LogSink::Writer {
 public:
  static constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

  std::string write(const AlertEvent& event, const std::string& line) override {
    std::vector<std::string> fields;
    fields.reserve(10 + event.fields.size());
    fields.push_back("MESSAGE=" + line);
    fields.push_back("PRIORITY=" + std::to_string(syslogPriority(event.level)));
    fields.push_back("SYSLOG_IDENTIFIER=pgvigil");
    std::vector<std::string> names;
    auto add = [&](std::string name, std::string_view value) {
      for (const auto& n : names)
        if (n == name) return;
      names.push_back(name);
      fields.push_back(name + "=" + sanitizeUtf8(value));
    };
    add("PGVIGIL_EVENT", event.event);
    add("PGVIGIL_LEVEL", toString(event.level));
    if (!event.target.empty()) add("PGVIGIL_TARGET", event.target);
    if (event.state) add("PGVIGIL_STATE", toString(*event.state));
    if (event.previous_state) add("PGVIGIL_PREVIOUS_STATE", toString(*event.previous_state));
    if (event.cause != Cause::kNone) add("PGVIGIL_CAUSE", toString(event.cause));
    for (const auto& [key, value] : event.fields) add(journalName(key), value);
    std::vector<iovec> iov(fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      iov[i].iov_base = fields[i].data();
      iov[i].iov_len = fields[i].size();
    }
    // libsystemd drops a message silently when the socket does not exist (journald not running);
    // check first, so the line goes to the fallback instead of nowhere.
    struct stat st;
    if (::stat(kJournalSocket, &st) != 0)
      return std::string("journald: ") + kJournalSocket + ": " + std::strerror(errno);
    int rc = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    if (rc < 0) return std::string("journald: ") + std::strerror(-rc);
    return {};
  }

  static std::string journalName(std::string_view key) {
    std::string name = "PGVIGIL_";
    for (char c : key) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      name.push_back(ok ? c : '_');
    }
    if (name.size() > 64) name.resize(64);
    return name;
  }
};
#endif

/// The file output's config-time check: the directory exists, is a directory and this user can
/// create and append to the file there. Returns "" or a one-line error naming the path.
std::string checkLogFile(const std::string& file) {
  namespace fs = std::filesystem;
  if (file.empty()) return "log.file is empty but log.output is file";
  fs::path path(file);
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  auto status = fs::status(dir, ec);
  if (!fs::exists(status))
    return "log file " + file + ": directory " + dir.string() + " does not exist";
  if (!fs::is_directory(status))
    return "log file " + file + ": " + dir.string() + " is not a directory";
#if defined(_WIN32)
  if (!std::ofstream(file, std::ios::app))
    return "log file " + file + ": cannot open for writing in " + dir.string();
#else
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    int err = errno;
    if (err == EACCES || err == EPERM || err == EROFS)
      return "log file " + file + ": directory " + dir.string() +
             " is not writable by this user (" + std::strerror(err) + ")";
    if (err == EISDIR) return "log file " + file + " is a directory";
    return "log file " + file + ": cannot open (" + std::strerror(err) + ")";
  }
  ::close(fd);
#endif
  return {};
}

std::string rotationProperty(std::uint64_t bytes) {
  // FileChannel reads the size into an int: express large sizes in K (or M) instead.
  if (bytes <= static_cast<std::uint64_t>(INT_MAX)) return std::to_string(bytes == 0 ? 1 : bytes);
  if (bytes / 1024 <= static_cast<std::uint64_t>(INT_MAX))
    return std::to_string(bytes / 1024) + " K";
  std::uint64_t mb = bytes / (1024 * 1024);
  return std::to_string(mb > INT_MAX ? INT_MAX : mb) + " M";
}

}  // namespace

int syslogPriority(EventLevel level) {
  switch (level) {
    case EventLevel::kDebug:
      return 7;
    case EventLevel::kInfo:
      return 6;
    case EventLevel::kWarning:
      return 4;
    case EventLevel::kError:
      return 3;
    case EventLevel::kCritical:
      return 2;
  }
  return 6;
}

LogSink::Result LogSink::create(const LogConfig& config, LogSinkOptions options) {
  if (!options.clock) options.clock = &SystemClock::instance();
  std::unique_ptr<Writer> writer;
  try {
    switch (config.output) {
      case LogOutput::kStdout:
      case LogOutput::kStderr: {
        std::ostream& stream = options.console                       ? *options.console
                               : config.output == LogOutput::kStdout ? std::cout
                                                                     : std::cerr;
        writer = std::make_unique<ChannelWriter>(
            Poco::AutoPtr<Poco::Channel>(new Poco::ConsoleChannel(stream)), &stream);
        break;
      }
      case LogOutput::kFile: {
        if (std::string error = checkLogFile(config.file); !error.empty()) return {nullptr, error};
        Poco::AutoPtr<Poco::FileChannel> channel(new Poco::FileChannel(config.file));
        channel->setProperty(Poco::FileChannel::PROP_ROTATION,
                             rotationProperty(config.rotate_size));
        channel->setProperty(Poco::FileChannel::PROP_ARCHIVE, "number");
        channel->setProperty(Poco::FileChannel::PROP_TIMES, "utc");
        channel->setProperty(Poco::FileChannel::PROP_FLUSH, "true");
        channel->open();
        writer = std::make_unique<FileWriter>(channel, config.file, config.rotate_keep);
        break;
      }
      case LogOutput::kSyslog: {
#if defined(_WIN32)
        return {nullptr, "syslog is not available on Windows; use eventlog"};
#else
        Poco::AutoPtr<Poco::Channel> channel(new Poco::SyslogChannel(
            "pgvigil", Poco::SyslogChannel::SYSLOG_PID, Poco::SyslogChannel::SYSLOG_DAEMON));
        channel->open();
        writer = std::make_unique<ChannelWriter>(channel);
        break;
#endif
      }
      case LogOutput::kJournald: {
#if defined(PGVIGIL_HAVE_SYSTEMD)
        writer = std::make_unique<JournaldWriter>();
        break;
#else
        return {nullptr, "journald is only available on Linux with systemd"};
#endif
      }
      case LogOutput::kEventlog: {
#if defined(_WIN32)
        DWORD error = 0;
        auto log = WindowsEventLog::open(L"pgvigil", &error);
        if (!log)
          return {nullptr, "event log source pgvigil: RegisterEventSourceW failed with error " +
                               std::to_string(error)};
        writer = std::make_unique<EventLogWriter>(std::move(log));
        break;
#else
        return {nullptr, "eventlog is only available on Windows"};
#endif
      }
    }
  } catch (const Poco::Exception& e) {
    return {nullptr, "log output " + std::string(toString(config.output)) + ": " + e.displayText()};
  } catch (const std::exception& e) {
    return {nullptr, "log output " + std::string(toString(config.output)) + ": " + e.what()};
  }
  if (!writer) return {nullptr, "unknown log output"};
  return {std::unique_ptr<LogSink>(new LogSink(config, options, std::move(writer))), {}};
}

LogSink::LogSink(const LogConfig& config, LogSinkOptions options, std::unique_ptr<Writer> writer)
    : config_(config), options_(options), writer_(std::move(writer)) {}

LogSink::~LogSink() {
  std::lock_guard lock(mutex_);
  writer_.reset();  // flushes and closes the channel
}

bool LogSink::accepts(EventLevel level) const {
  return level == EventLevel::kCritical || level >= threshold(config_.level);
}

void LogSink::emit(const AlertEvent& event) {
  if (!accepts(event.level)) return;
  write(event);
}

void LogSink::log(EventLevel level, std::string_view msg, const EventFields& fields) {
  if (!accepts(level)) return;
  write(makeAgentLogEvent(level, msg, fields, options_.clock->wallNow()));
}

void LogSink::write(const AlertEvent& event) {
  AlertEvent clean = redactor_.apply(event);
  std::string line =
      config_.format == LogFormat::kJson ? formatEventJson(clean) : formatEventText(clean);
  line = redactor_.applyKnown(line);
  std::lock_guard lock(mutex_);
  std::string error = writer_->write(clean, line);
  if (error.empty()) return;
  ++writeErrors_;
  lastError_ = redactor_.apply(error);
  std::ostream& fallback = options_.fallback ? *options_.fallback : std::cerr;
  fallback << line << '\n';
  fallback.flush();
}

void LogSink::flush() {
  std::lock_guard lock(mutex_);
  writer_->flush();
}

std::uint64_t LogSink::writeErrors() const {
  std::lock_guard lock(mutex_);
  return writeErrors_;
}

std::string LogSink::lastError() const {
  std::lock_guard lock(mutex_);
  return lastError_;
}

}  // namespace pgvigil
