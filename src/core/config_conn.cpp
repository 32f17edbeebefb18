// A target's connection in one of three forms (issue 11): `conninfo:` (libpq keywords or a URI),
// `url:` (an application's DATABASE_URL: Prisma, JDBC, node-postgres; core/app_url.h), or the
// structured fields host, port, dbname, user and password, from which pgvigil builds a keyword
// conninfo with libpq's quoting so that no value has to be spliced into a string.
#include <algorithm>
#include <charconv>

#include "core/app_url.h"
#include "core/config_fields.h"
#include "core/config_schema.h"
#include "core/redact.h"

namespace pgvigil::config_detail {
namespace {

using T = TargetConfig;

const char* const kStructured[] = {"host", "port", "dbname", "user", "password"};

std::string checkPort(const std::string& s) {
  std::size_t start = 0;
  while (true) {
    std::size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? comma : comma - start);
    int p = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), p);
    if (part.empty() || ec != std::errc{} || ptr != part.data() + part.size() || p < 1 || p > 65535)
      return "expected a port number (1 to 65535), or several separated by commas, got " + shown(s);
    if (comma == std::string::npos) return "";
    start = comma + 1;
  }
}

/// One structured field: a non-empty string without control characters.
Field<T> connField(const char* path, std::string T::*member) {
  Field<T> f;
  f.path = path;
  f.type = "string";
  f.omit = [member](const T& t) { return (t.*member).empty(); };
  const bool secret = std::string_view(path) == "password";
  f.read = [member, path](Input& in, T& t) {
    auto s = in.scalar("a string");
    if (!s) return false;
    if (s->text.empty()) {
      in.fail(in.env().empty() ? std::string("must not be empty")
                               : in.env().back() + " is set but empty");
      return false;
    }
    if (std::any_of(s->text.begin(), s->text.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      in.fail("contains a control character (a CR from a .env file saved on Windows?); remove it");
      return false;
    }
    if (std::string_view(path) == "port") {
      std::string problem = checkPort(s->text);
      if (!problem.empty()) {
        in.fail(problem);
        return false;
      }
    }
    t.*member = std::move(s->text);
    return true;
  };
  if (secret) {
    f.secret = true;  // no `text`: config show uses render, which never prints it
    f.render = [member](const T& t) {
      return (t.*member).empty() ? std::string("\"\"") : "\"" + std::string(kRedacted) + "\"";
    };
  } else {
    f.render = [member](const T& t) { return yamlQuote(t.*member); };
  }
  return f;
}

void normalise(Loader& loader, T& t, const std::string& text, Loc loc, const std::string& key,
               bool keepUnknown) {
  // A URL in conninfo: keeps parameters nobody claims for libpq to judge (config validate runs
  // it; before url: existed they were accepted here); in url: they are errors.
  AppUrl u = normalizeAppUrl(text, keepUnknown);
  for (const auto& e : u.errors) loader.error(loc, key + ": " + e);
  if (!u.ok()) return;
  t.conninfo = std::move(u.conninfo);
  t.ignored_params = std::move(u.ignored);
}

}  // namespace

bool usesConnectionFields(const TargetConfig& t) {
  return !t.url.empty() || !t.host.empty() || !t.port.empty() || !t.dbname.empty() ||
         !t.user.empty() || !t.password.empty();
}

std::vector<Field<TargetConfig>> connectionFields() {
  std::vector<Field<T>> f;
  f.push_back(stringField<T>(
      "url", [](auto& t) -> auto& { return t.url; },
      [](const std::string& s) {
        return looksLikeUrl(s) ? std::string()
                               : std::string(
                                     "expected a URL starting with postgresql://, postgres:// "
                                     "or jdbc:postgresql://; libpq keywords go in conninfo:");
      }));
  f.back().secret = true;
  f.back().omit = [](const T& t) { return t.url.empty(); };
  f.push_back(connField("host", &T::host));
  f.push_back(connField("port", &T::port));
  f.push_back(connField("dbname", &T::dbname));
  f.push_back(connField("user", &T::user));
  f.push_back(connField("password", &T::password));
  return f;
}

void composeConnection(Loader& loader, T& t, std::map<std::string, ValueSource>& sources,
                       const std::set<std::string>& given, Loc item, const std::string& where) {
  auto set = [&](const std::string& k) {
    auto it = sources.find(k);
    return it != sources.end() && it->second.kind != ValueSource::Kind::kDefault;
  };
  auto locOfKey = [&](const std::string& k) {
    auto it = sources.find(k);
    if (it == sources.end() || it->second.line == 0) return item;
    return Loc{it->second.line, it->second.column};
  };
  std::vector<std::string> structured;
  for (const char* k : kStructured)
    if (given.count(k)) structured.emplace_back(k);
  std::vector<std::string> forms;
  if (given.count("conninfo")) forms.emplace_back("conninfo");
  if (given.count("url")) forms.emplace_back("url");
  if (!structured.empty()) forms.push_back(structured.front());
  if (forms.empty()) {
    // The message predates url: and the structured fields; docs/configuration.md names all three.
    loader.error(item, where + ": conninfo is required (libpq keywords or a postgresql:// URI)");
    return;
  }
  if (forms.size() > 1) {
    loader.error(locOfKey(forms[1]),
                 where + "." + forms[1] + ": give the connection one way: conninfo, url, or " +
                     "host/port/dbname/user/password, not " + forms[0] + " and " + forms[1]);
    return;
  }
  if (forms[0] == "conninfo") {
    if (set("conninfo") && looksLikeUrl(t.conninfo))
      normalise(loader, t, t.conninfo, locOfKey("conninfo"), where + ".conninfo", true);
    return;
  }
  if (forms[0] == "url") {
    if (!set("url")) return;  // its own error was reported
    normalise(loader, t, t.url, locOfKey("url"), where + ".url", false);
    sources["conninfo"] = sources["url"];
    return;
  }
  for (const auto& k : structured)
    if (!set(k)) return;  // its own error was reported
  std::string c;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    if (!c.empty()) c += ' ';
    c += std::string(key) + "=" + quoteConninfoValue(value);
  };
  add("host", t.host);
  add("port", t.port);
  add("dbname", t.dbname);
  add("user", t.user);
  add("password", t.password);
  t.conninfo = std::move(c);
  sources["conninfo"] = sources[structured.front()];
  loader.conninfos().push_back(t.conninfo);
}

void rememberConnSecrets(Loader& loader, const YAML::Node& map) {
  if (!map.IsMap()) return;
  const YAML::Node url = map["url"], password = map["password"];
  if (url.IsDefined() && url.IsScalar())
    loader.conninfos().push_back(expandEnv(url.Scalar(), loader.env()).value);
  if (password.IsDefined() && password.IsScalar()) {
    std::string p = expandEnv(password.Scalar(), loader.env()).value;
    if (!p.empty()) loader.conninfos().push_back("password=" + quoteConninfoValue(p));
  }
}

}  // namespace pgvigil::config_detail
