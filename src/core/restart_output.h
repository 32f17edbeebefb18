// What of a restart command's output an event and /status carry (issue 10): its end, where the
// line that says why is (pg_ctl's or the server log's FATAL comes before the script's last
// word). The restarter keeps a larger bounded capture (head and tail, restart/process_launcher);
// the supervisor records this part of it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgvigil {

inline constexpr std::size_t kRestartOutputLines = 20;
inline constexpr std::size_t kRestartOutputBytes = 4096;

/// The last kRestartOutputLines lines of `output` (trailing blank lines not counted), at most
/// kRestartOutputBytes, cut at a line start where one is in reach. Already redacted input stays
/// redacted: this only cuts.
std::string restartOutputTail(std::string_view output);

}  // namespace pgvigil
