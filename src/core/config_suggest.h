// "Did you mean": spelling suggestions for unknown keys and values of the configuration.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pgvigil {

/// Edit distance (insertions, deletions, substitutions, adjacent transpositions), ignoring case.
std::size_t editDistance(std::string_view a, std::string_view b);

/// The candidate closest to `word` if it is close enough to be a likely misspelling, else "".
std::string suggestKey(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace pgvigil
