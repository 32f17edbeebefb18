#include "core/control_result.h"

namespace pgvigil {

std::string_view toString(ControlResult::Code c) {
  using C = ControlResult::Code;
  switch (c) {
    case C::kOk:
      return "ok";
    case C::kAccepted:
      return "accepted";
    case C::kNotFound:
      return "not_found";
    case C::kConflict:
      return "conflict";
    case C::kInvalid:
      return "invalid";
    case C::kRejected:
      return "rejected";
    case C::kFailed:
      return "failed";
  }
  return "failed";
}

}  // namespace pgvigil
