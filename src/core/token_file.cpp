#include "core/token_file.h"

#include <cctype>
#include <fstream>
#include <utility>

namespace pgvigil {

TokenFileResult loadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {std::nullopt, "cannot read token_file " + path};
  std::string line;
  std::getline(in, line);
  auto isSpace = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!line.empty() && isSpace(line.back())) line.pop_back();
  std::size_t start = 0;
  while (start < line.size() && isSpace(line[start])) ++start;
  line.erase(0, start);
  if (line.empty()) return {std::nullopt, "token_file " + path + " is empty"};
  for (char c : line)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)
      return {std::nullopt, "token_file " + path + " holds a control character or space"};
  return {std::move(line), {}};
}

}  // namespace pgvigil
