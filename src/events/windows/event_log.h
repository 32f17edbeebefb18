// The Windows Application event log for `log.output: eventlog`: RegisterEventSourceW /
// ReportEventW under the source "pgvigil" (registered by `pgvigil service install` with
// pgvigil.exe as its EventMessageFile, whose message table has one "%1" message per event ID:
// src/app/windows/pgvigil_messages.mc). Win32 + std only, so the Wine test can drive it without
// the rest of pgvigil. Under Wine the event log is a stub: the calls succeed, nothing is stored.
#pragma once

#include <windows.h>

#include <memory>
#include <string>
#include <string_view>

namespace pgvigil {

/// The event IDs of pgvigil's message table (each message is the text itself, "%1").
inline constexpr DWORD kEventLogMessageInfo = 1;
inline constexpr DWORD kEventLogMessageWarning = 2;
inline constexpr DWORD kEventLogMessageError = 3;

class WindowsEventLog {
 public:
  /// RegisterEventSourceW(source); null with *error set when it fails.
  static std::unique_ptr<WindowsEventLog> open(const std::wstring& source, DWORD* error);
  ~WindowsEventLog();
  WindowsEventLog(const WindowsEventLog&) = delete;
  WindowsEventLog& operator=(const WindowsEventLog&) = delete;

  /// One event: `type` EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE or EVENTLOG_INFORMATION_TYPE,
  /// the UTF-8 text as its one insertion string (cut at the event log's 31839 characters).
  /// NO_ERROR, or the Win32 error of ReportEventW.
  DWORD report(WORD type, std::string_view utf8);

 private:
  explicit WindowsEventLog(HANDLE handle) : handle_(handle) {}
  HANDLE handle_;
};

}  // namespace pgvigil
