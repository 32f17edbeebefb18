// pgvigil's entry point: parse the command line, dispatch to one command. No logic lives here.
#include <iostream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/cli_help.h"
#include "app/cmd_check.h"
#include "app/cmd_config.h"
#include "app/cmd_control.h"
#include "app/cmd_demo.h"
#include "app/cmd_diagnose.h"
#include "app/cmd_run.h"
#include "app/cmd_service.h"
#include "core/units.h"
#include "pgvigil/version.h"

using namespace pgvigil;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  CliParse parsed = parseCommandLine(args);
  if (!parsed.command) {
    std::cerr << "pgvigil: " << parsed.error << "\n";
    if (parsed.topic.empty())
      std::cerr << usageText();
    else
      std::cerr << "usage: see 'pgvigil " << parsed.topic << " --help'\n";
    return kExitUsage;
  }
  const CliCommand& cmd = *parsed.command;
  const std::string configPath = cmd.config.value_or("");
  try {
    if (cmd.verb == "version") {
      std::cout << "pgvigil " << kVersion << "\n";
      return kExitOk;
    }
    if (cmd.verb == "help") {
      std::cout << (cmd.help_topic.empty() ? usageText() : helpText(cmd.help_topic));
      return kExitOk;
    }
    if (cmd.verb == "run")
      return cmd.as_service ? runRunAsService(configPath, std::cerr)
                            : runRun(configPath, std::cerr);
    if (cmd.verb == "check") {
      CheckOptions options;
      options.config_path = configPath;
      options.target = cmd.target.value_or("");
      options.format = cmd.format == "json" ? OutputFormat::kJson : OutputFormat::kText;
      return runCheck(options, std::cout, std::cerr);
    }
    if (cmd.verb == "diagnose") {
      DiagnoseOptions options;
      options.config_path = configPath;
      options.target = cmd.target.value_or("");
      options.conninfo = cmd.conninfo.value_or("");
      options.env_dir = cmd.env_dir.value_or("");
      options.json = cmd.format == "json";
      return runDiagnose(options, std::cout, std::cerr);
    }
    if (cmd.verb == "config") {
      return cmd.sub == "validate" ? runConfigValidate(configPath, std::cout, std::cerr)
                                   : runConfigShow(configPath, std::cout, std::cerr);
    }
    if (cmd.verb == "pause" || cmd.verb == "resume" || cmd.verb == "restart") {
      ControlOptions options{configPath, cmd.verb, *cmd.target, cmd.for_duration};
      return runControl(options, std::cout, std::cerr);
    }
    if (cmd.verb == "demo") return runDemo(cmd.listen, std::cout, std::cerr);
    if (cmd.verb == "service") return runServiceCommand(cmd, std::cout, std::cerr);
  } catch (const std::exception& e) {
    // Commands report expected failures themselves; this is the last line of defence.
    std::cerr << "pgvigil: internal error: " << e.what() << "\n";
    return kExitUnknown;
  }
  std::cerr << usageText();
  return kExitUsage;
}
