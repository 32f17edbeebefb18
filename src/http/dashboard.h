// GET /: one self-contained HTML page (inline CSS and JS, no external assets) that polls /status
// and /events every 2 s. It holds no data itself, so it is served without the token; when the
// data endpoints answer 401 the page asks for the token and keeps it in sessionStorage, sending it
// as an Authorization header (never in a URL, so it reaches no log or browser history).
#pragma once

#include <string_view>

namespace pgvigil {

std::string_view dashboardHtml();

}  // namespace pgvigil
