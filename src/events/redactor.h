// The last line of defence against a secret in the alert log: every string that leaves a sink
// is passed through the known secrets (passwords, the HTTP token) and each occurrence becomes
// "*****". Callers redact before they build an event; this catches what they missed.
#pragma once

#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"

namespace pgvigil {

class Redactor {
 public:
  static constexpr std::string_view kMask = "*****";

  /// Replaces the known secrets. Empty strings are ignored; longer secrets are masked first, so a
  /// secret that contains another one is masked whole. Thread-safe.
  void setSecrets(std::vector<std::string> secrets);

  /// `text` with every occurrence of a known secret replaced by kMask.
  std::string apply(std::string_view text) const;

  /// The event with target, msg and every extra key and value redacted.
  AlertEvent apply(const AlertEvent& event) const;

  bool empty() const;

 private:
  static std::string replaceAll(std::string_view text, const std::vector<std::string>& secrets);

  mutable std::shared_mutex mutex_;
  std::vector<std::string> secrets_;  ///< non-empty, longest first
};

}  // namespace pgvigil
