// The features of every light curve of a store, computed in bulk and stored
// beside the light curves as
//
//   features[object, measurement, feature]   float64, NaN = not computed
//
// with the dimension coordinate `feature` (strings, feature_names()), so
// xr.open_zarr shows them as a data variable. The array's attribute
// `lcstore_features` records, per measurement computed, the journal
// generation it was computed at, whether it was calibrated, the time
// variable and the frequency grid: the features of a measurement are
// current while no populate (or rechunk) has started since, stale after.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lcstore/lightcurve/features.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/storage/store.h"

namespace lcstore::lightcurve {

struct FeatureRunOptions {
  std::vector<std::string> measurements;  // empty: every measurement
  bool calibrated = false;                // apply the stored zero points first
  std::string time_variable = "mjd";      // the epoch variable holding the times
  PeriodogramOptions periodogram;
  unsigned threads = 1;
  // Called after each batch of objects with the curves done and the total,
  // from the worker threads; must be thread-safe.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct FeatureRunResult {
  FrequencyGrid grid;
  uint64_t curves = 0;  // objects x measurements computed
};

// Computes and stores the features of the measurements asked for.
// Everything is checked before the first write: an unknown measurement, a
// missing or non-numeric time variable, a store without mag values or,
// calibrated, without zero points throws Error(kNotFound / kBadInput).
FeatureRunResult compute_store_features(std::shared_ptr<Store> store, const LightCurveStore& curves,
                                        const FeatureRunOptions& options);

enum class FeatureStatus { kAbsent, kCurrent, kStale };
const char* to_string(FeatureStatus status);

struct MeasurementFeatures {
  FeatureStatus status = FeatureStatus::kAbsent;
  bool calibrated = false;
  uint64_t generation = 0;
};
// Per measurement of the store: whether its features are absent, current or stale.
std::map<std::string, MeasurementFeatures> feature_status(std::shared_ptr<Store> store, const LightCurveStore& curves);

// The stored features of one measurement: n_objects x kFeatureCount values,
// object-major. Throws Error(kNotFound) if they were never computed.
std::vector<double> read_features(std::shared_ptr<Store> store, const LightCurveStore& curves,
                                  const std::string& measurement);

// The features of `objects` (one measurement, optionally with its stored
// zero points applied), objects.size() x kFeatureCount values into `out`,
// on `grid`: what compute_store_features stores for these objects when given
// the same times and grid. For computing a store's features in blocks
// elsewhere (lcstore.dask.features).
void compute_object_features(const LightCurveStore& curves, const std::vector<std::string>& objects,
                             const std::string& measurement, std::span<const double> times, const FrequencyGrid& grid,
                             const ZeroPoints* zero_points, std::span<double> out);

// Epoch times from the epoch variable `name` (without "epoch_"); throws
// Error(kNotFound) if absent, Error(kBadInput) if it holds strings.
std::vector<double> epoch_times(const LightCurveStore& curves, const std::string& name);

}  // namespace lcstore::lightcurve
