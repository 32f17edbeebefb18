#include "app/windows/service_install.h"

#include <aclapi.h>
#include <sddl.h>

#include <cwctype>
#include <memory>

namespace pgvigil {
namespace {

constexpr DWORD kPostgresRights = SERVICE_QUERY_STATUS | SERVICE_START | SERVICE_STOP;
// icacls' "M" (Modify): read, write, execute and delete, but not change permissions or owner.
constexpr DWORD kModifyRights = 0x1301bf;

struct LocalFreer {
  void operator()(void* p) const {
    if (p) LocalFree(p);
  }
};

class Steps {
 public:
  explicit Steps(ServiceSetupResult& result) : r_(result) {}
  void done(const std::wstring& line) { r_.lines.push_back(toUtf8(line)); }
  void warn(const std::wstring& line) { r_.warnings.push_back(toUtf8(line)); }
  ServiceSetupResult fail(const std::wstring& step, DWORD error) {
    r_.ok = false;
    r_.error = error;
    r_.failure = toUtf8(step) + ": " + win32Message(error) + " (" + std::to_string(error) + ")";
    if (error == ERROR_ACCESS_DENIED) r_.failure += "; run it elevated (Run as administrator)";
    return r_;
  }

 private:
  ServiceSetupResult& r_;
};

bool equalsNoCase(const std::wstring& a, const wchar_t* b) {
  const std::wstring bs(b);
  if (a.size() != bs.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::towlower(a[i]) != std::towlower(bs[i])) return false;
  return true;
}

/// The SID of a built-in service account (a well-known SID: no name lookup needed).
std::unique_ptr<void, LocalFreer> accountSid(const std::wstring& account) {
  const wchar_t* sid = account == L"LocalSystem"                  ? L"S-1-5-18"
                       : account == L"NT AUTHORITY\\LocalService" ? L"S-1-5-19"
                                                                  : L"S-1-5-20";
  PSID out = nullptr;
  if (!ConvertStringSidToSidW(sid, &out)) return nullptr;
  return std::unique_ptr<void, LocalFreer>(out);
}

EXPLICIT_ACCESSW grant(PSID sid, DWORD rights, DWORD inheritance) {
  EXPLICIT_ACCESSW ea{};
  ea.grfAccessPermissions = rights;
  ea.grfAccessMode = GRANT_ACCESS;
  ea.grfInheritance = inheritance;
  ea.Trustee.TrusteeForm = TRUSTEE_IS_SID;
  ea.Trustee.TrusteeType = TRUSTEE_IS_WELL_KNOWN_GROUP;
  ea.Trustee.ptstrName = static_cast<LPWSTR>(sid);
  return ea;
}

/// Creates `dir` (and its parents' last level) if missing; the account gets Modify, inherited.
DWORD prepareDirectory(const std::wstring& dir, PSID sid) {
  for (const std::wstring& d : {dir, dir + L"\\state"})
    if (!CreateDirectoryW(d.c_str(), nullptr) && GetLastError() != ERROR_ALREADY_EXISTS)
      return GetLastError();
  if (!sid) return NO_ERROR;
  PACL oldDacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  DWORD rc = GetNamedSecurityInfoW(dir.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                                   nullptr, &oldDacl, nullptr, &sd);
  std::unique_ptr<void, LocalFreer> sdOwner(sd);
  if (rc != ERROR_SUCCESS) return rc;
  EXPLICIT_ACCESSW ea = grant(sid, kModifyRights, SUB_CONTAINERS_AND_OBJECTS_INHERIT);
  PACL newDacl = nullptr;
  rc = SetEntriesInAclW(1, &ea, oldDacl, &newDacl);
  std::unique_ptr<void, LocalFreer> daclOwner(newDacl);
  if (rc != ERROR_SUCCESS) return rc;
  return SetNamedSecurityInfoW(const_cast<LPWSTR>(dir.c_str()), SE_FILE_OBJECT,
                               DACL_SECURITY_INFORMATION, nullptr, nullptr, newDacl, nullptr);
}

/// Whether `dacl` already allows `sid` at least `rights`.
bool allows(PACL dacl, PSID sid, DWORD rights) {
  if (!dacl) return false;
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!GetAce(dacl, i, &ace)) continue;
    auto* header = static_cast<ACE_HEADER*>(ace);
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE) continue;
    auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
    if (EqualSid(reinterpret_cast<PSID>(&allowed->SidStart), sid) &&
        (allowed->Mask & rights) == rights)
      return true;
  }
  return false;
}

/// One ACE on the PostgreSQL service: `sid` may query, start and stop it (install.ps1's
/// `(A;;LCRPWP;;;SID)`). Returns NO_ERROR, with *already when nothing had to change.
DWORD grantServiceControl(SC_HANDLE scm, const std::wstring& service, PSID sid, bool* already) {
  ScHandle handle(OpenServiceW(scm, service.c_str(), READ_CONTROL | WRITE_DAC));
  if (!handle) return GetLastError();
  DWORD needed = 0;
  QueryServiceObjectSecurity(handle.get(), DACL_SECURITY_INFORMATION, nullptr, 0, &needed);
  if (needed == 0) return GetLastError();
  std::vector<BYTE> buffer(needed);
  if (!QueryServiceObjectSecurity(handle.get(), DACL_SECURITY_INFORMATION, buffer.data(), needed,
                                  &needed))
    return GetLastError();
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = nullptr;
  if (!GetSecurityDescriptorDacl(buffer.data(), &present, &dacl, &defaulted)) return GetLastError();
  if (!present) dacl = nullptr;
  *already = allows(dacl, sid, kPostgresRights);
  if (*already) return NO_ERROR;
  EXPLICIT_ACCESSW ea = grant(sid, kPostgresRights, NO_INHERITANCE);
  PACL newDacl = nullptr;
  DWORD rc = SetEntriesInAclW(1, &ea, dacl, &newDacl);
  std::unique_ptr<void, LocalFreer> daclOwner(newDacl);
  if (rc != ERROR_SUCCESS) return rc;
  SECURITY_DESCRIPTOR sd;
  if (!InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION) ||
      !SetSecurityDescriptorDacl(&sd, TRUE, newDacl, FALSE) ||
      !SetServiceObjectSecurity(handle.get(), DACL_SECURITY_INFORMATION, &sd))
    return GetLastError();
  return NO_ERROR;
}

std::wstring eventSourceKey(const std::wstring& source) {
  return L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" + source;
}

DWORD registerEventSource(const std::wstring& source, const std::wstring& messageFile) {
  HKEY key = nullptr;
  LSTATUS rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, eventSourceKey(source).c_str(), 0, nullptr, 0,
                               KEY_SET_VALUE, nullptr, &key, nullptr);
  if (rc != ERROR_SUCCESS) return static_cast<DWORD>(rc);
  const DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
  rc = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ,
                      reinterpret_cast<const BYTE*>(messageFile.c_str()),
                      static_cast<DWORD>((messageFile.size() + 1) * sizeof(wchar_t)));
  if (rc == ERROR_SUCCESS)
    rc = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, reinterpret_cast<const BYTE*>(&types),
                        sizeof(types));
  RegCloseKey(key);
  return static_cast<DWORD>(rc);
}

}  // namespace

std::wstring serviceCommandLine(const std::wstring& binary, const std::wstring& config) {
  return L"\"" + binary + L"\" run --service -c \"" + config + L"\"";
}

std::wstring normalizeServiceAccount(const std::wstring& account) {
  for (const wchar_t* a : {L"LocalSystem", L".\\LocalSystem", L"NT AUTHORITY\\SYSTEM", L"SYSTEM"})
    if (equalsNoCase(account, a)) return L"LocalSystem";
  for (const wchar_t* a : {L"LocalService", L"NT AUTHORITY\\LocalService"})
    if (equalsNoCase(account, a)) return L"NT AUTHORITY\\LocalService";
  for (const wchar_t* a : {L"NetworkService", L"NT AUTHORITY\\NetworkService"})
    if (equalsNoCase(account, a)) return L"NT AUTHORITY\\NetworkService";
  return L"";
}

ServiceSetupResult installService(const ServiceInstallSpec& spec) {
  ServiceSetupResult result;
  Steps steps(result);
  const std::wstring account = normalizeServiceAccount(spec.account);
  if (account.empty()) return steps.fail(L"account " + spec.account, ERROR_INVALID_SERVICE_ACCOUNT);
  const bool localSystem = account == L"LocalSystem";
  auto sid = accountSid(account);
  if (!sid) return steps.fail(L"the SID of " + account, GetLastError());

  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE));
  if (!scm) return steps.fail(L"open the Service Control Manager", GetLastError());

  // 1. The service: own process, automatic start, no dependency (pgvigil must run while
  //    PostgreSQL is down), the built-in account (no password: "").
  const DWORD access =
      SERVICE_CHANGE_CONFIG | SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS | SERVICE_START;
  wchar_t noDependencies[2] = {L'\0', L'\0'};  // an empty double-NUL list clears them
  ScHandle service(OpenServiceW(scm.get(), spec.name.c_str(), access));
  if (service) {
    if (!ChangeServiceConfigW(service.get(), SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                              SERVICE_ERROR_NORMAL, spec.command_line.c_str(), L"", nullptr,
                              noDependencies, account.c_str(), L"", spec.display_name.c_str()))
      return steps.fail(L"update the service " + spec.name, GetLastError());
    steps.done(L"updated service " + spec.name + L": " + spec.command_line);
    SERVICE_STATUS status{};
    if (QueryServiceStatus(service.get(), &status) && status.dwCurrentState != SERVICE_STOPPED)
      steps.warn(L"service " + spec.name +
                 L" is running: restart it for the changes to take effect (Restart-Service " +
                 spec.name + L")");
  } else if (GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST) {
    service.reset(CreateServiceW(scm.get(), spec.name.c_str(), spec.display_name.c_str(), access,
                                 SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                 SERVICE_ERROR_NORMAL, spec.command_line.c_str(), nullptr, nullptr,
                                 noDependencies, account.c_str(), L""));
    if (!service) return steps.fail(L"create the service " + spec.name, GetLastError());
    steps.done(L"created service " + spec.name + L": " + spec.command_line);
  } else {
    return steps.fail(L"open the service " + spec.name, GetLastError());
  }
  steps.done(L"  account " + account + L", automatic start, no dependencies");

  // 2. Description, delayed start, and recovery for pgvigil itself: restart after 5 s, 5 s, then
  //    every 60 s; the count resets after a day without failures; the flag makes a STOPPED with
  //    an error exit code (a config error, the loop's internal error) count as a failure too.
  SERVICE_DESCRIPTIONW description{const_cast<LPWSTR>(spec.description.c_str())};
  if (!ChangeServiceConfig2W(service.get(), SERVICE_CONFIG_DESCRIPTION, &description))
    return steps.fail(L"set the description", GetLastError());
  // Wine's SCM knows neither the delayed start nor the failure-actions flag (ERROR_INVALID_LEVEL):
  // a warning there, since Windows has both (Vista and later).
  auto optional = [&](DWORD level, void* info, const wchar_t* what, bool* set = nullptr) -> bool {
    if (ChangeServiceConfig2W(service.get(), level, info)) {
      if (set) *set = true;
      return true;
    }
    const DWORD error = GetLastError();
    if (error != ERROR_INVALID_LEVEL) {
      steps.fail(std::wstring(L"set ") + what, error);
      return false;
    }
    steps.warn(std::wstring(L"this Service Control Manager cannot set ") + what + L" (error " +
               std::to_wstring(error) + L"); left out");
    return true;
  };
  SERVICE_DELAYED_AUTO_START_INFO delayed{TRUE};
  bool delayedSet = false;
  if (!optional(SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed, L"the delayed automatic start",
                &delayedSet))
    return result;
  if (delayedSet) steps.done(L"  delayed: it starts shortly after the other automatic services");
  SC_ACTION actions[] = {
      {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 60000}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 86400;
  failure.cActions = 3;
  failure.lpsaActions = actions;
  if (!ChangeServiceConfig2W(service.get(), SERVICE_CONFIG_FAILURE_ACTIONS, &failure))
    return steps.fail(L"set the recovery actions", GetLastError());
  SERVICE_FAILURE_ACTIONS_FLAG flag{TRUE};
  if (!optional(SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag, L"the failure-actions flag"))
    return result;
  steps.done(L"  recovery: restart/5000/restart/5000/restart/60000, reset 86400 s, on error exits");

  // 3. The event log source for log.output: eventlog.
  if (!spec.event_source.empty()) {
    if (DWORD rc = registerEventSource(spec.event_source, spec.message_file))
      return steps.fail(L"register the event log source " + spec.event_source, rc);
    steps.done(L"event log source " + spec.event_source + L" (Application log)");
  }

  // 4. The data folder (config, state\): Modify for the account.
  if (!spec.data_dir.empty()) {
    if (DWORD rc = prepareDirectory(spec.data_dir, localSystem ? nullptr : sid.get()))
      return steps.fail(L"prepare " + spec.data_dir, rc);
    steps.done(L"folder " + spec.data_dir +
               (localSystem ? std::wstring() : L" (Modify for " + account + L")"));
  }

  // 5. Least privilege: the account may query, start and stop the PostgreSQL service, no more.
  if (!spec.postgres_service.empty() && !localSystem) {
    bool already = false;
    const DWORD rc = grantServiceControl(scm.get(), spec.postgres_service, sid.get(), &already);
    if (rc == ERROR_SERVICE_DOES_NOT_EXIST)
      steps.warn(L"service " + spec.postgres_service +
                 L" not found: no rights granted (--postgres-service NAME, then install again)");
    else if (rc != NO_ERROR)
      return steps.fail(L"grant " + account + L" control of " + spec.postgres_service, rc);
    else
      steps.done(spec.postgres_service + (already ? L" already lets " : L" now lets ") + account +
                 L" query, start and stop it");
  }
  return result;
}

ServiceSetupResult uninstallService(const std::wstring& name, const std::wstring& eventSource,
                                    DWORD stopTimeoutMs) {
  ServiceSetupResult result;
  Steps steps(result);
  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!scm) return steps.fail(L"open the Service Control Manager", GetLastError());
  ScHandle service(
      OpenServiceW(scm.get(), name.c_str(), SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
  if (!service && GetLastError() != ERROR_SERVICE_DOES_NOT_EXIST)
    return steps.fail(L"open the service " + name, GetLastError());
  if (!service) {
    steps.done(L"no service " + name + L": nothing to remove");
  } else {
    SERVICE_STATUS status{};
    if (QueryServiceStatus(service.get(), &status) && status.dwCurrentState != SERVICE_STOPPED) {
      if (!ControlService(service.get(), SERVICE_CONTROL_STOP, &status) &&
          GetLastError() != ERROR_SERVICE_NOT_ACTIVE &&
          GetLastError() != ERROR_SERVICE_CANNOT_ACCEPT_CTRL)
        steps.warn(L"stopping " + name + L" failed: " + toWide(win32Message(GetLastError())));
      const ULONGLONG deadline = GetTickCount64() + stopTimeoutMs;
      while (QueryServiceStatus(service.get(), &status) &&
             status.dwCurrentState != SERVICE_STOPPED && GetTickCount64() < deadline)
        Sleep(200);
      if (status.dwCurrentState == SERVICE_STOPPED)
        steps.done(L"stopped service " + name);
      else
        steps.warn(L"service " + name + L" did not stop within " +
                   std::to_wstring(stopTimeoutMs / 1000) +
                   L" s: deleted anyway; Windows removes it once it stops");
    }
    if (!DeleteService(service.get()) && GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE)
      return steps.fail(L"delete the service " + name, GetLastError());
    steps.done(L"deleted service " + name);
  }
  if (!eventSource.empty()) {
    const LSTATUS rc = RegDeleteKeyW(HKEY_LOCAL_MACHINE, eventSourceKey(eventSource).c_str());
    if (rc == ERROR_SUCCESS)
      steps.done(L"removed event log source " + eventSource);
    else if (rc != ERROR_FILE_NOT_FOUND)
      return steps.fail(L"remove the event log source " + eventSource, static_cast<DWORD>(rc));
  }
  return result;
}

}  // namespace pgvigil
