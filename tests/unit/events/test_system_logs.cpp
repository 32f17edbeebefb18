// syslog and journald outputs, end to end through the real libc syslog() and libsystemd
// sd_journal_sendv() calls. Their socket paths are fixed (/dev/log, /run/systemd/journal/socket),
// so each scenario runs in a forked child inside its own mount namespace with a private tmpfs on
// /dev or /run: the child binds the socket there and reads what the sink sent, and nothing on the
// host is touched. The child hands the bytes back through a pipe; the parent checks them.
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "events/event_format.h"
#include "events/log_sink.h"
#include "events_test_util.h"

using namespace pgvigil;
using namespace pgvigil::test;

namespace {

constexpr int kNoNamespace = 77;

/// Runs `body` in a child with a private mount namespace and an empty tmpfs on `mountPoint`.
/// Returns what body returned, or nullopt when this machine does not allow mount namespaces.
std::optional<std::string> inPrivateMount(const char* mountPoint,
                                          const std::function<std::string()>& body) {
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mountPoint, "tmpfs", 0, "size=1m") != 0)
      ::_exit(kNoNamespace);
    std::string out;
    try {
      out = body();
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
    }
    for (std::size_t done = 0; done < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) ::_exit(2);
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST_REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kNoNamespace) return std::nullopt;
  BOOST_TEST_REQUIRE(WEXITSTATUS(status) == 0);
  return got;
}

/// A datagram socket bound at `path`, with a receive timeout so a lost message fails the test.
int bindDatagram(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("bind " + path + ": " + std::strerror(errno));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string receive(int fd) {
  std::string buf(65536, '\0');
  ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
  buf.resize(std::size_t(n));
  return buf;
}

/// Decodes journald's native protocol: "KEY=value\n", or "KEY\n" + 64-bit LE length + data + "\n"
/// for values with newlines.
std::map<std::string, std::string> parseJournal(const std::string& d) {
  std::map<std::string, std::string> fields;
  std::size_t i = 0;
  while (i < d.size()) {
    std::size_t nl = d.find('\n', i);
    BOOST_TEST_REQUIRE(nl != std::string::npos);
    std::string head = d.substr(i, nl - i);
    auto eq = head.find('=');
    if (eq != std::string::npos) {
      fields[head.substr(0, eq)] = head.substr(eq + 1);
      i = nl + 1;
      continue;
    }
    BOOST_TEST_REQUIRE(nl + 9 <= d.size());
    std::uint64_t len = 0;
    for (int b = 7; b >= 0; --b) len = (len << 8) | static_cast<unsigned char>(d[nl + 1 + b]);
    fields[head] = d.substr(nl + 9, len);
    i = nl + 9 + len + 1;
  }
  return fields;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(system_logs)

BOOST_AUTO_TEST_CASE(test_JournaldNotRunningLosesNothingAndDoesNotFail) {
  auto got = inPrivateMount("/run", [] {
    std::ostringstream fallback;
    LogConfig c;
    c.output = LogOutput::kJournald;
    auto built = LogSink::create(c, {.fallback = &fallback});
    if (!built.sink) return "create failed: " + built.error;
    built.sink->emit(sampleEvent());
    built.sink->emit(sampleEvent(EventLevel::kCritical));
    return std::to_string(built.sink->writeErrors()) + "|" + built.sink->lastError() + "|" +
           fallback.str();
  });
  if (!got) {
    BOOST_TEST_MESSAGE("no mount namespaces here: journald fallback checked without isolation");
    std::ostringstream fallback;
    LogConfig c;
    c.output = LogOutput::kJournald;
    auto built = LogSink::create(c, {.fallback = &fallback});
    BOOST_TEST_REQUIRE(built.sink != nullptr);
    BOOST_CHECK_NO_THROW(built.sink->emit(sampleEvent()));
    return;
  }
  auto sample = formatEventText(sampleEvent());
  auto critical = formatEventText(sampleEvent(EventLevel::kCritical));
  BOOST_TEST(*got == "2|journald: /run/systemd/journal/socket: No such file or directory|" +
                         sample + "\n" + critical + "\n");
}

BOOST_AUTO_TEST_CASE(test_JournaldGetsMessageAndStructuredFields) {
  AlertEvent event = sampleEvent();
  event.msg = "FATAL: refused\nsecond line s3cret";
  event.fields = {{"attempt", "3"}, {"next restart", "20s"}};
  auto got = inPrivateMount("/run", [&event] {
    ::mkdir("/run/systemd", 0755);
    ::mkdir("/run/systemd/journal", 0755);
    int fd = bindDatagram("/run/systemd/journal/socket");
    LogConfig c;
    c.output = LogOutput::kJournald;
    c.format = LogFormat::kJson;
    auto built = LogSink::create(c);
    if (!built.sink) return "create failed: " + built.error;
    built.sink->setSecrets({"s3cret"});
    built.sink->emit(event);
    std::string datagram = receive(fd);
    std::string errorsBefore = std::to_string(built.sink->writeErrors());
    ::close(fd);  // the socket file stays, nobody reads it: journald died
    std::ostringstream fallback;
    built.sink.reset();
    auto again = LogSink::create(c, {.fallback = &fallback});
    again.sink->emit(sampleEvent());
    std::string after = std::to_string(again.sink->writeErrors()) + " " + again.sink->lastError() +
                        " " + std::to_string(fallback.str().size());
    return errorsBefore + "\n" + after + "\n" + datagram;
  });
  if (!got) {
    BOOST_TEST_MESSAGE("no mount namespaces here: journald protocol not checked");
    return;
  }
  BOOST_TEST_REQUIRE(got->starts_with("0\n"), *got);
  std::size_t secondLine = got->find('\n', 2);
  BOOST_TEST_REQUIRE(secondLine != std::string::npos);
  const std::string fallbackBytes = std::to_string(formatEventJson(sampleEvent()).size() + 1);
  BOOST_TEST(got->substr(2, secondLine - 2) == "1 journald: Connection refused " + fallbackBytes);
  auto fields = parseJournal(got->substr(secondLine + 1));
  AlertEvent redacted = event;
  redacted.msg = "FATAL: refused\nsecond line *****";
  BOOST_TEST(fields["MESSAGE"] == formatEventJson(redacted));
  BOOST_TEST(fields["PRIORITY"] == "3");
  BOOST_TEST(fields["SYSLOG_IDENTIFIER"] == "pgvigil");
  BOOST_TEST(fields["PGVIGIL_EVENT"] == "target_unhealthy");
  BOOST_TEST(fields["PGVIGIL_LEVEL"] == "error");
  BOOST_TEST(fields["PGVIGIL_TARGET"] == "main");
  BOOST_TEST(fields["PGVIGIL_STATE"] == "unhealthy");
  BOOST_TEST(fields["PGVIGIL_PREVIOUS_STATE"] == "healthy");
  BOOST_TEST(fields["PGVIGIL_CAUSE"] == "refused");
  BOOST_TEST(fields["PGVIGIL_ATTEMPT"] == "3");
  BOOST_TEST(fields["PGVIGIL_NEXT_RESTART"] == "20s");
  BOOST_TEST(got->find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_SyslogGetsDaemonFacilityAndIdent) {
  auto got = inPrivateMount("/dev", [] {
    int fd = bindDatagram("/dev/log");
    LogConfig c;
    c.output = LogOutput::kSyslog;
    c.level = LogLevel::kWarning;
    std::string out;
    {
      auto built = LogSink::create(c);
      if (!built.sink) return "create failed: " + built.error;
      built.sink->emit(sampleEvent(EventLevel::kError));
      out += receive(fd) + "\n";
      built.sink->emit(sampleEvent(EventLevel::kInfo));  // filtered: not received
      built.sink->emit(sampleEvent(EventLevel::kCritical));
      out += receive(fd);
    }
    ::close(fd);
    return out;
  });
  if (!got) {
    BOOST_TEST_MESSAGE("no mount namespaces here: syslog not checked");
    return;
  }
  auto lines = splitLines(*got);
  BOOST_TEST_REQUIRE(lines.size() == 2u, *got);
  // <facility daemon (3) * 8 + severity>: error 3 -> 27, critical 2 -> 26.
  const std::string pid = "pgvigil[";
  BOOST_TEST(lines[0].starts_with("<27>"));
  BOOST_TEST(lines[0].find(pid) != std::string::npos);
  BOOST_TEST(lines[0].ends_with(": " + formatEventText(sampleEvent(EventLevel::kError))));
  BOOST_TEST(lines[1].starts_with("<26>"));
  BOOST_TEST(lines[1].ends_with(": " + formatEventText(sampleEvent(EventLevel::kCritical))));
}

BOOST_AUTO_TEST_SUITE_END()
