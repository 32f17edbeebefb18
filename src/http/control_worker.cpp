// The control worker. See control_worker.h.
#include "http/control_worker.h"

#include "http/response_writer.h"

namespace pgvigil {

void ControlWorker::start() {
  {
    std::lock_guard lock(mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void ControlWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ControlWorker::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

std::deque<ControlWorker::Done> ControlWorker::takeDone() {
  std::deque<Done> done;
  std::lock_guard lock(mutex_);
  done.swap(done_);
  return done;
}

void ControlWorker::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    std::uint64_t conn = jobs_.front().conn;
    bool keepAlive = jobs_.front().keepAlive;
    try {
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      HttpResponse response = router_.handle(job.request);  // never throws
      lock.lock();
      done_.push_back({job.conn, std::move(response), job.keepAlive});
    } catch (...) {
      // Only bad_alloc can get here. The connection still gets an answer (it is out of the
      // poll set until it does); if even that fails, the client times out.
      if (!lock.owns_lock()) lock.lock();
      report_("unexpected error in a control request", std::current_exception());
      try {
        done_.push_back({conn, errorResponse(500, "internal error"), keepAlive});
      } catch (...) {
      }
    }
  }
}

}  // namespace pgvigil
