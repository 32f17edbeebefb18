// `pgvigil service install|uninstall` in Win32 + std (no Poco, no agent), so that a small test
// program can drive it against Wine's real SCM (tests/windows/service_driver.cpp). What it sets
// is what service/windows/install.ps1 sets; docs/windows.md "Installing" explains every step.
#pragma once

#include <windows.h>

#include <string>
#include <vector>

#include "restart/windows/scm_win32.h"  // ScHandle, toWide, toUtf8, win32Message

namespace pgvigil {

struct ServiceInstallSpec {
  std::wstring name = L"pgvigil";
  std::wstring display_name = L"pgvigil PostgreSQL watchdog";
  std::wstring description =
      L"Checks PostgreSQL and restarts its service when it is down or hung (pgvigil).";
  /// The service's command line, quoted as it is to be run: serviceCommandLine().
  std::wstring command_line;
  /// The service's account: LocalSystem, NT AUTHORITY\LocalService or NT AUTHORITY\NetworkService
  /// (accounts without a password); checked by normalizeServiceAccount().
  std::wstring account = L"NT AUTHORITY\\LocalService";
  /// Created if missing, with Modify for the account (config, state\); "" for none.
  std::wstring data_dir;
  /// The event log source under HKLM\...\EventLog\Application; "" for none.
  std::wstring event_source = L"pgvigil";
  /// Its EventMessageFile: the exe with the message table (pgvigil.exe itself).
  std::wstring message_file;
  /// The PostgreSQL service whose DACL gets one ACE: the account may query, start and stop it.
  /// "" or LocalSystem: nothing granted. A service that does not exist is a warning.
  std::wstring postgres_service = L"postgresql-x64-15";
};

struct ServiceSetupResult {
  bool ok = true;
  DWORD error = 0;                 ///< the Win32 error of the step that failed
  std::vector<std::string> lines;  ///< what was done, one line each (UTF-8), for the console
  std::vector<std::string> warnings;
  std::string failure;  ///< the failed step with the system's text
};

/// `"BINARY" run --service -c "CONFIG"`.
std::wstring serviceCommandLine(const std::wstring& binary, const std::wstring& config);

/// The account's canonical name ("LocalService" -> "NT AUTHORITY\LocalService"), or "" when it
/// is not one of the three built-in service accounts.
std::wstring normalizeServiceAccount(const std::wstring& account);

/// Creates the service, or updates an existing one (idempotent): own process, automatic delayed
/// start, no dependency, description, recovery actions restart/5000/restart/5000/restart/60000
/// reset after 86400 s with the failure-actions flag (an error exit counts, not only a crash),
/// preshutdown timeout; then the event source, the data folder's ACE, the PostgreSQL ACE.
ServiceSetupResult installService(const ServiceInstallSpec& spec);

/// Stops the service (waits at most stopTimeoutMs for STOPPED), deletes it, and removes the
/// event source `eventSource` ("" keeps it). A service that does not exist is not an error.
ServiceSetupResult uninstallService(const std::wstring& name, const std::wstring& eventSource,
                                    DWORD stopTimeoutMs);

}  // namespace pgvigil
