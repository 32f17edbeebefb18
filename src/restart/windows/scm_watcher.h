// The Windows service watcher: reports a service's ServiceState changes the moment the SCM
// announces them (NotifyServiceStatusChangeW, no polling), told apart by ScmStopRule
// (restart/scm_stop_rule.h): an operator's stop of pg_ctl's service is operator_stopped, a
// postmaster that died is failed. Windows (and Wine) only.
#pragma once

#ifdef _WIN32

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "restart/restarter.h"
#include "restart/scm_stop_rule.h"

namespace pgvigil {

/// Watches one service on its own thread, which opens it with SERVICE_QUERY_STATUS, arms
/// NotifyServiceStatusChangeW for every state but the last one seen and waits alertably on a stop
/// event (the notification is an APC on that thread). A service that does not exist (1060, the
/// SCM says not_found) or an SCM that cannot be reached is retried every retry_interval; a service
/// marked for delete (not_found) or a lagging client is reopened. The first status is the
/// baseline and is not reported (as SystemdServiceWatcher). stop() sets the event and waits at
/// most stop_timeout for the thread.
class ScmServiceWatcher final : public ServiceWatcher {
 public:
  explicit ScmServiceWatcher(std::string service,
                             std::chrono::milliseconds retry_interval = std::chrono::seconds(3),
                             std::uint32_t stop_wait_hint_ms = kPgCtlStopWaitHintMs);
  ~ScmServiceWatcher() override;
  ScmServiceWatcher(const ScmServiceWatcher&) = delete;
  ScmServiceWatcher& operator=(const ScmServiceWatcher&) = delete;

  void start(std::function<void(ServiceState)> onChange) override;
  void stop() override;

  /// True once the first status (the baseline) has been read: changes after it are reported.
  bool subscribed() const;

  struct Shared;  ///< the thread's state; shared so a thread that outlives stop() stays valid

 private:
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
  std::future<void> done_;
};

}  // namespace pgvigil

#endif  // _WIN32
