// The status endpoint's control worker: POST requests (pause, resume, restart, reload) call the
// agent's control interface, and a reload reads and applies a config file. They run on this one
// thread, handed over by the loop, so that nothing they do can stall the loop and /health.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "http/router.h"

namespace pgvigil {

class ControlWorker {
 public:
  /// A request for the router, and where its answer goes.
  struct Job {
    std::uint64_t conn;
    HttpRequest request;
    bool keepAlive;
  };
  /// The router's answer.
  struct Done {
    std::uint64_t conn;
    HttpResponse response;
    bool keepAlive;
  };
  using Report = std::function<void(std::string_view what, std::exception_ptr error)>;

  /// report: where an unexpected error (bad_alloc) goes; called on the worker thread.
  ControlWorker(Router& router, Report report) : router_(router), report_(std::move(report)) {}
  ~ControlWorker() { stop(); }
  ControlWorker(const ControlWorker&) = delete;
  ControlWorker& operator=(const ControlWorker&) = delete;

  /// Starts the thread; throws when it cannot.
  void start();
  /// Stops and joins the thread; jobs not begun are dropped. Idempotent.
  void stop();
  void submit(Job job);
  /// The answers ready so far, in order.
  std::deque<Done> takeDone();

 private:
  void run();

  Router& router_;
  Report report_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::deque<Done> done_;
  bool stop_ = false;
};

}  // namespace pgvigil
