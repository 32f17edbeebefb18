// A throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for
// DNS:localhost only signed by it, and a second CA that signed nothing of this server's.
#pragma once

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace pgvigil::test {

struct TestPki {
  std::string ca, other_ca, cert, key;
};

/// Writes the files into `dir` (which must exist); the server certificate is valid for `days`.
inline TestPki makeTestPki(const std::string& dir, int days = 20) {
  auto sh = [](const std::string& command) {
    const std::string full = "(" + command + ") >/dev/null 2>&1";
    if (std::system(full.c_str()) != 0) throw std::runtime_error("failed: " + command);
  };
  TestPki p{dir + "/ca.crt", dir + "/other-ca.crt", dir + "/server.crt", dir + "/server.key"};
  const std::string req = "openssl req -x509 -newkey rsa:2048 -nodes -days 30 ";
  sh(req + "-keyout " + dir + "/ca.key -out " + p.ca + " -subj /CN=pgvigil-test-ca");
  sh(req + "-keyout " + dir + "/other-ca.key -out " + p.other_ca + " -subj /CN=pgvigil-other-ca");
  sh("openssl req -newkey rsa:2048 -nodes -keyout " + p.key + " -out " + dir +
     "/server.csr -subj /CN=localhost");
  std::ofstream(dir + "/san.ext") << "subjectAltName=DNS:localhost\n";
  sh("openssl x509 -req -in " + dir + "/server.csr -CA " + p.ca + " -CAkey " + dir +
     "/ca.key -CAcreateserial -days " + std::to_string(days) + " -out " + p.cert + " -extfile " +
     dir + "/san.ext");
  return p;
}

}  // namespace pgvigil::test
