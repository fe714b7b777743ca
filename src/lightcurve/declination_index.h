// Objects in order of declination, so that a cone or box query looks only at
// the band of objects whose declination can match (two binary searches)
// instead of at every object: 1,000,000 objects and a 10" cone cost a few
// microseconds instead of a scan of all coordinates.
//
// The order is derived data, kept beside the journal (`.lcstore/
// declination_index`) by create and rechunk so that opening a store does not
// sort. A missing or damaged index is rebuilt in memory: it can cost a sort,
// never a wrong answer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "lcstore/storage/store.h"

namespace lcstore::lightcurve {

class DeclinationIndex {
 public:
  static constexpr std::string_view kKey = ".lcstore/declination_index";

  // The order of `dec` (objects without a declination last).
  static DeclinationIndex build(const std::vector<double>& dec);
  // The stored index if it is a valid order of `dec`, else one built now.
  static DeclinationIndex load(const Store& store, const std::vector<double>& dec);
  void save(Store& store) const;

  // Calls visit(row) for every object with low <= dec <= high.
  template <typename Visit>
  void for_each_in_band(double low, double high, Visit&& visit) const {
    const auto first = std::lower_bound(sorted_dec_.begin(), sorted_dec_.end(), low);
    const auto last = std::upper_bound(first, sorted_dec_.end(), high);
    for (auto at = first; at != last; ++at) visit(static_cast<uint64_t>(rows_[at - sorted_dec_.begin()]));
  }

 private:
  // Fills sorted_dec_ from rows_ and checks that rows_ is an order of `dec`.
  bool index(const std::vector<double>& dec);

  std::vector<uint32_t> rows_;      // object rows by increasing declination
  std::vector<double> sorted_dec_;  // their declinations, NaN excluded
};

}  // namespace lcstore::lightcurve
