// The answer to a control request (pause, resume, restart, reload): a value, never an
// exception. Decided by the agent core, turned into an HTTP status by the router.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace pgvigil {

/// The answer to a control request (pause, resume, restart, reload). Expected failures are values.
struct [[nodiscard]] ControlResult {
  enum class Code {
    kOk,        ///< done (200)
    kAccepted,  ///< queued, happens asynchronously (202), e.g. a restart request
    kNotFound,  ///< no such target (404)
    kConflict,  ///< not possible in the current state, e.g. a restart already running (409)
    kInvalid,   ///< the request's arguments are wrong (400)
    kRejected,  ///< e.g. a reload whose new config is invalid: the old one keeps running (422)
    kFailed,    ///< tried and failed (500)
  };
  Code code = Code::kOk;
  std::string message;  ///< one line for the operator; never a secret

  static ControlResult ok(std::string msg = {}) { return {Code::kOk, std::move(msg)}; }
  static ControlResult accepted(std::string msg = {}) { return {Code::kAccepted, std::move(msg)}; }
  static ControlResult notFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
};
std::string_view toString(ControlResult::Code c);  ///< "ok", "accepted", "not_found", ...

}  // namespace pgvigil
