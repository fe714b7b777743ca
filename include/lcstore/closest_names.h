// Help for a name that is not there: the closest valid names and how many
// valid names there are, for messages such as
//   no such epoch in the store (did you mean r58520832? 30 epochs: r58520832 ... r58528256)
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lcstore {

// The names nearest to `wanted` by edit distance (Levenshtein), all at the
// same distance, at most `limit`, in the order of `names`; none when even the
// nearest takes more edits than a third of its characters (or one), as it
// would not be a typo.
std::vector<std::string> closest_names(std::string_view wanted, const std::vector<std::string>& names,
                                       size_t limit = 3);

// "did you mean A or B? N <plural>: first ... last" (every name when there
// are at most five), or "the store has no <plural>".
std::string did_you_mean(std::string_view wanted, const std::vector<std::string>& names, std::string_view plural);

}  // namespace lcstore
