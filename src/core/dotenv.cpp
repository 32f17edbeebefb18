// The `.env` parser. See dotenv.h.
#include "core/dotenv.h"

namespace pgvigil {
namespace {

bool isKeyStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool isKeyChar(char c) {
  return isKeyStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}
bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

/// The text with every CRLF and lone CR made LF: a CR never reaches a value.
std::string normaliseLineEnds(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

/// Double-quoted text as dotenv reads it: \n is a line break and \r is dropped (a CR never ends
/// up in a value); every other backslash stays as written.
std::string unescapeDouble(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 'n' || s[i + 1] == 'r')) {
      if (s[i + 1] == 'n') out += '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::string text) : text_(std::move(text)) {}

  DotenvFile run() {
    while (pos_ < text_.size()) parseLine();
    return std::move(result_);
  }

 private:
  void skipBlanks() {
    while (pos_ < text_.size() && isBlank(text_[pos_])) ++pos_;
  }
  /// Moves past the end of the current line.
  void nextLine() {
    std::size_t nl = text_.find('\n', pos_);
    pos_ = nl == std::string::npos ? text_.size() : nl + 1;
    ++line_;
  }
  void fail(int line, std::string message) { result_.errors.push_back({line, std::move(message)}); }

  void parseLine() {
    const int start = line_;
    skipBlanks();
    if (pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '#') return nextLine();
    if (text_.compare(pos_, 7, "export ") == 0 || text_.compare(pos_, 7, "export\t") == 0) {
      pos_ += 7;
      skipBlanks();
    }
    std::size_t keyStart = pos_;
    while (pos_ < text_.size() && isKeyChar(text_[pos_])) ++pos_;
    std::string key = text_.substr(keyStart, pos_ - keyStart);
    skipBlanks();
    const bool assign = pos_ < text_.size() && (text_[pos_] == '=' || text_[pos_] == ':');
    if (key.empty() || !isKeyStart(key[0]) || !assign) {
      // Without an '=' the line may be a pasted secret: it is never echoed, not even its "key".
      fail(start, key.empty() || !isKeyStart(key[0])
                      ? "not a KEY=value line (a key is letters, digits and _, not starting "
                        "with a digit)"
                      : "not a KEY=value line (no '=' after the name)");
      return nextLine();
    }
    ++pos_;  // '='
    skipBlanks();
    std::string value;
    const char q = pos_ < text_.size() ? text_[pos_] : '\n';
    if (q == '"' || q == '\'' || q == '`') {
      std::size_t close = text_.find(q, pos_ + 1);
      if (q == '"') {  // skip escaped quotes
        while (close != std::string::npos && isEscaped(close)) close = text_.find(q, close + 1);
      }
      // Single and backtick quotes, like double ones, may span lines in dotenv 16.
      if (close == std::string::npos) {
        fail(start, "the value of " + key + " has an opening " + std::string(1, q) +
                        " quote and no closing one");
        return nextLine();
      }
      std::string_view inner = std::string_view(text_).substr(pos_ + 1, close - pos_ - 1);
      for (char c : inner)
        if (c == '\n') ++line_;
      value = q == '"' ? unescapeDouble(inner) : std::string(inner);
      pos_ = close + 1;
      // After the closing quote: blanks and an optional comment, nothing else.
      skipBlanks();
      if (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '#') {
        fail(start, "text after the closing quote of " + key +
                        " (put a # before a comment, or quote the whole value)");
        return nextLine();
      }
    } else {
      std::size_t end = text_.find('\n', pos_);
      if (end == std::string::npos) end = text_.size();
      std::string_view raw = std::string_view(text_).substr(pos_, end - pos_);
      // An inline comment: " #" after the value.
      for (std::size_t i = 1; i < raw.size(); ++i) {
        if (raw[i] == '#' && isBlank(raw[i - 1])) {
          raw = raw.substr(0, i);
          break;
        }
      }
      if (!raw.empty() && raw[0] == '#') raw = {};
      while (!raw.empty() && isBlank(raw.back())) raw.remove_suffix(1);
      value = std::string(raw);
      pos_ = end;
    }
    result_.entries.push_back({std::move(key), std::move(value), start});
    nextLine();
  }

  bool isEscaped(std::size_t at) const {
    std::size_t n = 0;
    while (at > n && text_[at - n - 1] == '\\') ++n;
    return n % 2 == 1;
  }

  std::string text_;
  std::size_t pos_ = 0;
  int line_ = 1;
  DotenvFile result_;
};

}  // namespace

DotenvFile parseDotenv(std::string_view text) {
  return Parser(normaliseLineEnds(text)).run();
}

const DotenvEntry* findLast(const DotenvFile& file, std::string_view name) {
  for (auto it = file.entries.rbegin(); it != file.entries.rend(); ++it)
    if (it->name == name) return &*it;
  return nullptr;
}

std::string DotenvFile::formatErrors(const std::string& file) const {
  std::string out;
  for (const auto& e : errors) out += file + ":" + std::to_string(e.line) + ": " + e.message + "\n";
  return out;
}

}  // namespace pgvigil
