// `pgvigil service install|uninstall` and `pgvigil run --service` on Windows.
#include "app/cmd_service.h"

#include <windows.h>

#include <filesystem>
#include <ostream>
#include <sstream>

#include "app/agent_signals.h"
#include "app/cmd_run.h"
#include "app/windows/service_host.h"
#include "app/windows/service_install.h"
#include "core/config_loader.h"
#include "core/env.h"
#include "events/windows/event_log.h"

namespace pgvigil {
namespace {

constexpr DWORD kUninstallStopTimeoutMs = 30'000;

std::wstring exePath() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    const DWORD n = GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (n == 0) return {};
    if (n < path.size()) {
      path.resize(n);
      return path;
    }
    path.resize(path.size() * 2);
  }
}

void print(const ServiceSetupResult& r, std::ostream& out, std::ostream& err) {
  for (const auto& line : r.lines) out << "  " << line << "\n";
  for (const auto& line : r.warnings) err << "pgvigil: warning: " << line << "\n";
  if (!r.ok) err << "pgvigil: " << r.failure << "\n";
}

/// A service has no console: what `run` would print on stderr goes to the Application log.
void reportToEventLog(WORD type, const std::string& text) {
  if (text.empty()) return;
  if (auto log = WindowsEventLog::open(L"pgvigil", nullptr)) (void)log->report(type, text);
}

int install(const CliCommand& cmd, std::ostream& out, std::ostream& err) {
  ServiceInstallSpec spec;
  if (cmd.service_name) spec.name = toWide(*cmd.service_name);
  if (cmd.account) spec.account = toWide(*cmd.account);
  if (normalizeServiceAccount(spec.account).empty()) {
    err << "pgvigil: --account " << cmd.account.value_or("")
        << ": pgvigil service install takes LocalService, NetworkService or LocalSystem; for a "
           "user account use service\\windows\\install.ps1 (it asks for the password)\n";
    return kExitUsage;
  }
  if (cmd.postgres_service) spec.postgres_service = toWide(*cmd.postgres_service);
  const std::wstring binary = exePath();
  if (binary.empty()) {
    err << "pgvigil: cannot find my own path (GetModuleFileNameW: " << win32Message(GetLastError())
        << ")\n";
    return kExitFailed;
  }
  // The config: -c as an absolute path (the service does not start in this directory), else
  // the default, %ProgramData%\pgvigil\pgvigil.yaml.
  std::error_code ec;
  const std::filesystem::path config = std::filesystem::absolute(
      std::filesystem::path(toWide(resolveConfigPath(cmd.config.value_or(""), Env::process()))),
      ec);
  spec.command_line = serviceCommandLine(binary, config.wstring());
  spec.message_file = binary;
  spec.data_dir = config.parent_path().wstring();
  out << "pgvigil: installing the service " << toUtf8(spec.name) << "\n";
  ServiceSetupResult result = installService(spec);
  print(result, out, err);
  if (!result.ok) return kExitFailed;
  // First install: the example config beside the binary (the zip's config\windows.yaml).
  if (!std::filesystem::exists(config, ec)) {
    const auto example = std::filesystem::path(binary).parent_path() / L"config" / L"windows.yaml";
    if (CopyFileW(example.c_str(), config.c_str(), TRUE))
      out << "  wrote " << toUtf8(config.wstring()) << " from " << toUtf8(example.wstring())
          << ": edit it, then start the service\n";
    else
      err << "pgvigil: warning: no config at " << toUtf8(config.wstring())
          << " yet: the service will not start until there is one\n";
  }
  out << "pgvigil: installed. Start it with: sc.exe start " << toUtf8(spec.name)
      << " (or Start-Service " << toUtf8(spec.name) << ")\n";
  return kExitOk;
}

int uninstall(const CliCommand& cmd, std::ostream& out, std::ostream& err) {
  const std::wstring name = toWide(cmd.service_name.value_or("pgvigil"));
  // The event source is "pgvigil" whatever the service's name; only its own service removes it.
  const std::wstring source = name == L"pgvigil" ? L"pgvigil" : L"";
  out << "pgvigil: removing the service " << toUtf8(name) << "\n";
  ServiceSetupResult result = uninstallService(name, source, kUninstallStopTimeoutMs);
  print(result, out, err);
  return result.ok ? kExitOk : kExitFailed;
}

}  // namespace

int runServiceCommand(const CliCommand& cmd, std::ostream& out, std::ostream& err) {
  return cmd.sub == "install" ? install(cmd, out, err) : uninstall(cmd, out, err);
}

int runRunAsService(const std::string& configPath, std::ostream& err) {
  ServiceHostOptions options;
  options.on_stop = [](const std::string& why) { requestAgentStop(why); };
  options.on_paramchange = [] { requestAgentReload(); };
  options.body = [&configPath](ServiceSession& session) -> int {
    session.progress(30'000);
    const Env env = Env::process();
    const std::string path = resolveConfigPath(configPath, env);
    auto loaded = loadConfigFile(path, env);
    if (!loaded.config) {
      // STOPPED with service-specific code 78: the recovery actions retry, and the reason is in
      // the Application log (sc query shows only the code).
      reportToEventLog(EVENTLOG_ERROR_TYPE, "pgvigil: the config is invalid; not starting\n" +
                                                formatErrors(loaded.errors));
      return kExitConfig;
    }
    std::ostringstream errors;
    const int rc = runAgent(std::move(*loaded.config), {}, errors);
    reportToEventLog(EVENTLOG_ERROR_TYPE, errors.str());
    return rc;
  };
  DWORD error = 0;
  const int rc = runServiceHost(std::move(options), &error);
  if (rc < 0) {
    err << "pgvigil: run --service: not started by the Service Control Manager ("
        << win32Message(error) << ", " << error
        << "); in a console run 'pgvigil run' without --service\n";
    return kExitUsage;
  }
  return rc;
}

}  // namespace pgvigil
