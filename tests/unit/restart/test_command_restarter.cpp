// CommandRestarter's escalation on a FakeClock with a scripted fake launcher: which signals go
// out when, and what the outcome says. Real processes: tests/integration/test_command_restarter.
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <optional>

#include "restart/command_restarter.h"
#include "restart_printers.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

/// A child that lives on the FakeClock: it exits at a scripted time or when a signal it does
/// not ignore arrives, and records every signal sent to its group (with when).
struct Script {
  std::optional<Millis> exitAfter;  ///< exits by itself after this long (nullopt: never)
  int exitCode = 0;
  bool ignoresTerm = false;
  Millis termTakes{0};  ///< how long it needs to exit after SIGTERM
  bool canAsk = true;   ///< false: a Windows child, which has no polite stop
  std::string output;
};

struct SentSignal {
  int signal;
  Millis at;  ///< since spawn
};

class FakeChild final : public ChildProcess {
 public:
  FakeChild(FakeClock& clock, Script script, std::vector<SentSignal>& sent, bool& reaped)
      : clock_(clock),
        script_(std::move(script)),
        spawnedAt_(clock.now()),
        sent_(sent),
        reaped_(reaped) {
    if (script_.exitAfter) {
      exitAt_ = spawnedAt_ + *script_.exitAfter;
      status_.code = script_.exitCode;
    }
    output_.append(script_.output);
  }
  pid_t pid() const override { return 4242; }
  bool waitExit(const Deadline& until) override {
    if (exitAt_ && *exitAt_ <= until.at()) {
      if (*exitAt_ > clock_.now()) clock_.advance(*exitAt_ - clock_.now());
      return true;
    }
    if (until.at() > clock_.now()) clock_.advance(until.at() - clock_.now());
    return false;
  }
  void signalGroup(int signal) override {
    sent_.push_back({signal, std::chrono::duration_cast<Millis>(clock_.now() - spawnedAt_)});
    if (exitAt_ && *exitAt_ <= clock_.now()) return;  // already exited
    if (signal == kSignalKill) {
      exitAt_ = clock_.now();
      status_ = ExitStatus{true, 0, kSignalKill};
    } else if (signal == kSignalTerm && !script_.ignoresTerm) {
      exitAt_ = clock_.now() + script_.termTakes;
      status_ = ExitStatus{true, 0, kSignalTerm};
    }
  }
  bool canAskToStop() const override { return script_.canAsk; }
  ExitStatus reap() override {
    BOOST_REQUIRE(exitAt_ && *exitAt_ <= clock_.now());  // reaping a running child would block
    reaped_ = true;
    return status_;
  }
  const BoundedOutput& output() const override { return output_; }

 private:
  FakeClock& clock_;
  Script script_;
  SteadyTime spawnedAt_;
  std::optional<SteadyTime> exitAt_;
  ExitStatus status_;
  BoundedOutput output_;
  std::vector<SentSignal>& sent_;
  bool& reaped_;
};

class FakeLauncher final : public ProcessLauncher {
 public:
  explicit FakeLauncher(FakeClock& clock) : clock_(clock) {}
  SpawnResult spawn(const std::vector<std::string>& argv) override {
    spawned.push_back(argv);
    if (spawnError) return {nullptr, spawnError};
    return {std::make_unique<FakeChild>(clock_, script, sent, reaped), 0};
  }
  Script script;
  int spawnError = 0;
  std::vector<std::vector<std::string>> spawned;
  std::vector<SentSignal> sent;
  bool reaped = false;

 private:
  FakeClock& clock_;
};

struct Fixture {
  FakeClock clock;
  FakeLauncher launcher{clock};
  CommandRestarter restarter{{"/usr/bin/pg-restart", "/var/lib/pg"}, launcher, clock};
  RestartOutcome run(Millis timeout = 60s) { return restarter.restart(Deadline(clock, timeout)); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(command_restarter)

BOOST_FIXTURE_TEST_CASE(test_ExitZeroSucceeds, Fixture) {
  launcher.script.exitAfter = 3s;
  auto out = run();
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded);
  BOOST_TEST(out.detail == "exited 0");
  BOOST_TEST(out.took.count() == 3000);
  BOOST_TEST(launcher.sent.empty());  // a command that finishes in time is never signalled
  BOOST_TEST(launcher.reaped);
  BOOST_REQUIRE(launcher.spawned.size() == 1u);
  BOOST_TEST(launcher.spawned[0][0] == "/usr/bin/pg-restart");
}

BOOST_FIXTURE_TEST_CASE(test_NonZeroExitFailsWithItsLastLine, Fixture) {
  launcher.script.exitAfter = 1s;
  launcher.script.exitCode = 1;
  launcher.script.output = "stopping\npg_ctl: could not start server\n\n";
  auto out = run();
  BOOST_TEST(out.result == RestartOutcome::Result::kFailed);
  BOOST_TEST(out.detail == "exited 1: pg_ctl: could not start server");
  BOOST_TEST(out.output == launcher.script.output);
}

BOOST_FIXTURE_TEST_CASE(test_SpawnFailureSaysWhichFile, Fixture) {
  launcher.spawnError = ENOENT;
  auto out = run();
  BOOST_TEST(out.result == RestartOutcome::Result::kSpawnFailed);
  BOOST_TEST(out.detail == "no such file: /usr/bin/pg-restart");
  launcher.spawnError = EACCES;
  BOOST_TEST(run().detail == "permission denied: /usr/bin/pg-restart");
}

BOOST_FIXTURE_TEST_CASE(test_TimeoutSendsTermThenStragglersGetKill, Fixture) {
  launcher.script.termTakes = 300ms;  // obeys SIGTERM, a little slowly
  auto out = run(60s);
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(out.detail == "killed after 1m timeout (SIGTERM)");
  // SIGTERM at deadline - 2 s grace - 0.5 s margin; then SIGKILL for what it left in its group.
  BOOST_REQUIRE(launcher.sent.size() == 2u);
  BOOST_TEST(launcher.sent[0].signal == kSignalTerm);
  BOOST_TEST(launcher.sent[0].at.count() == 57500);
  BOOST_TEST(launcher.sent[1].signal == kSignalKill);
  BOOST_TEST(launcher.sent[1].at.count() == 57800);
  BOOST_TEST(out.took <= Millis(60s));
  BOOST_TEST(launcher.reaped);
}

BOOST_FIXTURE_TEST_CASE(test_IgnoredTermEscalatesToKillWithinTheDeadline, Fixture) {
  launcher.script.ignoresTerm = true;
  auto out = run(60s);
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(out.detail == "killed after 1m timeout (SIGKILL: it ignored SIGTERM)");
  BOOST_REQUIRE(launcher.sent.size() == 2u);
  BOOST_TEST(launcher.sent[0].signal == kSignalTerm);
  BOOST_TEST(launcher.sent[1].signal == kSignalKill);
  BOOST_TEST(launcher.sent[1].at.count() == 59500);  // 2 s after SIGTERM
  BOOST_TEST(out.took.count() == 59500);
  BOOST_TEST(launcher.reaped);
}

BOOST_FIXTURE_TEST_CASE(test_ShortDeadlineScalesTheGrace, Fixture) {
  launcher.script.ignoresTerm = true;
  auto out = run(1s);  // grace = 1/4, margin = 1/10 of the budget
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(out.detail == "killed after 1s timeout (SIGKILL: it ignored SIGTERM)");
  BOOST_REQUIRE(launcher.sent.size() == 2u);
  BOOST_TEST(launcher.sent[0].at.count() == 650);
  BOOST_TEST(launcher.sent[1].at.count() == 900);
  BOOST_TEST(out.took <= Millis(1s));
}

BOOST_FIXTURE_TEST_CASE(test_WithoutPoliteStopTheKillComesAtTheDeadline, Fixture) {
  // Windows: no SIGTERM, so no grace is kept for one; the job is terminated at the deadline
  // less the reap margin, and the detail says how it ended.
  launcher.script.canAsk = false;
  auto out = run(60s);
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(out.detail == "killed after 1m timeout (terminated: no polite stop on this platform)");
  BOOST_REQUIRE(launcher.sent.size() == 1u);
  BOOST_TEST(launcher.sent[0].signal == kSignalKill);
  BOOST_TEST(launcher.sent[0].at.count() == 59500);
  BOOST_TEST(out.took.count() == 59500);
  BOOST_TEST(launcher.reaped);
}

BOOST_FIXTURE_TEST_CASE(test_WithoutPoliteStopTheGraceIsRunTime, Fixture) {
  launcher.script.canAsk = false;
  launcher.script.exitAfter = 59s;  // past the SIGTERM point, before the kill
  auto out = run(60s);
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded);
  BOOST_TEST(launcher.sent.empty());
}

BOOST_FIXTURE_TEST_CASE(test_ExitJustBeforeTheTermPointIsASuccess, Fixture) {
  launcher.script.exitAfter = 57499ms;
  auto out = run(60s);
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded);
  BOOST_TEST(launcher.sent.empty());
}

BOOST_FIXTURE_TEST_CASE(test_NoTimeLeftSpawnsNothing, Fixture) {
  auto out = run(0ms);
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(launcher.spawned.empty());
}

BOOST_AUTO_TEST_CASE(test_EmptyCommandIsASpawnFailure) {
  FakeClock clock;
  FakeLauncher launcher(clock);
  CommandRestarter restarter({}, launcher, clock);
  auto out = restarter.restart(Deadline(clock, 10s));
  BOOST_TEST(out.result == RestartOutcome::Result::kSpawnFailed);
  BOOST_TEST(launcher.spawned.empty());
}

BOOST_FIXTURE_TEST_CASE(test_OutputIsRedacted, Fixture) {
  launcher.script.exitAfter = 1s;
  launcher.script.exitCode = 2;
  launcher.script.output = "connecting with host=db password=hunter2 user=x\n";
  auto out = run();
  BOOST_TEST(out.output.find("hunter2") == std::string::npos);
  BOOST_TEST(out.detail.find("hunter2") == std::string::npos);
  BOOST_TEST(out.detail.find("exited 2: connecting with host=db") == 0u);
}

BOOST_AUTO_TEST_CASE(test_KnownSecretsAreRedactedToo) {
  FakeClock clock;
  FakeLauncher launcher(clock);
  launcher.script.exitAfter = 1s;
  launcher.script.output = "token s3cr3t-token in use\n";
  CommandRestarterOptions options;
  options.secrets = {"s3cr3t-token"};
  CommandRestarter restarter({"/bin/x"}, launcher, clock, options);
  auto out = restarter.restart(Deadline(clock, 10s));
  BOOST_TEST(out.output.find("s3cr3t-token") == std::string::npos);
  BOOST_TEST(out.output.find("token ") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(process_launcher_names)

BOOST_AUTO_TEST_CASE(test_DescribeExitStatus) {
  BOOST_TEST(describe(ExitStatus{false, 0, 0}) == "exited 0");
  BOOST_TEST(describe(ExitStatus{false, 3, 0}) == "exited 3");
  BOOST_TEST(describe(ExitStatus{true, 0, kSignalKill}) == "killed by signal 9 (SIGKILL)");
  BOOST_TEST(describe(ExitStatus{true, 0, kSignalTerm}) == "killed by signal 15 (SIGTERM)");
  ExitStatus lost;
  lost.lost = true;
  BOOST_TEST(describe(lost) == "exit status lost");
  BOOST_TEST(!lost.success());
}

BOOST_AUTO_TEST_CASE(test_BoundedOutputKeepsHeadAndTail) {
  BoundedOutput small(8);
  small.append("abc");
  BOOST_TEST(small.text() == "abc");
  BOOST_TEST(small.dropped() == 0u);

  BoundedOutput out(8);  // 4 bytes of head, 4 of tail
  out.append("0123");
  out.append("456789ABCDEF");
  BOOST_TEST(out.total() == 16u);
  BOOST_TEST(out.dropped() == 8u);
  BOOST_TEST(out.text() == "0123\n[... 8 bytes dropped ...]\nCDEF");

  BoundedOutput huge;  // the default 8 KiB
  std::string chunk(1000, 'x');
  for (int i = 0; i < 1000; ++i) huge.append(chunk);
  huge.append("THE END");
  BOOST_TEST(huge.dropped() == 1'000'007u - 8192u);
  BOOST_TEST(huge.text().size() < 8300u);
  BOOST_TEST(huge.text().substr(huge.text().size() - 7) == "THE END");
}

BOOST_AUTO_TEST_SUITE_END()
