// process_launcher.h on Windows (see process_launcher_windows.h).
#include "restart/windows/process_launcher_windows.h"

#include <windows.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>

#include "restart/windows/scm_win32.h"  // toWide, win32Message

namespace pgvigil {
namespace {

/// The exit code TerminateJobObject/TerminateProcess gives: 128 + SIGKILL, as a shell reports a
/// killed command.
constexpr UINT kKilledExitCode = 128 + kSignalKill;
/// The pipe's buffer: output is read in ticks (anonymous pipes have no overlapped I/O), so the
/// buffer is what a command can write between two reads without blocking.
constexpr DWORD kPipeBuffer = 64 * 1024;
constexpr DWORD kTickMs = 20;

struct HandleCloser {
  void operator()(HANDLE h) const {
    if (h != nullptr && h != INVALID_HANDLE_VALUE) ::CloseHandle(h);
  }
};
using Handle = std::unique_ptr<std::remove_pointer_t<HANDLE>, HandleCloser>;

class WindowsChildProcess final : public ChildProcess {
 public:
  WindowsChildProcess(Handle process, Handle job, Handle output, std::size_t outputLimit)
      : process_(std::move(process)),
        job_(std::move(job)),
        output_(std::move(output)),
        captured_(outputLimit) {}

  ~WindowsChildProcess() override {
    if (!reaped_ && ::WaitForSingleObject(process_.get(), 0) != WAIT_OBJECT_0) kill();
    // Nothing to reap on Windows: closing the handles is all. A job closed without
    // KILL_ON_JOB_CLOSE leaves what already ended ended and nothing else is touched.
  }

  pid_t pid() const override { return static_cast<pid_t>(::GetProcessId(process_.get())); }

  bool waitExit(const Deadline& until) override {
    for (;;) {
      readOutput();
      if (exited()) {
        drainOutput();
        return true;
      }
      const auto left = until.remaining().count();
      if (left <= 0) return false;
      ::WaitForSingleObject(process_.get(), DWORD(std::min<long long>(left, kTickMs)));
    }
  }

  void signalGroup(int signal) override {
    if (signal == kSignalKill && !reaped_) kill();
  }

  bool canAskToStop() const override { return false; }

  ExitStatus reap() override {
    if (reaped_) return status_;
    ::WaitForSingleObject(process_.get(), INFINITE);  // called after waitExit() said it ended
    reaped_ = true;
    DWORD code = 0;
    if (!::GetExitCodeProcess(process_.get(), &code)) {
      status_.lost = true;
    } else if (killed_ && code == kKilledExitCode) {
      status_.signaled = true;
      status_.signal = kSignalKill;
    } else {
      status_.code = static_cast<int>(code);
    }
    drainOutput();
    output_.reset();
    return status_;
  }

  const BoundedOutput& output() const override { return captured_; }

 private:
  bool exited() const {
    return reaped_ || ::WaitForSingleObject(process_.get(), 0) == WAIT_OBJECT_0;
  }

  void kill() {
    killed_ = true;
    if (job_)
      ::TerminateJobObject(job_.get(), kKilledExitCode);
    else
      ::TerminateProcess(process_.get(), kKilledExitCode);
  }

  /// Reads what the pipe holds now, never more: a read of an anonymous pipe blocks otherwise.
  /// Returns how many bytes it read.
  std::size_t readOutput() {
    std::size_t got = 0;
    while (output_) {
      DWORD available = 0;
      if (!::PeekNamedPipe(output_.get(), nullptr, 0, nullptr, &available, nullptr)) {
        output_.reset();  // ERROR_BROKEN_PIPE: every writer has closed it
        break;
      }
      if (available == 0) break;
      char buf[4096];
      DWORD n = 0;
      if (!::ReadFile(output_.get(), buf, std::min<DWORD>(available, sizeof buf), &n, nullptr) ||
          n == 0) {
        output_.reset();
        break;
      }
      captured_.append(std::string_view(buf, n));
      got += n;
    }
    return got;
  }

  /// After the exit: what is still in the pipe. Something the command left behind may hold the
  /// pipe open and keep writing, so this never waits for the end of the stream.
  void drainOutput() {
    for (int i = 0; i < 64 && output_; ++i)
      if (readOutput() == 0) return;
  }

  Handle process_;
  Handle job_;
  Handle output_;
  BoundedOutput captured_;
  bool reaped_ = false;
  bool killed_ = false;
  ExitStatus status_;
};

/// PROC_THREAD_ATTRIBUTE_LIST storage, deleted on every path.
class AttributeList {
 public:
  explicit AttributeList(DWORD count) {
    SIZE_T size = 0;
    ::InitializeProcThreadAttributeList(nullptr, count, 0, &size);
    storage_.resize(size);
    list_ = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage_.data());
    if (!::InitializeProcThreadAttributeList(list_, count, 0, &size)) list_ = nullptr;
  }
  ~AttributeList() {
    if (list_) ::DeleteProcThreadAttributeList(list_);
  }
  AttributeList(const AttributeList&) = delete;
  AttributeList& operator=(const AttributeList&) = delete;
  LPPROC_THREAD_ATTRIBUTE_LIST get() const { return list_; }

 private:
  std::vector<char> storage_;
  LPPROC_THREAD_ATTRIBUTE_LIST list_ = nullptr;
};

void appendQuoted(std::wstring& out, const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    out += arg;
    return;
  }
  out += L'"';
  std::size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    if (c == L'"') {
      out.append(backslashes * 2 + 1, L'\\');
    } else {
      out.append(backslashes, L'\\');
    }
    backslashes = 0;
    out += c;
  }
  out.append(backslashes * 2, L'\\');  // before the closing quote
  out += L'"';
}

}  // namespace

std::wstring windowsCommandLine(const std::vector<std::string>& argv) {
  std::wstring out;
  for (const auto& a : argv) {
    if (!out.empty()) out += L' ';
    appendQuoted(out, toWide(a));
  }
  return out;
}

std::string describe(const ExitStatus& status) {
  if (status.lost) return "exit status lost";
  if (status.signaled) return "terminated by pgvigil";
  const auto code = static_cast<std::uint32_t>(status.code);
  if (code >= 0xC0000000U) {  // an NTSTATUS: 0xC0000005 access violation, ...
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(code));
    return "exited " + std::string(hex);
  }
  return "exited " + std::to_string(code);
}

std::string describeSpawnError(int error, std::string_view program) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
      return "no such file: " + std::string(program);
    case ERROR_ACCESS_DENIED:
      return "permission denied: " + std::string(program);
    case ERROR_BAD_EXE_FORMAT:
      return "not an executable: " + std::string(program);
    default: {
      std::string text = win32Message(DWORD(error));
      return "cannot run " + std::string(program) + ": " +
             (text.empty() ? std::string("error") : text) + " (" + std::to_string(error) + ")";
    }
  }
}

SpawnResult WindowsProcessLauncher::spawn(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) return {nullptr, ERROR_FILE_NOT_FOUND};
  // Both ends are made inheritable only so that the child can be handed the write end; the
  // handle list below is what limits inheritance to it and NUL.
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE r = nullptr, w = nullptr;
  if (!::CreatePipe(&r, &w, &inheritable, kPipeBuffer)) return {nullptr, int(::GetLastError())};
  Handle readEnd(r), writeEnd(w);
  ::SetHandleInformation(readEnd.get(), HANDLE_FLAG_INHERIT, 0);
  Handle nul(::CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inheritable,
                           OPEN_EXISTING, 0, nullptr));
  if (nul.get() == INVALID_HANDLE_VALUE) return {nullptr, int(::GetLastError())};

  AttributeList attributes(1);
  if (!attributes.get()) return {nullptr, int(::GetLastError())};
  HANDLE inherited[2] = {nul.get(), writeEnd.get()};
  if (!::UpdateProcThreadAttribute(attributes.get(), 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                   inherited, sizeof inherited, nullptr, nullptr))
    return {nullptr, int(::GetLastError())};

  STARTUPINFOEXW si{};
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = nul.get();
  si.StartupInfo.hStdOutput = writeEnd.get();
  si.StartupInfo.hStdError = writeEnd.get();
  si.lpAttributeList = attributes.get();

  std::wstring commandLine = windowsCommandLine(argv);
  PROCESS_INFORMATION pi{};
  // Suspended until it is in its job, so that nothing it starts escapes the job. No console
  // window; its own process group, so that a console control event meant for the agent does
  // not reach it.
  const DWORD flags = CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP |
                      CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT;
  if (!::CreateProcessW(nullptr, commandLine.data(), nullptr, nullptr, TRUE, flags, nullptr,
                        nullptr, &si.StartupInfo, &pi))
    return {nullptr, int(::GetLastError())};
  Handle process(pi.hProcess), thread(pi.hThread);

  Handle job(::CreateJobObjectW(nullptr, nullptr));
  if (job && !::AssignProcessToJobObject(job.get(), process.get()))
    job.reset();  // (a job the agent itself runs in may forbid it): TerminateProcess instead
  if (::ResumeThread(thread.get()) == DWORD(-1)) {
    const int err = int(::GetLastError());
    ::TerminateProcess(process.get(), kKilledExitCode);
    return {nullptr, err};
  }
  writeEnd.reset();  // only the child writes; the pipe breaks once it and its children close it
  nul.reset();
  return {std::make_unique<WindowsChildProcess>(std::move(process), std::move(job),
                                                std::move(readEnd), outputLimit_),
          0};
}

ProcessLauncherPtr makeProcessLauncher(std::size_t outputLimit) {
  return std::make_unique<WindowsProcessLauncher>(outputLimit);
}

}  // namespace pgvigil
