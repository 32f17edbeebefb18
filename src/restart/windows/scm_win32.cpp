// Win32ScmApi: the SCM calls behind ScmControl (scm_win32.h). Windows and Wine only.
#ifdef _WIN32

#include "restart/windows/scm_win32.h"

#include <utility>

namespace pgvigil {

namespace {

void copyStatus(const SERVICE_STATUS& in, ScmStatus& out) {
  out.state = in.dwCurrentState;
  out.win32_exit_code = in.dwWin32ExitCode;
  out.service_exit_code = in.dwServiceSpecificExitCode;
  out.check_point = in.dwCheckPoint;
  out.wait_hint_ms = in.dwWaitHint;
}

}  // namespace

std::wstring toWide(std::string_view utf8) {
  if (utf8.empty()) return {};
  const int n = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(),
                                      static_cast<int>(utf8.size()), nullptr, 0);
  if (n <= 0) return {};
  std::wstring out(static_cast<size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()),
                        out.data(), n);
  return out;
}

std::string toUtf8(std::wstring_view wide) {
  if (wide.empty()) return {};
  const int n = ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()),
                                      nullptr, 0, nullptr, nullptr);
  if (n <= 0) return {};
  std::string out(static_cast<size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n,
                        nullptr, nullptr);
  return out;
}

std::string win32Message(DWORD error) {
  wchar_t* buffer = nullptr;
  const DWORD n =
      ::FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                           FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_MAX_WIDTH_MASK,
                       nullptr, error, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                       reinterpret_cast<LPWSTR>(&buffer), 0, nullptr);
  std::unique_ptr<wchar_t, decltype(&::LocalFree)> owned(buffer, &::LocalFree);
  if (n == 0 || buffer == nullptr) return {};
  std::string text = toUtf8(std::wstring_view(buffer, n));
  while (!text.empty() &&
         (text.back() == '\r' || text.back() == '\n' || text.back() == ' ' || text.back() == '.'))
    text.pop_back();
  for (char& c : text)
    if (c == '\r' || c == '\n') c = ' ';
  return text;
}

std::uint32_t Win32ScmApi::open(const std::string& service, bool control) {
  close();
  const std::wstring machine = toWide(machine_);
  manager_.reset(
      ::OpenSCManagerW(machine.empty() ? nullptr : machine.c_str(), nullptr, SC_MANAGER_CONNECT));
  if (!manager_) return ::GetLastError();
  const std::wstring name = toWide(service);
  if (name.empty()) return ERROR_INVALID_NAME;
  const DWORD access = SERVICE_QUERY_STATUS | (control ? (SERVICE_START | SERVICE_STOP) : DWORD{0});
  service_.reset(::OpenServiceW(manager_.get(), name.c_str(), access));
  if (!service_) return ::GetLastError();
  return 0;
}

std::uint32_t Win32ScmApi::queryStatus(ScmStatus& out) {
  if (!service_) return ERROR_INVALID_HANDLE;
  SERVICE_STATUS_PROCESS st{};
  DWORD needed = 0;
  if (!::QueryServiceStatusEx(service_.get(), SC_STATUS_PROCESS_INFO, reinterpret_cast<LPBYTE>(&st),
                              sizeof st, &needed))
    return ::GetLastError();
  out.state = st.dwCurrentState;
  out.win32_exit_code = st.dwWin32ExitCode;
  out.service_exit_code = st.dwServiceSpecificExitCode;
  out.check_point = st.dwCheckPoint;
  out.wait_hint_ms = st.dwWaitHint;
  out.process_id = st.dwProcessId;
  return 0;
}

std::uint32_t Win32ScmApi::stop(ScmStatus& out) {
  if (!service_) return ERROR_INVALID_HANDLE;
  SERVICE_STATUS st{};
  if (!::ControlService(service_.get(), SERVICE_CONTROL_STOP, &st)) return ::GetLastError();
  copyStatus(st, out);
  return 0;
}

std::uint32_t Win32ScmApi::start() {
  if (!service_) return ERROR_INVALID_HANDLE;
  if (!::StartServiceW(service_.get(), 0, nullptr)) return ::GetLastError();
  return 0;
}

void Win32ScmApi::close() {
  service_.reset();
  manager_.reset();
}

}  // namespace pgvigil

#endif  // _WIN32
