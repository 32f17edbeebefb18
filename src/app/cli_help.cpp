#include "app/cli_help.h"

#include <algorithm>

#include "app/cli.h"

namespace pgvigil {
namespace {

const OptionHelp kConfigOption{"-c, --config FILE",
                               "the config (default: $PGVIGIL_CONFIG, /etc/pgvigil/pgvigil.yaml)"};
const OptionHelp kHelpOption{"-h, --help", "this help"};

std::vector<CommandHelp> buildTable() {
  std::vector<CommandHelp> t;
  t.push_back({"run",
               "pgvigil run [-c FILE]",
               "the agent, in the foreground",
               "Watches every target of the config, serves the status endpoint, writes the event "
               "log and restarts PostgreSQL where the config allows it. Under systemd it is a "
               "Type=notify service with a watchdog. SIGHUP reloads the config; SIGTERM or SIGINT "
               "stops it. On Windows Ctrl+C stops it, and as a service (--service, which "
               "'service install' puts in the service's command line) the SCM's stop does.",
               {kConfigOption,
                {"--service",
                 "Windows: run under the Service Control Manager (only in a service's command "
                 "line)"},
                kHelpOption},
               {{kExitOk, "Ok", "stopped by SIGTERM or SIGINT (Windows: Ctrl+C, a service stop)"},
                {kExitUsage, "Usage", "a bad command line (--service: not started as a service)"},
                {kExitSoftware, "Software", "the agent loop died of an internal error"},
                {kExitConfig, "Config", "the config is invalid at start"}},
               "pgvigil run -c /etc/pgvigil/pgvigil.yaml"});
  t.push_back(
      {"check",
       "pgvigil check [-c FILE] [-t TARGET] [--format text|json]",
       "one round of every check, printed; Nagios exit codes",
       "The first line is the Nagios/Icinga plugin one-liner with performance data, then "
       "one line per target. Nothing is restarted.",
       {kConfigOption,
        {"-t, --target TARGET", "only this target (default: every target)"},
        {"--format text|json", "plain text (default) or one JSON document"},
        kHelpOption},
       {{kExitOk, "Ok", "OK: every target healthy"},
        {kExitWarning, "Warning", "WARNING: a target degraded (connections at warn, slow)"},
        {kExitCritical, "Critical", "CRITICAL: a target failed, or connections at critical"},
        {kExitUnknown, "Unknown", "UNKNOWN: config error or internal error"},
        {kExitUsage, "Usage", "a bad command line"}},
       "pgvigil check -t main --format json"});
  t.push_back(
      {"diagnose",
       "pgvigil diagnose [-c FILE] [-t TARGET] [--format text|json]\n"
       "pgvigil diagnose --conninfo STRING [--format text|json]\n"
       "pgvigil diagnose --env-dir DIR [-c FILE] [--format text|json]",
       "step by step: config, dns, tcp, addresses, tls, auth, query, headroom, idle, restart",
       "Each failed step names its cause and the usual remedy. With --env-dir, the "
       "database an application's .env files name (Node/Next.js precedence); with -c as "
       "well, whether it is one of the config's targets.",
       {kConfigOption,
        {"-t, --target TARGET", "only this target (default: every target)"},
        {"--conninfo STRING", "a libpq conninfo or URI instead of the config's targets"},
        {"--env-dir DIR", "an application's folder of .env files"},
        {"--format text|json", "plain text (default) or one JSON document"},
        kHelpOption},
       {{kExitOk, "Ok", "every step passed"},
        {kExitCritical, "Critical", "a step failed"},
        {kExitUnknown, "Unknown", "config error or internal error"},
        {kExitUsage, "Usage", "a bad command line"}},
       "pgvigil diagnose --conninfo 'host=127.0.0.1 port=5432 user=postgres'"});
  t.push_back({"config validate",
               "pgvigil config validate [-c FILE]",
               "check the config; every error as FILE:LINE:COL: message",
               "",
               {kConfigOption, kHelpOption},
               {{kExitOk, "Ok", "the config is valid"},
                {kExitInvalid, "Invalid", "the config is invalid"},
                {kExitUsage, "Usage", "a bad command line"}},
               "pgvigil config validate -c ./pgvigil.yaml"});
  t.push_back({"config show",
               "pgvigil config show [-c FILE]",
               "the effective config, each value with its source, secrets masked",
               "Defaults and ${ENV} applied; every value says whether it came from the file "
               "(FILE:LINE:COL), the environment or the built-in default.",
               {kConfigOption, kHelpOption},
               {{kExitOk, "Ok", "printed"},
                {kExitInvalid, "Invalid", "the config is invalid"},
                {kExitUsage, "Usage", "a bad command line"}},
               "pgvigil config show -c ./pgvigil.yaml"});
  const std::vector<ExitHelp> controlExits = {
      {kExitOk, "Ok", "the agent accepted"},
      {kExitFailed, "Failed", "the agent refused, or could not be reached, or no token"},
      {kExitInvalid, "Invalid", "the config is invalid"},
      {kExitUsage, "Usage", "a bad command line (or a bad --for)"}};
  t.push_back({"pause",
               "pgvigil pause [-c FILE] TARGET [--for DURATION]",
               "ask the running agent to pause a target (checks go on, no restarts)",
               "The agent is reached at the config's agent.listen with its agent.token_file.",
               {kConfigOption,
                {"--for DURATION", "resume by itself after this long (30m, 2h; at most 365d)"},
                kHelpOption},
               controlExits,
               "pgvigil pause main --for 30m"});
  t.push_back({"resume",
               "pgvigil resume [-c FILE] TARGET",
               "ask the running agent to resume a paused or given-up target",
               "",
               {kConfigOption, kHelpOption},
               controlExits,
               "pgvigil resume main"});
  t.push_back({"restart",
               "pgvigil restart [-c FILE] TARGET",
               "ask the running agent to restart a target now (its restart method)",
               "",
               {kConfigOption, kHelpOption},
               controlExits,
               "pgvigil restart main"});
  t.push_back({"demo",
               "pgvigil demo [--listen HOST:PORT]",
               "throwaway local PostgreSQL + agent + dashboard",
               "Initialises a cluster in a temporary folder on a free loopback port, watches it "
               "with restart.method command and serves the dashboard. Ctrl-C removes everything.",
               {{"--listen HOST:PORT", "the dashboard's address (default: a free loopback port)"},
                kHelpOption},
               {{kExitOk, "Ok", "stopped by Ctrl-C"},
                {kExitFailed, "Failed", "the demo cluster could not be made or started"},
                {kExitUsage, "Usage", "a bad command line"}},
               "pgvigil demo --listen 127.0.0.1:8787"});
  const OptionHelp serviceName{"--name NAME", "the service's name (default: pgvigil)"};
  t.push_back(
      {"service install",
       "pgvigil service install [-c FILE] [--name NAME] [--account ACCOUNT] "
       "[--postgres-service NAME]",
       "Windows: register pgvigil run as a Windows service",
       "Run elevated. Registers 'pgvigil.exe run --service -c FILE' (automatic delayed start, "
       "recovery actions, no dependency), the event log source pgvigil, the config folder with "
       "Modify for the account, and lets the account start and stop the PostgreSQL service. "
       "Again: updates the service. On Linux the command says so and exits 64: install "
       "service/pgvigil.service instead (docs/operations.md).",
       {{"-c, --config FILE",
         "the config the service runs (default: %ProgramData%\\pgvigil\\pgvigil.yaml)"},
        serviceName,
        {"--account ACCOUNT",
         "LocalService (default), NetworkService or LocalSystem; others: install.ps1"},
        {"--postgres-service NAME",
         "grant the account query/start/stop on it (default: postgresql-x64-15; '' none)"},
        kHelpOption},
       {{kExitOk, "Ok", "registered"},
        {kExitFailed, "Failed", "not elevated, or the SCM or registry refused a step"},
        {kExitUsage, "Usage", "a bad command line, or not Windows"}},
       "pgvigil service install --postgres-service postgresql-x64-16"});
  t.push_back({"service uninstall",
               "pgvigil service uninstall [--name NAME]",
               "Windows: stop and unregister the Windows service",
               "Stops the service (waiting at most 30 s), deletes it and removes the event log "
               "source. The config folder stays. Not installed: nothing to do, exit 0.",
               {serviceName, kHelpOption},
               {{kExitOk, "Ok", "unregistered, or it was not installed"},
                {kExitFailed, "Failed", "not elevated, or the SCM refused"},
                {kExitUsage, "Usage", "a bad command line, or not Windows"}},
               "pgvigil service uninstall"});
  t.push_back({"help",
               "pgvigil help [COMMAND]",
               "this overview, or the help of one command (as COMMAND --help)",
               "",
               {},
               {{kExitOk, "Ok", "printed"}, {kExitUsage, "Usage", "no such command"}},
               "pgvigil help config show"});
  t.push_back({"version",
               "pgvigil --version",
               "print the version",
               "",
               {{"-V, --version", "the same"}},
               {{kExitOk, "Ok", "printed"}},
               "pgvigil --version"});
  return t;
}

std::string_view verbOf(std::string_view name) {
  return name.substr(0, name.find(' '));
}

/// Words of `text` in lines of at most `width` characters.
void appendWrapped(std::string& out, std::string_view text, std::size_t width) {
  std::size_t column = 0;
  while (!text.empty()) {
    auto space = text.find(' ');
    std::string_view word = text.substr(0, space);
    if (column > 0 && column + 1 + word.size() > width) {
      out += '\n';
      column = 0;
    } else if (column > 0) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  }
  out += '\n';
}

void appendCommand(std::string& out, const CommandHelp& c) {
  out += "usage: ";
  std::string_view syn = c.synopsis;
  bool first = true;
  while (!syn.empty()) {
    auto nl = syn.find('\n');
    if (!first) out += "       ";
    out += syn.substr(0, nl);
    out += "\n";
    first = false;
    syn = nl == std::string_view::npos ? std::string_view{} : syn.substr(nl + 1);
  }
  out += "\n";
  out += c.summary;
  out += ".\n";
  if (!c.details.empty()) appendWrapped(out, c.details, 80);
  if (!c.options.empty()) {
    out += "\noptions:\n";
    for (const auto& o : c.options) {
      std::string line = "  " + std::string(o.flags);
      if (line.size() < 24)
        line.resize(24, ' ');
      else
        line += "  ";
      out += line + std::string(o.text) + "\n";
    }
  }
  out += "\nexit codes:\n";
  for (const auto& e : c.exits) {
    std::string code = "  " + std::to_string(e.code);
    code.resize(7, ' ');
    out += code + std::string(e.text) + "\n";
  }
  out += "\nexample:\n  ";
  out += c.example;
  out += "\n";
}

}  // namespace

const std::vector<CommandHelp>& commandHelp() {
  static const std::vector<CommandHelp> table = buildTable();
  return table;
}

std::vector<std::string> cliVerbs() {
  std::vector<std::string> out;
  for (const auto& c : commandHelp()) {
    std::string verb(verbOf(c.name));
    if (verb == "help" || verb == "version") continue;  // handled before the verbs
    if (std::find(out.begin(), out.end(), verb) == out.end()) out.push_back(verb);
  }
  return out;
}

std::vector<std::string> cliSubCommands(std::string_view verb) {
  std::vector<std::string> out;
  for (const auto& c : commandHelp())
    if (verbOf(c.name) == verb && c.name.size() > verb.size())
      out.emplace_back(c.name.substr(verb.size() + 1));
  return out;
}

std::string helpText(std::string_view topic) {
  std::string out;
  for (const auto& c : commandHelp()) {
    if (c.name != topic && verbOf(c.name) != topic) continue;
    if (!out.empty()) out += "\n";
    appendCommand(out, c);
  }
  if (!out.empty()) out += "\nmore: man pgvigil, docs/reference.md\n";
  return out;
}

}  // namespace pgvigil
