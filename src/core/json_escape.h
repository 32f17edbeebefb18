// The one string escaper for everything pgvigil writes in double quotes: JSON strings (/status,
// /events), and logfmt values of the text event log. `"`, `\`, \b \f \n \r \t by name, every
// other control byte (and DEL) as \u00XX; all other bytes (UTF-8 included) as they are.
#pragma once

#include <string>
#include <string_view>

namespace pgvigil {

void appendJsonEscaped(std::string& out, std::string_view s);

}  // namespace pgvigil
