#include "events/redactor.h"

#include <algorithm>
#include <mutex>

namespace pgvigil {

namespace {

/// A field called password, passwd, secret or token (any case, any part of the name) is masked
/// whole, whatever its value looks like.
bool keyNamesASecret(std::string_view key) {
  std::string lower(key);
  for (auto& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (std::string_view word : {"password", "passwd", "secret", "token"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

}  // namespace

void Redactor::setSecrets(std::vector<std::string> secrets) {
  std::erase_if(secrets, [](const std::string& s) { return s.empty(); });
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  std::unique_lock lock(mutex_);
  secrets_ = std::move(secrets);
}

bool Redactor::empty() const {
  std::shared_lock lock(mutex_);
  return secrets_.empty();
}

std::string Redactor::replaceAll(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const auto& secret : secrets) {
    std::size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  return out;
}

std::string Redactor::apply(std::string_view text) const {
  std::shared_lock lock(mutex_);
  return redactSecrets(text, secrets_);
}

std::string Redactor::applyKnown(std::string_view line) const {
  std::shared_lock lock(mutex_);
  if (secrets_.empty()) return std::string(line);
  return replaceAll(line, secrets_);
}

AlertEvent Redactor::apply(const AlertEvent& event) const {
  std::shared_lock lock(mutex_);
  AlertEvent out = event;
  out.event = redactSecrets(event.event, secrets_);
  out.target = redactSecrets(event.target, secrets_);
  out.msg = redactSecrets(event.msg, secrets_);
  for (auto& [key, value] : out.fields) {
    key = redactSecrets(key, secrets_);
    value = keyNamesASecret(key) && !value.empty() ? std::string(kMask)
                                                   : redactSecrets(value, secrets_);
  }
  return out;
}

}  // namespace pgvigil
