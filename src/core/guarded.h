// The guard every long-lived or helper thread body runs in: an exception that leaves a thread's
// function calls std::terminate and takes the agent down without a word. runGuarded catches
// everything, describes it ("systemd watcher for pg.service: internal error: ...") to `report`,
// and returns false so the caller can retry or stop cleanly.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <string_view>

namespace pgvigil {

using ErrorReporter = std::function<void(const std::string&)>;

/// Runs `body`. Returns true when it returned, false when it threw; then `report` (if set) gets
/// "<what>: internal error: <exception text>". Never throws, also when `report` does.
inline bool runGuarded(std::string_view what, const std::function<void()>& body,
                       const ErrorReporter& report) noexcept {
  std::string message;
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    try {
      message = std::string(what) + ": internal error: " + e.what();
    } catch (...) {
    }
  } catch (...) {
    try {
      message = std::string(what) + ": internal error: unknown exception";
    } catch (...) {
    }
  }
  try {
    if (report) report(message);
  } catch (...) {
  }
  return false;
}

/// The text of an exception in flight ("unknown exception" for a non-std one). Never throws.
inline std::string describeException(std::exception_ptr e) noexcept {
  try {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      return ex.what();
    } catch (...) {
      return "unknown exception";
    }
  } catch (...) {
    return {};
  }
}

}  // namespace pgvigil
