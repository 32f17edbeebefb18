#include "core/state_store.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#include "core/config_schema.h"
#include "core/unique_fd.h"
#include "core/wall_time.h"

namespace pgvigil {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;

constexpr int kFormatVersion = 1;

std::string errnoText(int err) {
  return std::generic_category().message(err);
}

/// Writes `data` to `path`, flushed to stable storage before it returns. Error text or "".
std::string writeDurably(const fs::path& path, const std::string& data) {
#ifdef _WIN32
  UniqueFd fd(
      ::_wopen(path.c_str(), _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY, _S_IREAD | _S_IWRITE));
#else
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
#endif
  if (!fd.valid()) return "cannot create " + path.string() + ": " + errnoText(errno);
  std::size_t off = 0;
  while (off < data.size()) {
#ifdef _WIN32
    int n = ::_write(fd.get(), data.data() + off, static_cast<unsigned>(data.size() - off));
#else
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
#endif
    if (n < 0) {
      if (errno == EINTR) continue;
      return "cannot write " + path.string() + ": " + errnoText(errno);
    }
    off += static_cast<std::size_t>(n);
  }
#ifdef _WIN32
  if (::_commit(fd.get()) != 0) return "cannot flush " + path.string() + ": " + errnoText(errno);
#else
  if (::fsync(fd.get()) != 0) return "cannot flush " + path.string() + ": " + errnoText(errno);
#endif
  if (!fd.reset()) return "cannot close " + path.string() + ": " + errnoText(errno);
  return "";
}

/// Makes a rename in `dir` durable (POSIX); best effort, nothing to do on Windows.
void syncDirectory(const fs::path& dir) {
#ifndef _WIN32
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) (void)::fsync(fd.get());
#else
  (void)dir;
#endif
}

bool parseInt(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// ---- YAML reading with precise errors, never an exception past parse() ----

struct ParseError {
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& node, const std::string& what) {
  const auto mark = node.Mark();
  if (mark.is_null()) throw ParseError{what};
  throw ParseError{"line " + std::to_string(mark.line + 1) + ": " + what};
}

std::string scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(node, key + ": expected a scalar");
  return node.Scalar();
}

/// A time pgvigil could have written: from 1970 (the epoch; pgvigil is younger) to
/// kMaxAhead after `now` (clocks set back; a pause of at most kMaxPause). Outside is corrupt.
constexpr auto kMaxAhead = kMaxPause + hours{24};
WallTime wallTime(const YAML::Node& node, const std::string& key, WallTime now) {
  auto t = parseWallTime(scalar(node, key));
  if (!t)
    fail(node,
         key + ": not an RFC 3339 time between 1677-09-22 and 2262-04-10: '" + node.Scalar() + "'");
  // Compared in seconds: now + kMaxAhead cannot overflow for a now before 2261.
  if (*t < WallTime{} || floor<seconds>(*t) > floor<seconds>(now) + floor<seconds>(kMaxAhead))
    fail(node, key + ": " + node.Scalar() + " is before 1970 or more than " +
                   std::to_string(floor<days>(kMaxAhead).count()) + " days after now (" +
                   formatWallTime(now) + ")");
  return *t;
}

int integer(const YAML::Node& node, const std::string& key, int min,
            int max = std::numeric_limits<int>::max()) {
  int v = 0;
  if (!parseInt(scalar(node, key), v) || v < min || v > max)
    fail(node,
         key + ": expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

bool boolean(const YAML::Node& node, const std::string& key) {
  const std::string s = scalar(node, key);
  if (s == "true") return true;
  if (s == "false") return false;
  fail(node, key + ": expected true or false");
}

PersistedTarget readTarget(const YAML::Node& node, const std::string& name, WallTime now) {
  if (!node.IsMap()) fail(node, "targets." + name + ": expected a map");
  PersistedTarget t;
  const std::string at = "targets." + name + ".";
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "attempts") {
      t.attempts = integer(v, at + key, 0, StateStore::kMaxAttempts);
    } else if (key == "last_attempt_end") {
      t.last_attempt_end = wallTime(v, at + key, now);
    } else if (key == "paused") {
      t.paused = boolean(v, at + key);
    } else if (key == "paused_until") {
      t.paused_until = wallTime(v, at + key, now);
    } else if (key == "budget") {
      if (!v.IsSequence()) fail(v, at + key + ": expected a list");
      if (v.size() > StateStore::kMaxBudget)
        fail(v, at + key + ": " + std::to_string(v.size()) + " entries, at most " +
                    std::to_string(StateStore::kMaxBudget) + " (restart.budget.max)");
      for (const auto& item : v) t.budget.push_back(wallTime(item, at + key, now));
    } else if (key == "history") {
      if (!v.IsSequence()) fail(v, at + key + ": expected a list");
      // A few more than kMaxHistory are kept from (a longer-lived build's) file, newest first;
      // a list far beyond it is not something pgvigil wrote.
      if (v.size() > StateStore::kMaxHistoryInFile)
        fail(v, at + key + ": " + std::to_string(v.size()) + " entries, at most " +
                    std::to_string(StateStore::kMaxHistoryInFile));
      for (const auto& item : v) {
        if (!item.IsMap()) fail(item, at + key + ": expected a map per restart");
        RestartRecord r;
        for (const auto& f : item) {
          const std::string fk = f.first.Scalar();
          const std::string where = at + key + "." + fk;
          if (fk == "at")
            r.at = wallTime(f.second, where, now);
          else if (fk == "reason")
            r.reason = scalar(f.second, where);
          else if (fk == "result")
            r.result = scalar(f.second, where);
          else if (fk == "detail")
            r.detail = scalar(f.second, where);
          else if (fk == "output")
            r.output = scalar(f.second, where);
          else if (fk == "took_ms")
            r.took = Millis{integer(f.second, where, 0)};  // < 25 days: no overflow
          else if (fk == "sessions_cut")
            r.sessions_cut = static_cast<int>(integer(f.second, where, 0));
          else if (fk == "applications")
            r.applications = scalar(f.second, where);
          else if (fk == "outage_ms")
            r.outage = Millis{integer(f.second, where, 0)};
          else
            fail(f.first, "unknown key " + where);
        }
        t.history.push_back(std::move(r));
      }
      if (t.history.size() > StateStore::kMaxHistory)
        t.history.erase(t.history.begin(),
                        t.history.end() - static_cast<std::ptrdiff_t>(StateStore::kMaxHistory));
    } else {
      fail(kv.first, "unknown key " + at + key);
    }
  }
  return t;
}

}  // namespace

bool PersistedTarget::operator==(const PersistedTarget& o) const {
  auto same = [](const RestartRecord& a, const RestartRecord& b) {
    return a.at == b.at && a.reason == b.reason && a.result == b.result && a.detail == b.detail &&
           a.took == b.took && a.output == b.output && a.sessions_cut == b.sessions_cut &&
           a.applications == b.applications && a.outage == b.outage;
  };
  return std::equal(history.begin(), history.end(), o.history.begin(), o.history.end(), same) &&
         budget == o.budget && attempts == o.attempts && last_attempt_end == o.last_attempt_end &&
         paused == o.paused && paused_until == o.paused_until;
}

// ---- the store ----

StateStore::StateStore(fs::path file) : file_(std::move(file)) {}

fs::path StateStore::pathFor(const std::string& stateDir) {
  return fs::path(stateDir) / "pgvigil-state.yaml";
}

std::string StateStore::serialize(const PersistedState& state) {
  YAML::Emitter out;
  out << YAML::Comment(
      "pgvigil agent state: restart history, budget and pauses per target. Written by the "
      "agent; a broken file is set aside and replaced.");
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << kFormatVersion;
  out << YAML::Key << "targets" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, t] : state.targets) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "attempts" << YAML::Value << t.attempts;
    if (t.last_attempt_end)
      out << YAML::Key << "last_attempt_end" << YAML::Value << formatWallTime(*t.last_attempt_end);
    out << YAML::Key << "paused" << YAML::Value << (t.paused ? "true" : "false");
    if (t.paused_until)
      out << YAML::Key << "paused_until" << YAML::Value << formatWallTime(*t.paused_until);
    out << YAML::Key << "budget" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (WallTime b : t.budget) out << formatWallTime(b);
    out << YAML::EndSeq;
    out << YAML::Key << "history" << YAML::Value << YAML::BeginSeq;
    std::size_t skip =
        t.history.size() > kMaxHistory ? t.history.size() - kMaxHistory : std::size_t{0};
    for (std::size_t i = skip; i < t.history.size(); ++i) {
      const RestartRecord& r = t.history[i];
      out << YAML::BeginMap;
      out << YAML::Key << "at" << YAML::Value << formatWallTime(r.at);
      out << YAML::Key << "reason" << YAML::Value << YAML::DoubleQuoted << r.reason;
      out << YAML::Key << "result" << YAML::Value << YAML::DoubleQuoted << r.result;
      out << YAML::Key << "detail" << YAML::Value << YAML::DoubleQuoted << r.detail;
      out << YAML::Key << "took_ms" << YAML::Value << static_cast<long long>(r.took.count());
      if (!r.output.empty())
        out << YAML::Key << "output" << YAML::Value << YAML::DoubleQuoted << r.output;
      if (r.sessions_cut) out << YAML::Key << "sessions_cut" << YAML::Value << *r.sessions_cut;
      if (!r.applications.empty())
        out << YAML::Key << "applications" << YAML::Value << YAML::DoubleQuoted << r.applications;
      if (r.outage)
        out << YAML::Key << "outage_ms" << YAML::Value << static_cast<long long>(r.outage->count());
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::optional<PersistedState> StateStore::parse(const std::string& text, std::string* error,
                                                WallTime now) {
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) fail(root, "expected a map at the top");
    const YAML::Node version = root["version"];
    if (!version) throw ParseError{"no version"};
    if (integer(version, "version", 0) != kFormatVersion)
      fail(version, "unsupported version " + version.Scalar());
    PersistedState state;
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      if (key == "version") continue;
      if (key != "targets") fail(kv.first, "unknown key " + key);
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsMap()) fail(kv.second, "targets: expected a map");
      for (const auto& t : kv.second) {
        const std::string name = t.first.Scalar();
        // The agent only ever writes names its config accepted; anything else is damage (and a
        // name YAML cannot hold as a plain key, e.g. over 1,024 characters once escaped, would
        // not read back). The fuzzer found one.
        if (auto why = config_detail::checkTargetName(name); !why.empty())
          fail(t.first, "targets: " + why);
        state.targets[name] = readTarget(t.second, name, now);
      }
    }
    return state;
  } catch (const ParseError& e) {
    if (error) *error = e.message;
  } catch (const YAML::Exception& e) {
    if (error) *error = e.what();
  } catch (const std::exception& e) {
    if (error) *error = e.what();
  }
  return std::nullopt;
}

StateStore::LoadResult StateStore::load(WallTime now) const {
  LoadResult result;
  std::error_code ec;
  const auto status = fs::status(file_, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    result.error = "state file " + file_.string() + " is unreadable: " + ec.message();
    return result;  // cannot even look at it; save() will try to replace it
  }
  if (!fs::exists(status)) return result;  // first start

  std::string problem;
  std::string text;
  if (!fs::is_regular_file(status)) {
    problem = "not a regular file";
  } else {
    std::ifstream in(file_, std::ios::binary);
    std::ostringstream buf;
    if (in) buf << in.rdbuf();
    if (!in || in.bad()) {
      problem = "cannot read it: " + errnoText(errno);
    } else {
      text = buf.str();
      if (auto parsed = parse(text, &problem, now)) {
        result.state = std::move(*parsed);
        return result;
      }
    }
  }

  fs::path aside = file_;
  aside += ".corrupt";
  fs::remove_all(aside, ec);
  fs::rename(file_, aside, ec);
  result.error = "state file " + file_.string() + " is corrupt (" + problem + ")";
  if (ec)
    result.error += "; could not set it aside (" + ec.message() + "); it will be overwritten";
  else
    result.error += "; moved to " + aside.string() + ", restart history starts empty";
  return result;
}

std::string StateStore::save(const PersistedState& state) const {
  std::error_code ec;
  const fs::path dir = file_.parent_path();
  if (!dir.empty()) {
    fs::create_directories(dir, ec);
    if (ec) return "cannot create state directory " + dir.string() + ": " + ec.message();
  }
  fs::path tmp = file_;
  tmp += ".tmp";
  if (std::string err = writeDurably(tmp, serialize(state)); !err.empty()) {
    fs::remove(tmp, ec);
    return err;
  }
  fs::rename(tmp, file_, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return "cannot replace " + file_.string() + ": " + ec.message();
  }
  syncDirectory(dir);
  return "";
}

}  // namespace pgvigil
