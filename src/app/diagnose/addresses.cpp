// The verdict of diagnose's addresses step. See addresses.h.
#include "app/diagnose/addresses.h"

#include <algorithm>
#include <cctype>

namespace pgvigil {
namespace {

bool isIpv6(const std::string& address) {
  return address.find(':') != std::string::npos;
}

std::string result(const AddressProbe& p) {
  if (!p.tcp_ok) return p.tcp_error.empty() ? "no TCP connection" : p.tcp_error;
  if (!p.login_ok)
    return "TCP OK, login failed" + (p.login_error.empty() ? "" : ": " + p.login_error);
  return "answers";
}

std::string shortResult(const AddressProbe& p) {
  if (p.answers()) return "answers";
  if (!p.tcp_ok) {
    std::string e = p.tcp_error;
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    if (e.find("refused") != std::string::npos) return "refused";
    return "no TCP connection";
  }
  return "login failed";
}

DriverOutcome firstOnly(std::string driver, std::string behaviour, const AddressProbe& p) {
  return {std::move(driver), std::move(behaviour), p.display(), p.answers()};
}

}  // namespace

std::string AddressProbe::display() const {
  return isIpv6(address) ? "[" + address + "]:" + std::to_string(port)
                         : address + ":" + std::to_string(port);
}

std::vector<DriverOutcome> driverOutcomes(const std::vector<AddressProbe>& probes) {
  std::vector<DriverOutcome> out;
  if (probes.empty()) return out;
  auto firstAnswering =
      std::find_if(probes.begin(), probes.end(), [](const AddressProbe& p) { return p.answers(); });
  auto tryEach = [&](std::string driver, std::string behaviour) {
    DriverOutcome d{std::move(driver), std::move(behaviour), "", firstAnswering != probes.end()};
    d.address = d.ok ? firstAnswering->display() : probes.back().display();
    out.push_back(std::move(d));
  };
  tryEach("libpq (psql, psycopg, Ruby pg, PHP pgsql)",
          "tries each address in order until one answers");
  auto firstV4 = std::find_if(probes.begin(), probes.end(),
                              [](const AddressProbe& p) { return !isIpv6(p.address); });
  out.push_back(firstOnly("node-postgres on Node 16 and older",
                          "one address, IPv4 first (dns.lookup verbatim=false), no fallback",
                          firstV4 != probes.end() ? *firstV4 : probes.front()));
  out.push_back(firstOnly("node-postgres on Node 17 to 19",
                          "one address, in the resolver's order, no fallback", probes.front()));
  tryEach("node-postgres on Node 20 and newer",
          "tries each address in turn (autoSelectFamily, a short timeout per attempt)");
  tryEach("pgvigil's session probe (query and connections checks)",
          "tries each address in order until one answers, as libpq");
  return out;
}

AddressVerdict judgeAddresses(const std::string& host, const std::vector<AddressProbe>& probes) {
  AddressVerdict v;
  v.detail = host + " ->";
  std::size_t answering = 0;
  for (std::size_t i = 0; i < probes.size(); ++i) {
    v.detail += (i ? ", " : " ") + probes[i].address + " " + shortResult(probes[i]);
    if (probes[i].answers()) ++answering;
  }
  if (answering == probes.size()) {
    v.detail += " (every client driver reaches the server)";
    return v;
  }
  if (answering == 0) {
    v.detail += " (no address answers)";
    v.warn = true;  // not a failure of its own: the tcp or auth step failed and says why
    v.advice.explanation = "no address of " + host + " answers, so no client driver connects";
    return v;
  }
  v.warn = true;
  const AddressProbe& first = probes.front();
  std::string answers, fails;
  for (const auto& p : probes) {
    std::string& list = p.answers() ? answers : fails;
    list += (list.empty() ? "" : ", ") + p.address;
  }
  const AddressProbe& failing = *std::find_if(probes.begin(), probes.end(),
                                              [](const AddressProbe& p) { return !p.answers(); });
  v.advice.explanation =
      host + " has " + std::to_string(probes.size()) + " addresses and only " + answers +
      " answers (" + failing.address + ": " + result(failing) + "); " +
      (first.answers()
           ? "the first address answers, so every driver connects, but one that picks another "
             "address fails"
           : "the first address, " + first.address +
                 ", does not: psql works (libpq moves on to the next address) while a driver that "
                 "takes only the first address fails - the 'works in psql, fails in Node' case");
  const bool v6Fails = std::any_of(probes.begin(), probes.end(), [](const AddressProbe& p) {
    return isIpv6(p.address) && !p.answers();
  });
  v.advice.remedies.push_back(std::string("make the server listen on every address of ") + host +
                              ": listen_addresses = '" + (host == "localhost" ? "localhost" : "*") +
                              "' in postgresql.conf (and a pg_hba.conf line for " +
                              (v6Fails ? "::1/128" : "127.0.0.1/32") +
                              "), then restart PostgreSQL");
  v.advice.remedies.push_back("or give the application the address that answers: host " +
                              answers.substr(0, answers.find(',')) + " instead of " + host +
                              " in its DATABASE_URL");
  if (!first.answers() && v6Fails)
    v.advice.remedies.push_back(
        "or, for Node 17 to 19, start it with --dns-result-order=ipv4first (Node 20 and newer "
        "try the next address themselves)");
  return v;
}

}  // namespace pgvigil
