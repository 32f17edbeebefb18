// diagnose's catalogue and report: a problem never contradicts the one classifier's cause, and
// the JSON report says what the text says, redacted.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "app/diagnose/problems.h"
#include "app/diagnose/report.h"

using namespace pgvigil;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diagnose_report)

BOOST_AUTO_TEST_CASE(a_problem_stays_within_the_classifiers_cause) {
  // Outside the array: clang -Wstring-concatenation flags a literal split in two inside one.
  const char* hotStandbyOff =
      "the database system is not accepting connections (Hot standby mode is disabled.)";
  const char* messages[] = {"",
                            "Connection refused",
                            "No such file or directory",
                            "No route to host",
                            "server does not support SSL, but SSL was required",
                            "root certificate file does not exist",
                            hotStandbyOff,
                            "no pg_hba.conf entry for host",
                            "password authentication failed for user \"x\"",
                            "fe_sendauth: no password supplied",
                            "Peer authentication failed for user \"x\"",
                            "role \"x\" does not exist",
                            "timeout in startup phase after 1.0s"};
  for (Cause c : kAllCauses) {
    for (Phase phase :
         {Phase::kDns, Phase::kConnect, Phase::kStartup, Phase::kAuth, Phase::kQuery}) {
      for (const char* m : messages) {
        const Problem p = problemFor(c, phase, m);
        BOOST_TEST_CONTEXT(toString(c) << " / " << toString(phase) << " / " << m) {
          if (c == Cause::kInternal && p == Problem::kSocketPermission) continue;
          BOOST_TEST(toString(causeOf(p)) == toString(c));
        }
      }
    }
  }
  BOOST_TEST(toString(problemFor(Cause::kNone, Phase::kNone, "")) == "none");
  BOOST_TEST(toString(problemFor(Cause::kTimeout, Phase::kConnect, "")) == "connect_timeout");
  BOOST_TEST(toString(problemFor(Cause::kTimeout, Phase::kStartup, "")) == "startup_timeout");
  BOOST_TEST(toString(problemFor(Cause::kTimeout, Phase::kQuery, "")) == "query_timeout");
  BOOST_TEST(toString(problemFor(Cause::kInternal, Phase::kConnect,
                                 "cannot connect to /run/x/.s.PGSQL.5432: Permission denied")) ==
             "socket_permission");
}

BOOST_AUTO_TEST_CASE(config_errors_are_listed_under_the_step_line) {
  StepReport s;
  s.step = "config";
  s.status = StepStatus::kFail;
  s.detail = "cannot use /x.yaml";
  s.errors = {"/x.yaml:3:5: unknown key 'intervall'"};
  s.advice = {"1 error(s) in the config", {"check it with: pgvigil config validate -c /x.yaml"}};
  const std::string text = formatStep(s);
  BOOST_TEST(text.find("cannot use /x.yaml\n    error:  /x.yaml:3:5: unknown key 'intervall'\n"
                       "    why:    1 error(s)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(result_lines) {
  TargetDiagnosis r;
  BOOST_TEST(resultLine(r) == "result: OK - every step passed");
  r.exit_code = 2;
  r.failed_step = "tcp";
  r.cause = Cause::kRefused;
  BOOST_TEST(resultLine(r) == "result: FAIL at tcp (refused)");
  r.exit_code = 3;
  r.failed_step = "config";
  r.cause = Cause::kNone;
  BOOST_TEST(resultLine(r) == "result: FAIL at config");
  r.name = "main";
  r.conninfo = "host=x password=*****";
  BOOST_TEST(headerLine(r) == "pgvigil diagnose main: host=x password=*****");
}

BOOST_AUTO_TEST_CASE(the_json_report_has_every_step_and_no_secret) {
  TargetDiagnosis r;
  r.name = "main";
  r.conninfo = "host=127.0.0.1 password=*****";
  r.exit_code = 2;
  r.failed_step = "auth";
  r.cause = Cause::kAuthFailed;
  StepReport ok;
  ok.step = "tcp";
  ok.status = StepStatus::kPass;
  ok.took = std::chrono::microseconds{1500};
  ok.detail = "connected to 127.0.0.1:5432";
  StepReport bad;
  bad.step = "auth";
  bad.status = StepStatus::kFail;
  bad.detail = "password authentication failed (tried s3cret-Pw)";
  bad.problem = Problem::kPasswordFailed;
  bad.cause = Cause::kAuthFailed;
  bad.phase = Phase::kAuth;
  bad.advice = {"the server rejected the password", {"set PGPASSWORD"}};
  StepReport skipped;
  skipped.step = "query";
  skipped.detail = "not run: an earlier step failed";
  r.steps = {ok, bad, skipped};

  const std::string json = reportJson({r}, 2, {"s3cret-Pw"});
  BOOST_TEST(json.find("s3cret-Pw") == std::string::npos);
  BOOST_TEST(json.back() == '\n');
  auto root = parse(json);
  BOOST_TEST(root->getValue<std::string>("status") == "FAIL");
  BOOST_TEST(root->getValue<int>("exit_code") == 2);
  auto t = root->getArray("targets")->getObject(0);
  BOOST_TEST(t->getValue<std::string>("name") == "main");
  BOOST_TEST(t->getValue<std::string>("failed_step") == "auth");
  BOOST_TEST(t->getValue<std::string>("cause") == "auth_failed");
  auto steps = t->getArray("steps");
  BOOST_REQUIRE(steps->size() == 3u);
  BOOST_TEST(steps->getObject(0)->getValue<std::string>("status") == "pass");
  BOOST_TEST(steps->getObject(0)->getValue<double>("took_seconds") == 0.0015);
  BOOST_TEST(steps->getObject(0)->isNull("cause"));
  auto failed = steps->getObject(1);
  BOOST_TEST(failed->getValue<std::string>("status") == "fail");
  BOOST_TEST(failed->getValue<std::string>("problem") == "password_failed");
  BOOST_TEST(failed->getValue<std::string>("cause") == "auth_failed");
  BOOST_TEST(failed->getValue<std::string>("phase") == "auth");
  BOOST_TEST(failed->getValue<std::string>("explanation") == "the server rejected the password");
  BOOST_TEST(failed->getArray("remedies")->size() == 1u);
  BOOST_TEST(steps->getObject(2)->getValue<std::string>("status") == "skip");
  BOOST_TEST(steps->getObject(2)->isNull("took_seconds"));
}

BOOST_AUTO_TEST_SUITE_END()
