// Sets an environment variable for the life of a test scope and removes it after (the process's
// real environment, for code that reads getenv() itself: libpq's PGHOST/PGPORT conventions).
// setenv/unsetenv on POSIX, _putenv_s on Windows (mingw has no setenv).
#pragma once

#include <cstdlib>
#include <string>
#include <utility>

namespace pgvigil::testing {

class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
#ifdef _WIN32
    ::_putenv_s(name_.c_str(), value.c_str());
#else
    ::setenv(name_.c_str(), value.c_str(), 1);
#endif
  }
  ~ScopedEnv() {
#ifdef _WIN32
    ::_putenv_s(name_.c_str(), "");  // an empty value removes it
#else
    ::unsetenv(name_.c_str());
#endif
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

}  // namespace pgvigil::testing
