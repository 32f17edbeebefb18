#include "app/cli.h"

#include <set>

namespace pgvigil {
namespace {

const std::set<std::string> kVerbs = {"run",    "check",   "diagnose", "config", "pause",
                                      "resume", "restart", "demo",     "service"};

// Which flags each verb takes. A flag a verb does not take is a usage error.
bool takes(const std::string& verb, const std::string& flag) {
  if (flag == "-c") return verb != "demo" && verb != "service";
  if (flag == "-t") return verb == "check" || verb == "diagnose";
  if (flag == "--format") return verb == "check" || verb == "diagnose";
  if (flag == "--conninfo" || flag == "--env-dir") return verb == "diagnose";
  if (flag == "--for") return verb == "pause";
  if (flag == "--listen") return verb == "demo";
  return false;
}

std::string canonicalFlag(const std::string& a) {
  if (a == "-c" || a == "--config") return "-c";
  if (a == "-t" || a == "--target") return "-t";
  return a;
}

}  // namespace

std::string usageText() {
  return R"(usage:
  pgvigil run      [-c FILE]                    the agent, in the foreground
  pgvigil check    [-c FILE] [-t TARGET] [--format text|json]
                                                one round of every check; Nagios exit codes
  pgvigil diagnose [-c FILE] [-t TARGET] | --conninfo STRING  [--format text|json]
  pgvigil diagnose --env-dir DIR [-c FILE]     the database an application's .env files name
                                                step by step: config, dns, tcp, tls, auth, query, headroom, restart
  pgvigil config validate [-c FILE]             0 valid, 2 invalid
  pgvigil config show     [-c FILE]             effective config with sources, secrets redacted
  pgvigil pause   [-c FILE] TARGET [--for 30m]  ask the running agent (listen address and token from the config)
  pgvigil resume  [-c FILE] TARGET
  pgvigil restart [-c FILE] TARGET
  pgvigil demo    [--listen HOST:PORT]          throwaway local PostgreSQL + agent + dashboard
  pgvigil service install|uninstall             Windows only
  pgvigil --version | --help

config: -c FILE, else $PGVIGIL_CONFIG, else /etc/pgvigil/pgvigil.yaml
)";
}

CliParse parseCommandLine(const std::vector<std::string>& args) {
  CliParse out;
  auto fail = [&](std::string msg) {
    out.command.reset();
    out.error = std::move(msg);
    return out;
  };
  if (args.empty()) return fail("no command given");
  CliCommand cmd;
  const std::string& first = args[0];
  if (first == "--version" || first == "-V" || first == "version") {
    if (args.size() > 1) return fail("--version takes no arguments");
    cmd.verb = "version";
    out.command = cmd;
    return out;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    cmd.verb = "help";
    out.command = cmd;
    return out;
  }
  if (!kVerbs.count(first)) return fail("unknown command '" + first + "'");
  cmd.verb = first;

  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cmd.verb = "help";
      out.command = cmd;
      return out;
    }
    std::string flag = a, value;
    bool inlineValue = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      flag = a.substr(0, a.find('='));
      value = a.substr(a.find('=') + 1);
      inlineValue = true;
    }
    flag = canonicalFlag(flag);
    if (flag.size() > 1 && flag[0] == '-') {
      if (!takes(cmd.verb, flag)) return fail("'" + cmd.verb + "' does not take " + a);
      if (!inlineValue) {
        if (i + 1 >= args.size()) return fail(flag + " needs a value");
        value = args[++i];
      }
      if (flag == "-c")
        cmd.config = value;
      else if (flag == "-t")
        cmd.target = value;
      else if (flag == "--format") {
        if (value != "text" && value != "json") return fail("--format is text or json");
        cmd.format = value;
      } else if (flag == "--conninfo")
        cmd.conninfo = value;
      else if (flag == "--env-dir")
        cmd.env_dir = value;
      else if (flag == "--for")
        cmd.for_duration = value;
      else if (flag == "--listen")
        cmd.listen = value;
      continue;
    }
    positional.push_back(a);
  }

  if (cmd.verb == "config" || cmd.verb == "service") {
    const std::set<std::string> subs = cmd.verb == "config"
                                           ? std::set<std::string>{"validate", "show"}
                                           : std::set<std::string>{"install", "uninstall"};
    if (positional.empty()) return fail("'" + cmd.verb + "' needs a sub-command");
    if (!subs.count(positional[0]))
      return fail("unknown '" + cmd.verb + "' sub-command '" + positional[0] + "'");
    cmd.sub = positional[0];
    positional.erase(positional.begin());
  } else if (cmd.verb == "pause" || cmd.verb == "resume" || cmd.verb == "restart") {
    if (positional.size() != 1) return fail("'" + cmd.verb + "' needs exactly one TARGET");
    cmd.target = positional[0];
    positional.clear();
  } else if (cmd.verb == "diagnose" && cmd.conninfo && (cmd.target || cmd.config)) {
    return fail("diagnose takes either --conninfo or -c/-t, not both");
  } else if (cmd.verb == "diagnose" && cmd.env_dir && (cmd.conninfo || cmd.target)) {
    return fail(
        "diagnose --env-dir takes no --conninfo or -t (with -c it compares with the targets)");
  }
  if (!positional.empty()) return fail("unexpected argument '" + positional[0] + "'");
  out.command = cmd;
  return out;
}

}  // namespace pgvigil
