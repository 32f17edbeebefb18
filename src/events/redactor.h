// The last line of defence against a secret in the alert log. Callers redact before they build
// an event; this catches what they missed. Every string of an event is passed through core's
// redactSecrets (the known secrets — passwords, the HTTP token — and the password=/URI/Bearer
// patterns), each becoming "*****"; the finished line is then passed through the known secrets
// once more (only those: a pattern could run past the end of a quoted value and break the line).
#pragma once

#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"
#include "core/redact.h"

namespace pgvigil {

class Redactor {
 public:
  static constexpr std::string_view kMask = kRedacted;

  /// Replaces the known secrets. Empty strings are ignored; longer secrets are masked first, so a
  /// secret that contains another one is masked whole. Thread-safe.
  void setSecrets(std::vector<std::string> secrets);

  /// `text` with every known secret and every password pattern masked (redactSecrets).
  std::string apply(std::string_view text) const;

  /// The event with its name, target, msg and every extra key and value passed through apply();
  /// the value of a field whose name says password, passwd, secret or token is masked whole.
  AlertEvent apply(const AlertEvent& event) const;

  /// `line` with every occurrence of a known secret replaced by kMask, and nothing else changed:
  /// for finished text/JSON lines.
  std::string applyKnown(std::string_view line) const;

  bool empty() const;

 private:
  static std::string replaceAll(std::string_view text, const std::vector<std::string>& secrets);

  mutable std::shared_mutex mutex_;
  std::vector<std::string> secrets_;  ///< non-empty, longest first
};

}  // namespace pgvigil
