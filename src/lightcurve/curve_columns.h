// What the feature and zero-point computations take from a store's light
// curves: the measurements asked for, and where mag and mag_err sit.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lcstore/lightcurve/light_curve_store.h"

namespace lcstore::lightcurve {

// Rows of the `mag` value and, if the store has it, `mag_err` in a curve's
// values; throws Error(kNotFound) for a store without magnitudes.
struct MagnitudeRows {
  size_t mag = 0;
  std::optional<size_t> mag_err;
};
MagnitudeRows magnitude_rows(const LightCurveStore& curves);

// `asked`, or every measurement when it is empty; throws Error(kNotFound)
// for a measurement the store does not have.
std::vector<std::string> measurements_to_use(const LightCurveStore& curves, const std::vector<std::string>& asked);

// The median of `values` (the mean of the middle two for an even count),
// reordering them; `values` must not be empty.
double median_in_place(std::span<double> values);

}  // namespace lcstore::lightcurve
