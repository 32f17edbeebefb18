#include "probes/tcp_probe.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/classify.h"
#include "probes/net.h"
#include "probes/socket_headers.h"

namespace pgvigil {
namespace {

bool isAddressLiteral(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return net::parseAddress(AF_INET, host, &a4) || net::parseAddress(AF_INET6, host, &a6);
}

int defaultPort(const ConnInfo& info) {
  if (info.params.count("port")) return info.port();
  if (const char* env = std::getenv("PGPORT"); env && *env) {
    int p = std::atoi(env);
    if (p > 0 && p < 65536) return p;
  }
  return 5432;
}

}  // namespace

std::string formatSeconds(Micros elapsed) {
  char buf[32];
  double us = double(elapsed.count());
  if (us < 1e6)
    std::snprintf(buf, sizeof buf, "%.1fms", us / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1fs", us / 1e6);
  return buf;
}

ResolveResult resolveEndpoints(const ConnInfo& info, const Deadline& deadline) {
  return resolveEndpoints(info, deadline, Resolver());
}

ResolveResult resolveEndpoints(const ConnInfo& info, const Deadline& deadline,
                               const Resolver& resolver) {
  ResolveResult out;
  int port = defaultPort(info);
  std::string hostaddr = info.hostaddr();
  if (!hostaddr.empty()) {
    out.endpoints.push_back({false, hostaddr, port});
    return out;
  }
  std::string host = info.host();
  if (host.empty()) {
    const char* env = std::getenv("PGHOST");
    host = env && *env ? std::string(env) : std::string(net::defaultHost());
    auto comma = host.find(',');
    if (comma != std::string::npos) host = host.substr(0, comma);
  }
  if (host.front() == '/' || host.front() == '@') {
    out.endpoints.push_back({true, host + "/.s.PGSQL." + std::to_string(port), port});
    return out;
  }
  if (isAddressLiteral(host)) {
    out.endpoints.push_back({false, host, port});
    return out;
  }
  return resolver.resolve(host, port, deadline);
}

std::size_t pinResolvedAddresses(ConnInfo& info, const ResolveResult& resolved) {
  auto it = info.params.find("host");
  const std::string host = it == info.params.end() ? std::string() : it->second;
  if (resolved.endpoints.empty() || !info.hostaddr().empty() || host.empty() ||
      host.find(',') != std::string::npos || host.front() == '/' || host.front() == '@' ||
      isAddressLiteral(host))
    return 0;
  std::string hosts, addresses;
  std::size_t n = 0;
  for (const auto& ep : resolved.endpoints) {
    if (ep.unix_socket) return 0;
    hosts += (n ? "," : "") + host;
    addresses += (n ? "," : "") + ep.address;
    ++n;
  }
  info.params["host"] = hosts;
  info.params["hostaddr"] = addresses;
  return n;
}

std::string displayEndpoints(const std::vector<Endpoint>& endpoints) {
  std::string out;
  for (const auto& ep : endpoints) out += (out.empty() ? "" : ", ") + ep.display();
  return out;
}

CheckOutcome tcpProbe(const ConnInfo& info, const Deadline& deadline, ProbeObserver& observer) {
  const Clock& clock = deadline.clock();
  const SteadyTime start = clock.now();
  CheckOutcome out;
  out.check = "tcp";
  auto elapsed = [&] { return std::chrono::duration_cast<Micros>(clock.now() - start); };

  ResolveResult resolved = resolveEndpoints(info, deadline);
  observer.resolved(resolved, elapsed());
  if (resolved.endpoints.empty()) {
    out.cause = resolved.cause;
    out.phase = Phase::kDns;
    out.message = resolved.error;
    out.latency = elapsed();
    return out;
  }

  int lastErr = 0;
  std::string lastWhere;
  bool timedOut = false;
  for (const auto& ep : resolved.endpoints) {
    lastWhere = ep.display();
    const Micros attemptStart = elapsed();
    auto attempted = [&](int err) {
      observer.tcpAttempt(ep, err, timedOut, elapsed() - attemptStart);
    };
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    if (ep.unix_socket) {
      auto* un = reinterpret_cast<sockaddr_un*>(&ss);
      un->sun_family = AF_UNIX;
      if (ep.address.size() >= sizeof un->sun_path) {
        lastErr = ENAMETOOLONG;
        attempted(lastErr);
        continue;
      }
      std::memcpy(un->sun_path, ep.address.data(), ep.address.size());
      if (un->sun_path[0] == '@') un->sun_path[0] = '\0';  // abstract namespace
      len = socklen_t(offsetof(sockaddr_un, sun_path) + ep.address.size() +
                      (ep.address[0] == '@' ? 0 : 1));
      family = AF_UNIX;
    } else if (ep.address.find(':') != std::string::npos) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(uint16_t(ep.port));
      net::parseAddress(AF_INET6, ep.address, &in6->sin6_addr);
      len = sizeof *in6;
      family = AF_INET6;
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
      in4->sin_family = AF_INET;
      in4->sin_port = htons(uint16_t(ep.port));
      net::parseAddress(AF_INET, ep.address, &in4->sin_addr);
      len = sizeof *in4;
    }
    net::UniqueSocket fd(net::open(family, SOCK_STREAM));
    if (!fd.valid()) {
      lastErr = net::lastError();
      attempted(lastErr);
      continue;
    }
    int err = net::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
    if (err == EINPROGRESS || err == EINTR) {
      for (;;) {
        net::PollFd p{fd.get(), net::kWritable, 0};
        int ms = int(deadline.remaining().count());
        int n = ms > 0 ? net::poll(&p, 1, ms) : 0;
        if (n < 0 && net::lastError() == EINTR) continue;
        if (n == 0) {
          timedOut = true;
          break;
        }
        err = net::pendingError(fd.get());
        break;
      }
    } else if (err == EAGAIN && ep.unix_socket) {
      // A unix socket whose listen queue is full: nobody is accepting (a hung postmaster).
      timedOut = true;
    }
    attempted(timedOut ? ETIMEDOUT : err);
    if (timedOut) break;
    if (err == 0) {
      out.ok = true;
      out.latency = elapsed();
      return out;  // UniqueSocket closes normally: FIN, and the server logs nothing
    }
    lastErr = err;
  }
  out.latency = elapsed();
  out.phase = Phase::kConnect;
  if (timedOut) {
    out.cause = Cause::kTimeout;
    out.message =
        "timeout in connect phase after " + formatSeconds(out.latency) + " on " + lastWhere;
    return out;
  }
  out.cause = classify(Phase::kConnect, "", net::errorText(lastErr), lastErr);
  switch (out.cause) {
    case Cause::kRefused:
      out.message = "connection refused on " + lastWhere;
      if (lastErr != ECONNREFUSED) out.message += " (" + net::errorText(lastErr) + ")";
      break;
    case Cause::kReset:
      out.message = "connection reset by " + lastWhere;
      break;
    case Cause::kTimeout:
      out.message =
          "timeout in connect phase after " + formatSeconds(out.latency) + " on " + lastWhere;
      break;
    default:
      out.message = "cannot connect to " + lastWhere + ": " + net::errorText(lastErr);
  }
  return out;
}

}  // namespace pgvigil
