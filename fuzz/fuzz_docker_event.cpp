// The Docker Engine's answers (src/restart/docker_client.h): the /events stream is cut into
// lines as the restarter reads it, and each line goes to parseDockerEvent; its times go to
// parseDockerTime. The input is one stream of lines; the first line is also tried as a
// DOCKER_HOST address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "restart/docker_client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream stream(text);
  std::string line;
  bool first = true;
  while (std::getline(stream, line)) {
    if (first) {
      auto host = pgvigil::parseDockerHost(line);
      if (host.error.empty() && host.kind == pgvigil::DockerHost::Kind::kTcp && host.port == 0)
        std::abort();  // a usable tcp address has a port
      first = false;
    }
    (void)pgvigil::parseDockerTime(line);
    if (auto event = pgvigil::parseDockerEvent(line)) {
      if (event->action.empty()) std::abort();  // an event always has an action
      auto it = event->attributes.find("time");
      if (it != event->attributes.end()) (void)pgvigil::parseDockerTime(it->second);
    }
  }
  return 0;
}
