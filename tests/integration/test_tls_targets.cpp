// TLS targets against a real PostgreSQL 15 with ssl = on and a CA made here with the openssl CLI
// (issue 11): sslmode=require, verify-ca and verify-full with the right CA pass; a wrong CA, a
// wrong host name and sslmode=require against a server without TLS fail as cause `tls`, and
// `diagnose` says why in plain words and what to change.
#define BOOST_TEST_MODULE test_tls_targets
#include <boost/test/unit_test.hpp>

#include "check_support.h"
#include "support/pg_cluster.h"
#include "support/test_pki.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

/// The PKI of support/test_pki.h in a temp dir of its own.
struct Pki {
  TempDir dir;
  TestPki files = makeTestPki(dir.path());
};

struct Outcome {
  Run check;
  Run diag;
  Poco::JSON::Object::Ptr root;
  Poco::JSON::Object::Ptr target;
};

Outcome runBoth(const std::string& conninfo) {
  TempDir tmp;
  const std::string config =
      tmp.write("pgvigil.yaml", configYaml(targetYaml("main", conninfo, "    timeout: 3s\n")));
  Outcome o;
  o.check = runPgvigil({"check", "-c", config, "--format", "json"});
  o.root = parseJson(o.check.out);
  o.target = o.root->getArray("targets")->getObject(0);
  o.diag = runPgvigil({"diagnose", "-c", config});
  return o;
}

std::string at(const PgCluster& pg, const std::string& host, const std::string& extra) {
  return "host=" + host + " hostaddr=127.0.0.1 port=" + std::to_string(pg.port()) +
         " dbname=postgres user=postgres connect_timeout=5 " + extra;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_targets)

BOOST_AUTO_TEST_CASE(right_ca_passes_wrong_ca_and_wrong_host_are_tls) {
  Pki pki;
  PgCluster pg({.ssl_cert_file = pki.files.cert, .ssl_key_file = pki.files.key});

  for (const std::string mode : {"require", "verify-ca", "verify-full"}) {
    Outcome ok = runBoth(at(pg, "localhost", "sslmode=" + mode + " sslrootcert=" + pki.files.ca));
    BOOST_TEST_INFO(mode << "\n" << ok.check.all() << ok.diag.all());
    BOOST_TEST(ok.check.code == 0);
    BOOST_TEST(ok.root->getValue<std::string>("status") == "OK");
    BOOST_TEST(ok.diag.code == 0);
    BOOST_TEST(contains(ok.diag.out, "\u2713 tls"));
    BOOST_TEST(contains(ok.diag.out, "result: OK"));
  }

  // A CA that did not sign the server's certificate.
  for (const std::string mode : {"verify-ca", "verify-full"}) {
    Outcome bad =
        runBoth(at(pg, "localhost", "sslmode=" + mode + " sslrootcert=" + pki.files.other_ca));
    BOOST_TEST_INFO(mode << "\n" << bad.check.all() << bad.diag.all());
    BOOST_TEST(bad.check.code == 2);
    BOOST_TEST(bad.target->getValue<std::string>("cause") == "tls");
    BOOST_TEST(bad.diag.code == 2);
    BOOST_TEST(contains(bad.diag.out, "cause:  tls"));
    BOOST_TEST(contains(bad.diag.out, "certificate could not be verified"));
    BOOST_TEST(contains(bad.diag.out, "sslrootcert=/path/ca.crt"));
    BOOST_TEST(contains(bad.diag.out, "result: FAIL at tls (tls)"));
  }

  // The right CA, but the certificate names localhost, not 127.0.0.1: only verify-full cares.
  Outcome caOnly = runBoth(at(pg, "127.0.0.1", "sslmode=verify-ca sslrootcert=" + pki.files.ca));
  BOOST_TEST_INFO(caOnly.check.all());
  BOOST_TEST(caOnly.check.code == 0);
  Outcome host = runBoth(at(pg, "127.0.0.1", "sslmode=verify-full sslrootcert=" + pki.files.ca));
  BOOST_TEST_INFO(host.check.all() << host.diag.all());
  BOOST_TEST(host.check.code == 2);
  BOOST_TEST(host.target->getValue<std::string>("cause") == "tls");
  BOOST_TEST(contains(host.check.out, "does not match host name"));
  BOOST_TEST(contains(host.diag.out, "cause:  tls"));
  BOOST_TEST(contains(host.diag.out, "must name host '127.0.0.1'"));

  // verify-ca with a CA file that is not there.
  Outcome noCa = runBoth(at(pg, "localhost", "sslmode=verify-ca sslrootcert=/nonexistent/ca.crt"));
  BOOST_TEST_INFO(noCa.check.all() << noCa.diag.all());
  BOOST_TEST(noCa.check.code == 2);
  BOOST_TEST(noCa.target->getValue<std::string>("cause") == "tls");
  BOOST_TEST(contains(noCa.check.out, "root certificate file"));
  BOOST_TEST(contains(noCa.diag.out, "certificate could not be verified"));
}

BOOST_AUTO_TEST_CASE(require_against_a_server_without_tls_is_tls) {
  PgCluster pg;
  Outcome o = runBoth(at(pg, "127.0.0.1", "sslmode=require"));
  BOOST_TEST_INFO(o.check.all() << o.diag.all());
  BOOST_TEST(o.check.code == 2);
  BOOST_TEST(o.target->getValue<std::string>("cause") == "tls");
  BOOST_TEST(contains(o.diag.out, "cause:  tls"));
  BOOST_TEST(contains(o.diag.out, "requires TLS, but the server does not offer it"));
  BOOST_TEST(contains(o.diag.out, "turn TLS on in postgresql.conf"));
}

BOOST_AUTO_TEST_SUITE_END()
