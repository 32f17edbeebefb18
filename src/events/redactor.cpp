#include "events/redactor.h"

#include <algorithm>
#include <mutex>

namespace pgvigil {

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
  if (secrets_.empty()) return std::string(text);
  return replaceAll(text, secrets_);
}

AlertEvent Redactor::apply(const AlertEvent& event) const {
  std::shared_lock lock(mutex_);
  if (secrets_.empty()) return event;
  AlertEvent out = event;
  out.event = replaceAll(event.event, secrets_);
  out.target = replaceAll(event.target, secrets_);
  out.msg = replaceAll(event.msg, secrets_);
  for (auto& [key, value] : out.fields) {
    key = replaceAll(key, secrets_);
    value = replaceAll(value, secrets_);
  }
  return out;
}

}  // namespace pgvigil
