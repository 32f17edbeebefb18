// Windows: the service host's status reports (src/app/windows/service_host.h) when `pgvigil run
// --service` runs under the SCM; a no-op in a console. No watchdog: the SCM has none.
#include "app/service_notify.h"

#include "app/windows/service_host.h"

namespace pgvigil {
namespace {

// START_PENDING moves its checkpoint on every agent tick (at most once a second) while the first
// rounds run; the SCM considers a start stalled once the checkpoint has not moved for the hint.
constexpr DWORD kStartHintMs = 10'000;
// The stop joins the loop, the endpoint and the log: the probes' own timeouts bound it.
constexpr DWORD kStopHintMs = 20'000;

}  // namespace

ServiceNotifier::ServiceNotifier() = default;

void ServiceNotifier::ready() {
  if (ServiceSession* session = currentServiceSession()) session->running();
}

void ServiceNotifier::stopping() {
  if (ServiceSession* session = currentServiceSession()) session->stopping(kStopHintMs);
}

void ServiceNotifier::reloading() {}  // the SCM has no reloading state

void ServiceNotifier::status(const std::string&) {}  // nor a status text

void ServiceNotifier::watchdogKick(std::chrono::steady_clock::time_point now) {
  ServiceSession* session = currentServiceSession();
  if (!session || now - lastKick_ < std::chrono::seconds(1)) return;
  lastKick_ = now;
  session->progress(kStartHintMs);  // only while START_PENDING or STOP_PENDING
}

}  // namespace pgvigil
