// The state file reader (StateStore::parse, src/core/state_store.h): the agent reads it at start
// from agent.state_dir, where a crash, a full disk or a person may have left anything. Any text
// gives a state or an error, never a crash; and a state that was read is written back in a form
// that reads back to the same thing (serialize, parse, serialize is stable).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/state_store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto state = pgvigil::StateStore::parse(text, &error);
  if (!state) return 0;
  std::string written = pgvigil::StateStore::serialize(*state);
  std::string error2;
  auto reread = pgvigil::StateStore::parse(written, &error2);
  if (!reread) std::abort();  // what we write, we must be able to read
  if (pgvigil::StateStore::serialize(*reread) != written) std::abort();
  return 0;
}
