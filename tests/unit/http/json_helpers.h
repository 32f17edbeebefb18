// Parse a JSON answer with Poco (an independent parser) and walk it.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <string>

namespace pgvigil::testing {

inline Poco::JSON::Object::Ptr parseObject(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace pgvigil::testing
