// A statement that a long-lived session runs again and again (the connections query on the
// monitoring session, every round): prepared once per session under `name`, then executed with
// `params`, so that the server parses and plans it once, not every second (docs/benchmarks.md §6:
// the holders query costs the server 1.1-1.2 ms of CPU as text, 0.2 ms prepared).
#pragma once

#include <string>
#include <vector>

namespace pgvigil {

struct SessionStatement {
  std::string name;                 ///< the prepared statement's name on the session
  std::string text;                 ///< SQL with $1, $2, ... for the parameters
  std::vector<std::string> params;  ///< text values of $1, $2, ...
};

}  // namespace pgvigil
