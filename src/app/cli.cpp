#include "app/cli.h"

#include <algorithm>
#include <set>

#include "app/cli_help.h"

namespace pgvigil {
namespace {

bool isVerb(const std::string& s) {
  const auto verbs = cliVerbs();  // the help table's: no command without its help
  return std::find(verbs.begin(), verbs.end(), s) != verbs.end();
}

// Which flags each verb takes. A flag a verb does not take is a usage error.
bool takes(const std::string& verb, const std::string& flag) {
  if (flag == "-c") return verb != "demo";  // service: install only (checked below)
  if (flag == "--service") return verb == "run";
  if (flag == "--name" || flag == "--account" || flag == "--postgres-service")
    return verb == "service";  // --account, --postgres-service: install only (below)
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
  // From the help table (cli_help.cpp): the overview lists exactly the commands that exist.
  std::string out = "usage:\n";
  for (const auto& c : commandHelp()) {
    std::string_view syn = c.synopsis;
    while (!syn.empty()) {
      auto nl = syn.find('\n');
      out += "  " + std::string(syn.substr(0, nl)) + "\n";
      syn = nl == std::string_view::npos ? std::string_view{} : syn.substr(nl + 1);
    }
    out += "      " + std::string(c.summary) + "\n";
  }
  out +=
      "\nconfig: -c FILE, else $PGVIGIL_CONFIG, else /etc/pgvigil/pgvigil.yaml\n"
      "'pgvigil COMMAND --help' or 'pgvigil help COMMAND': one command's options, exit codes and\n"
      "an example; 'man pgvigil': all of them\n";
  return out;
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
    if (args.size() > 1) {
      std::string topic = args[1];
      if (args.size() > 2) topic += " " + args[2];
      if (args.size() > 3 || helpText(topic).empty())
        return fail("no help for '" + topic + "': not a command");
      cmd.help_topic = topic;
    }
    out.command = cmd;
    return out;
  }
  if (!isVerb(first)) return fail("unknown command '" + first + "'");
  cmd.verb = first;
  out.topic = first;

  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      // The help of the sub-command when one came before (config show --help), else the verb's.
      const auto subs = cliSubCommands(cmd.verb);
      cmd.help_topic = cmd.verb;
      if (!positional.empty() && std::find(subs.begin(), subs.end(), positional[0]) != subs.end())
        cmd.help_topic += " " + positional[0];
      cmd.verb = "help";
      out.command = cmd;
      out.topic.clear();
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
      if (flag == "--service") {  // the one flag without a value
        if (inlineValue) return fail("--service takes no value");
        cmd.as_service = true;
        continue;
      }
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
      else if (flag == "--name")
        cmd.service_name = value;
      else if (flag == "--account")
        cmd.account = value;
      else if (flag == "--postgres-service")
        cmd.postgres_service = value;
      continue;
    }
    positional.push_back(a);
  }

  if (cmd.verb == "config" || cmd.verb == "service") {
    const auto subs = cliSubCommands(cmd.verb);
    if (positional.empty()) return fail("'" + cmd.verb + "' needs a sub-command");
    if (std::find(subs.begin(), subs.end(), positional[0]) == subs.end())
      return fail("unknown '" + cmd.verb + "' sub-command '" + positional[0] + "'");
    cmd.sub = positional[0];
    out.topic = cmd.verb + " " + cmd.sub;
    positional.erase(positional.begin());
    if (cmd.verb == "service" && cmd.sub == "uninstall") {
      if (cmd.config) return fail("'service uninstall' does not take -c");
      if (cmd.account) return fail("'service uninstall' does not take --account");
      if (cmd.postgres_service) return fail("'service uninstall' does not take --postgres-service");
    }
    if (cmd.verb == "service" && cmd.service_name && cmd.service_name->empty())
      return fail("--name needs a service name");
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
