// Conninfo handling (src/probes/conninfo.h): every target's connection string, keyword form or
// postgresql:// URI, goes through parseConnInfo, redactConnInfo (logs, `config show`) and
// buildConnectParams.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/env.h"
#include "probes/conninfo.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)pgvigil::redactConnInfo(text);
  std::string error;
  auto info = pgvigil::parseConnInfo(text, &error);
  if (!info) return 0;
  (void)info->host();
  (void)info->hostaddr();
  (void)info->port();
  (void)info->dbname();
  (void)info->user();
  (void)info->isUnixSocket();
  static const pgvigil::Env env = pgvigil::Env::fromMap({{"PGGSSENCMODE", "prefer"}});
  auto params = pgvigil::buildConnectParams(*info, "pgvigil", 5, 2000, env);
  if (params.keys.size() != params.values.size()) std::abort();
  auto keys = params.keywordArray();
  if (keys.back() != nullptr) std::abort();
  return 0;
}
