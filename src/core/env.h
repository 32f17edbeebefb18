// The environment as an injectable lookup, and `${VAR}` / `${VAR:-default}` expansion
// (docs/reference.md §2). Tests pass Env::fromMap(...) and never touch the process environment.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgvigil {

class Env {
 public:
  using Lookup = std::function<std::optional<std::string>(const std::string& name)>;

  explicit Env(Lookup lookup) : lookup_(std::move(lookup)) {}

  /// The real process environment (getenv).
  static Env process();
  /// A fixed set of variables; everything else is unset.
  static Env fromMap(std::map<std::string, std::string> vars);
  /// `first` where it has the variable, else `second` (the process environment over .env files).
  static Env layered(Env first, Env second);
  /// Nothing is set.
  static Env none() { return fromMap({}); }

  /// The value of `name`, or nullopt when unset.
  std::optional<std::string> get(const std::string& name) const {
    return lookup_ ? lookup_(name) : std::nullopt;
  }

 private:
  Lookup lookup_;
};

/// The outcome of expanding one scalar.
struct [[nodiscard]] Expansion {
  std::string value;
  /// Variables whose value was substituted (set and, for ${VAR:-d}, non-empty), in order.
  std::vector<std::string> substituted;
  /// Variables that were unset (or empty) and whose ${VAR:-default} fallback was used.
  std::vector<std::string> defaulted;
  std::string error;  ///< "" on success; names the variable, never prints any value
  bool ok() const { return error.empty(); }
};

/// Replaces `${VAR}` (VAR must be set; it may be empty) and `${VAR:-default}` (the default when
/// VAR is unset or empty, shell style). VAR is [A-Za-z_][A-Za-z0-9_]*; the default is literal
/// text up to the first '}'. `$${` gives a literal `${`; any other `$` is kept as it is.
Expansion expandEnv(std::string_view text, const Env& env);

}  // namespace pgvigil
