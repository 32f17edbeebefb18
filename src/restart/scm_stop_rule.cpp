// The operator-stop rule of the Windows service watcher (scm_stop_rule.h).
#include "restart/scm_stop_rule.h"

namespace pgvigil {

ServiceState ScmStopRule::onStatus(const ScmStatus& s) {
  const std::uint32_t previous = last_state_;
  last_state_ = s.state;
  switch (s.state) {
    case win32::kServiceStartPending:
    case win32::kServiceRunning:
    case win32::kServiceContinuePending:
    case win32::kServicePausePending:
    case win32::kServicePaused:
      operator_stop_ = false;
      verdict_ = ServiceState::kRunning;
      break;
    case win32::kServiceStopPending:
      if (s.wait_hint_ms == stop_hint_) {
        operator_stop_ = true;
        verdict_ = ServiceState::kOperatorStopped;
      }
      break;
    case win32::kServiceStopped: {
      const bool clean =
          s.win32_exit_code == 0 || s.win32_exit_code == win32::kErrorServiceNeverStarted;
      if (!clean) {
        verdict_ = ServiceState::kFailed;
      } else if (operator_stop_) {
        verdict_ = ServiceState::kOperatorStopped;
      } else if (previous == 0) {
        verdict_ = ServiceState::kUnknown;  // stopped before we looked: why is not known
      } else if (previous != win32::kServiceStopped) {
        verdict_ = ServiceState::kFailed;
      }
      break;
    }
    default:
      last_state_ = previous;  // not a service state: ignored
      break;
  }
  return verdict_;
}

ServiceState ScmStopRule::onGone() {
  last_state_ = 0;
  operator_stop_ = false;
  verdict_ = ServiceState::kNotFound;
  return verdict_;
}

}  // namespace pgvigil
