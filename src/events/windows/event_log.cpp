#include "events/windows/event_log.h"

namespace pgvigil {
namespace {

// ReportEventW's limit for one insertion string.
constexpr std::size_t kMaxChars = 31839;

std::wstring wide(std::string_view utf8) {
  if (utf8.empty()) return {};
  const int n =
      MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n > 0 ? n : 0), L'\0');
  if (n > 0)
    MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

}  // namespace

std::unique_ptr<WindowsEventLog> WindowsEventLog::open(const std::wstring& source, DWORD* error) {
  HANDLE handle = RegisterEventSourceW(nullptr, source.c_str());
  if (!handle) {
    if (error) *error = GetLastError();
    return nullptr;
  }
  if (error) *error = NO_ERROR;
  return std::unique_ptr<WindowsEventLog>(new WindowsEventLog(handle));
}

WindowsEventLog::~WindowsEventLog() {
  DeregisterEventSource(handle_);
}

DWORD WindowsEventLog::report(WORD type, std::string_view utf8) {
  std::wstring text = wide(utf8);
  if (text.size() > kMaxChars) text.resize(kMaxChars);
  const DWORD id = type == EVENTLOG_ERROR_TYPE     ? kEventLogMessageError
                   : type == EVENTLOG_WARNING_TYPE ? kEventLogMessageWarning
                                                   : kEventLogMessageInfo;
  LPCWSTR strings[] = {text.c_str()};
  if (!ReportEventW(handle_, type, 0, id, nullptr, 1, 0, strings, nullptr)) return GetLastError();
  return NO_ERROR;
}

}  // namespace pgvigil
