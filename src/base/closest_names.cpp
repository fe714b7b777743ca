#include "lcstore/closest_names.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <utility>

namespace lcstore {

namespace {

// Edits (insertions, deletions, substitutions) that turn `a` into `b`, one
// row of the table at a time.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substituted = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substituted});
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> closest_names(std::string_view wanted, const std::vector<std::string>& names, size_t limit) {
  std::vector<std::pair<size_t, size_t>> ranked;  // (distance, position in names)
  for (size_t i = 0; i < names.size(); ++i) {
    const size_t distance = edit_distance(wanted, names[i]);
    if (distance <= std::max<size_t>(1, std::max(wanted.size(), names[i].size()) / 3)) {
      ranked.emplace_back(distance, i);
    }
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> closest;
  for (const auto& [distance, i] : ranked) {
    if (distance > ranked.front().first || closest.size() == limit) break;
    closest.push_back(names[i]);
  }
  return closest;
}

std::string did_you_mean(std::string_view wanted, const std::vector<std::string>& names, std::string_view plural) {
  if (names.empty()) return fmt::format("the store has no {}", plural);
  const std::vector<std::string> closest = closest_names(wanted, names);
  const std::string guess = closest.empty() ? "" : fmt::format("did you mean {}? ", fmt::join(closest, " or "));
  constexpr size_t kListedInFull = 5;
  const std::string listed = names.size() <= kListedInFull ? fmt::format("{}", fmt::join(names, ", "))
                                                           : fmt::format("{} ... {}", names.front(), names.back());
  return fmt::format("{}{} {}: {}", guess, names.size(), plural, listed);
}

}  // namespace lcstore
