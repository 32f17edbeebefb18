// A `.env` file parser that reads files as Node's `dotenv` package does (docs/configuration.md,
// env_file). Pure: the caller reads the file; errors name FILE:LINE and never a value, which may be
// a secret.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgvigil {

struct DotenvEntry {
  std::string name;
  std::string value;
  int line = 0;  ///< 1-based line where the assignment starts
};

struct DotenvError {
  int line = 0;
  std::string message;  ///< names the line's problem and the key when known, never its value
};

struct DotenvFile {
  std::vector<DotenvEntry> entries;  ///< in file order; a repeated key appears each time
  std::vector<DotenvError> errors;
  /// FILE:LINE: message, one per line.
  std::string formatErrors(const std::string& file) const;
};

/// Parses `.env` text:
///   KEY=value, `export KEY=value`, whitespace around '=' and around an unquoted value;
///   `#` starts a comment on its own line, or after an unquoted value when preceded by a space;
///   'single' quotes are literal; "double" quotes expand \n (a \r is dropped) and may span lines;
///   `backticks` are literal; CRLF and CR line ends are accepted and a CR never ends up in a value;
///   blank lines are skipped. A line that is not an assignment, a bad key or an unterminated quote
///   is an error at its line (the rest of the file is still read).
DotenvFile parseDotenv(std::string_view text);

/// For a repeated key, the value dotenv uses: the last assignment in the file.
const DotenvEntry* findLast(const DotenvFile& file, std::string_view name);

}  // namespace pgvigil
