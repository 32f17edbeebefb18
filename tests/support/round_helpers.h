// Small helpers for tests that run probe rounds (runRound) directly: a target for a conninfo,
// and a RoundResult as readable text for failure messages.
#pragma once

#include <string>

#include "core/config.h"
#include "core/round_result.h"

namespace pgvigil::test {

inline TargetConfig targetFor(const std::string& conninfo,
                              Millis timeout = std::chrono::seconds(3)) {
  TargetConfig t;
  t.name = "main";
  t.conninfo = conninfo;
  t.timeout = timeout;
  return t;
}

inline std::string causeOf(const RoundResult& r) {
  return std::string(toString(r.cause));
}
inline std::string phaseOf(const RoundResult& r) {
  return std::string(toString(r.phase));
}

/// verdict, cause, phase, message and every check: what a failed assertion should show.
inline std::string describe(const RoundResult& r) {
  std::string s = "verdict=" + std::to_string(int(r.verdict)) + " cause=" + causeOf(r) +
                  " phase=" + phaseOf(r) + " message=" + r.message;
  for (const auto& c : r.checks)
    s += " [" + c.check + " ok=" + std::to_string(c.ok) + " " + c.message + "]";
  return s;
}

}  // namespace pgvigil::test
