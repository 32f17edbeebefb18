// The config loader (src/core/config_loader.h): what `pgvigil config validate` and the agent run
// on a configuration file. YAML text in; a Config or a list of errors out, never a crash. A
// valid config is also rendered (`config show`), which walks every field.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config_loader.h"
#include "core/env.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const pgvigil::Env env =
      pgvigil::Env::fromMap({{"PGPASSWORD", "secret"}, {"PGVIGIL_LISTEN", "127.0.0.1:0"}});
  auto result = pgvigil::loadConfigString(text, "fuzz.yaml", env);
  if (result.ok() == !result.errors.empty()) std::abort();  // exactly one of the two
  if (result.ok()) {
    (void)pgvigil::renderEffectiveConfig(*result.config);
    (void)pgvigil::configSecrets(*result.config);
  } else {
    (void)pgvigil::formatErrors(result.errors);
  }
  return 0;
}
