// ScmApi over the real Win32 service API (advapi32): OpenSCManagerW, OpenServiceW,
// QueryServiceStatusEx, ControlService, StartServiceW, FormatMessageW. Windows (and Wine) only;
// Win32 + standard C++, so it cross-compiles with mingw-w64 without any other library.
#pragma once

#ifdef _WIN32

#include <windows.h>

#include <memory>
#include <string>
#include <string_view>

#include "restart/windows/scm_control.h"

namespace pgvigil {

/// Closes an SC_HANDLE (OpenSCManagerW / OpenServiceW / CreateServiceW).
struct ScHandleCloser {
  void operator()(SC_HANDLE handle) const {
    if (handle != nullptr) ::CloseServiceHandle(handle);
  }
};
using ScHandle = std::unique_ptr<std::remove_pointer_t<SC_HANDLE>, ScHandleCloser>;

/// UTF-8 <-> UTF-16 for the W functions ("" for input that is not valid).
std::wstring toWide(std::string_view utf8);
std::string toUtf8(std::wstring_view wide);
/// FormatMessageW(FROM_SYSTEM) as one UTF-8 line without the trailing ".\r\n"; "" if none.
std::string win32Message(DWORD error);

class Win32ScmApi final : public ScmApi {
 public:
  /// machine: "" for the local SCM.
  explicit Win32ScmApi(std::string machine = "") : machine_(std::move(machine)) {}

  std::uint32_t open(const std::string& service, bool control) override;
  std::uint32_t queryStatus(ScmStatus& out) override;
  std::uint32_t stop(ScmStatus& out) override;
  std::uint32_t start() override;
  void close() override;
  std::string message(std::uint32_t error) override { return win32Message(error); }

 private:
  std::string machine_;
  ScHandle manager_;
  ScHandle service_;
};

}  // namespace pgvigil

#endif  // _WIN32
