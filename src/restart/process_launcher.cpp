// What every platform's launcher shares: the bounded capture of a command's output.
#include "restart/process_launcher.h"

#include <algorithm>

namespace pgvigil {

BoundedOutput::BoundedOutput(std::size_t limit) : half_(std::max<std::size_t>(limit / 2, 1)) {}

void BoundedOutput::append(std::string_view data) {
  total_ += data.size();
  if (head_.size() < half_) {
    auto take = std::min(half_ - head_.size(), data.size());
    head_.append(data.substr(0, take));
    data.remove_prefix(take);
  }
  for (char c : data) {
    if (tail_.size() < half_) {
      tail_.push_back(c);
    } else {
      tail_[tailStart_] = c;
      tailStart_ = (tailStart_ + 1) % half_;
      ++dropped_;
    }
  }
}

std::string BoundedOutput::text() const {
  std::string out = head_;
  if (dropped_ > 0) out += "\n[... " + std::to_string(dropped_) + " bytes dropped ...]\n";
  out.append(tail_, tailStart_, std::string::npos);
  out.append(tail_, 0, tailStart_);
  return out;
}

}  // namespace pgvigil
