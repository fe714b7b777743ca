// Objects in order of declination, so that a cone or box query looks only at
// the band of objects whose declination can match (two binary searches)
// instead of at every object: 1,000,000 objects and a 10" cone cost a few
// microseconds instead of a scan of all coordinates.
//
// The order is derived data, kept beside the journal (`.lcstore/
// declination_index`) by create and rechunk so that opening a store neither
// sorts nor reads the coordinate arrays: the index holds each object's
// declination and RA beside its row. It is stamped with a hash of the `dec`
// array's stored chunks, so an index older than the coordinates (rewritten
// by another tool) is not used. A missing, stale or damaged index is rebuilt
// in memory: it can cost a sort, never a wrong answer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/store.h"
#include "lcstore/zarr/array.h"

namespace lcstore::lightcurve {

class DeclinationIndex {
 public:
  static constexpr std::string_view kKey = ".lcstore/declination_index";

  // The order of `dec` (objects without a declination left out), for the
  // `dec` array whose stored chunks hash to `stamp`.
  static DeclinationIndex build(const std::vector<double>& ra, const std::vector<double>& dec, uint64_t stamp);
  // The stored index if it is whole and was built for `stamp`.
  static std::optional<DeclinationIndex> load(const Store& store, uint64_t stamp);
  // The hash of the stored chunks of the `dec` array (as stored: the bytes
  // are hashed without being decoded).
  static uint64_t stamp_of(const Store& store, const zarr::Array& dec);
  void save(Store& store) const;

  // Calls visit(row, ra, dec) for every object with low <= dec <= high.
  template <typename Visit>
  void for_each_in_band(double low, double high, Visit&& visit) const {
    const auto first = std::lower_bound(dec_.begin(), dec_.end(), low);
    const auto last = std::upper_bound(first, dec_.end(), high);
    for (auto at = first; at != last; ++at) {
      const size_t i = static_cast<size_t>(at - dec_.begin());
      visit(static_cast<uint64_t>(rows_[i]), ra_[i], *at);
    }
  }

  // Calls visit(row, separation_degrees) for every object within
  // `radius_degrees` of (ra, dec).
  template <typename Visit>
  void for_each_within(double ra, double dec, double radius_degrees, Visit&& visit) const {
    const double reach = ra_reach(dec, radius_degrees);
    for_each_in_band(dec - radius_degrees, dec + radius_degrees,
                     [&](uint64_t row, double object_ra, double object_dec) {
                       if (std::abs(std::remainder(object_ra - ra, 360.0)) > reach) return;
                       const double separation = separation_degrees(ra, dec, object_ra, object_dec);
                       if (separation <= radius_degrees) visit(row, separation);
                     });
  }

 private:
  // How far in RA from a centre at `dec` an object within the radius can be.
  static double ra_reach(double dec, double radius_degrees);

  uint64_t n_objects_ = 0;
  uint64_t stamp_ = 0;
  // By increasing declination, the objects that have one: rows, dec, ra.
  std::vector<uint32_t> rows_;
  std::vector<double> dec_, ra_;
};

}  // namespace lcstore::lightcurve
