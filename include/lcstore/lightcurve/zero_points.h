// Per-epoch photometric zero points of a light-curve store, fitted from the
// ensemble of stars, and their application to light curves.
//
// The method, per measurement (magnitudes m[o][e], errors d[o][e]):
//  1. The ensemble: objects with at least `min_epochs` good epochs (finite
//     magnitude, error in (0, max_error]) and a median error <= max_error.
//     Only their good epochs are used.
//  2. Each object's reference magnitude r[o] starts as its median.
//  3. For each epoch, the residuals m[o][e] - r[o] of the ensemble are
//     sigma-clipped as astropy's sigma_clipped_stats(sigma=clip_sigma,
//     maxiters=clip_iterations) clips them: the values outside median +-
//     clip_sigma x std (population std) are dropped, over and over until none
//     is or the iterations run out. zp[e] is the mean of what remains, its
//     error their std / sqrt(count). Variable stars fall out here.
//  4. r[o] becomes the median of m[o][e] - zp[e]; steps 3-4 run `iterations`
//     times.
//  5. The zero points are made relative: their median over the epochs is
//     subtracted (the ensemble fixes only differences between epochs).
// An epoch with fewer than 3 ensemble stars left has a NaN zero point.
// Calibrated magnitudes are m - zp[e], with errors sqrt(d^2 + zp_error[e]^2).
//
// Stored as the epoch variables `epoch_zeropoint_<measurement>` and
// `epoch_zeropoint_<measurement>_error` (float64, dimension epoch).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/store.h"

namespace lcstore::lightcurve {

struct CalibrationOptions {
  std::vector<std::string> measurements;  // empty: every measurement
  double max_error = 0.05;                // mag
  uint64_t min_epochs = 0;                // 0: half the epochs, at least 3
  double clip_sigma = 3;
  int clip_iterations = 5;
  int iterations = 5;
};

struct ZeroPointFit {
  std::string measurement;
  std::vector<double> zero_points, errors;  // per epoch, mag
  std::vector<uint64_t> stars_used;         // per epoch, after clipping
  uint64_t ensemble = 0;                    // objects in the ensemble
  double rms = 0;                           // rms of the zero points over the epochs
  double median_scatter = 0;                // median over the epochs of the clipped residuals' std
};

// Fits and stores the zero points of the measurements asked for. Throws
// Error(kNotFound) for an unknown measurement or a store without mag and
// mag_err values, and Error(kBadInput) when the ensemble is empty; either
// before anything is written.
std::vector<ZeroPointFit> calibrate(std::shared_ptr<Store> store, const LightCurveStore& curves,
                                    const CalibrationOptions& options);

// Names of the stored epoch variables (without the "epoch_" prefix).
std::string zero_point_variable(const std::string& measurement);
std::string zero_point_error_variable(const std::string& measurement);

struct ZeroPoints {
  std::vector<double> values, errors;  // per epoch
};
// The stored zero points of `measurement` (from `curves.epochs()`); throws
// Error(kNotFound) if the store was not calibrated for it.
ZeroPoints stored_zero_points(const LightCurveStore& curves, const std::string& measurement);

// Calibrates one measurement's magnitudes and errors (one value per epoch;
// `errors` may be empty) in place.
void apply_zero_points(const ZeroPoints& zero_points, std::span<float> magnitudes, std::span<float> errors);

}  // namespace lcstore::lightcurve
