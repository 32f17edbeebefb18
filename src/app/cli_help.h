// The help of every command (`pgvigil COMMAND --help`, `pgvigil help COMMAND`): one table, from
// which the parser takes its verbs (cli.cpp), so a command cannot exist without its help. The
// reference (docs/reference.md §1), the man page pgvigil(1) and the shell completions list the
// same commands and options; tests/unit/app/test_reference.cpp holds the reference to this table.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgvigil {

struct OptionHelp {
  std::string_view flags;  ///< "-c, --config FILE"
  std::string_view text;   ///< one line
};

struct ExitHelp {
  int code;
  std::string_view name;  ///< the constant's name without kExit: "Ok", "Critical", ...
  std::string_view text;
};

struct CommandHelp {
  std::string_view name;      ///< "check", "config validate", "service install"
  std::string_view synopsis;  ///< the usage line(s), without the leading "usage: "
  std::string_view summary;   ///< one line
  std::string_view details;   ///< a short paragraph, "" for none
  std::vector<OptionHelp> options;
  std::vector<ExitHelp> exits;
  std::string_view example;
};

/// Every command, in the order of `pgvigil --help`.
const std::vector<CommandHelp>& commandHelp();

/// The distinct verbs of the table ("config" once for "config validate" and "config show").
std::vector<std::string> cliVerbs();

/// The sub-commands of a verb ("validate", "show" for "config"); empty for a verb without any.
std::vector<std::string> cliSubCommands(std::string_view verb);

/// The help text of a topic: a command ("check", "config show") or a verb with sub-commands
/// ("config": each of its sub-commands). "" when the topic is not a command.
std::string helpText(std::string_view topic);

}  // namespace pgvigil
