// What a pipeline recovered of a simulated field: detections matched to the
// injected stars, the per-epoch zero-point offsets, and for every star how
// well its measured light curve follows the true one.
//
//   MeasuredCurves measured = ...;  // MAG_AUTO light curves of the detections
//   ZeroPoints fitted = stored_zero_points(store, "auto");  // lcstore calibrate
//   Recovery recovery = evaluate_recovery(read_truth("truth.json"), measured, fitted.values);
//   for (size_t s = 0; s < recovery.stars.size(); ++s) ... recovery.stars[s].median_abs_residual ...
//
// The epoch images carry unknown zero-point offsets (field.h). The pipeline
// fits them relative to each other from the ensemble of stars (`lcstore
// calibrate`); the one constant such a fit cannot know, the absolute zero
// point, is taken here as a survey takes it from standard stars: the median,
// over the reference stars (bright, isolated, constant, detected) and their
// epochs, of calibrated minus true magnitude. Measured magnitudes are
// compared with the truth after subtracting both.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lcstore/simulate/field.h"

namespace lcstore::simulate {

// The light curves of the detected objects; epochs in the order of the
// truth's epochs.
struct MeasuredCurves {
  std::vector<std::string> objects;  // keys
  std::vector<double> x, y;          // detected positions, 1-based pixels (X_IMAGE, Y_IMAGE)
  size_t n_epochs = 0;
  std::vector<double> mag, mag_err;  // [object * n_epochs + epoch]; NaN where not measured

  double magnitude(size_t object, size_t epoch) const { return mag[object * n_epochs + epoch]; }
  double error(size_t object, size_t epoch) const { return mag_err[object * n_epochs + epoch]; }
};

struct RecoveryOptions {
  double match_radius = 1.0;  // pixels: the nearest detection this close to a star measures it
  // A star is isolated when no other star within isolation_radius pixels is
  // brighter than its mag0 + isolation_contrast: a neighbour 5 mag fainter
  // adds 1% (0.01 mag) to the star's aperture, a 3 mag fainter one already 6%.
  double isolation_radius = 6.0;
  double isolation_contrast = 5.0;
  double reference_magnitude = 19.0;  // reference stars are brighter than this (mag0)
  // An object whose corrected light curve has a reduced chi^2 (about its
  // weighted mean, with the measured errors) above this counts as variable.
  double variability_threshold = 5.0;
};

inline constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

// How one injected star was recovered. Statistics are over the epochs its
// detection has a magnitude in, after subtracting the epoch offsets; NaN
// where they cannot be computed (not detected, too few epochs).
struct StarRecovery {
  std::optional<size_t> object;  // the detection measuring it
  bool isolated = false;
  double median_abs_residual = kNotMeasured;  // median |corrected measured - true|, mag
  double true_range = kNotMeasured;           // max - min of the true magnitudes
  double measured_range = kNotMeasured;       // max - min of the corrected measured magnitudes
  // The injected amplitude times the least-squares slope of the corrected
  // measured magnitudes against the true ones: the amplitude the measurement
  // shows given the shape of the light curve (its period and phase, or its
  // flare time). NaN for constant stars and when the truth does not vary
  // across the epochs (a flare between two epochs).
  double fitted_amplitude = kNotMeasured;
  double reduced_chi2 = kNotMeasured;
  bool flagged_variable = false;  // reduced_chi2 > variability_threshold
};

// The variability of one detected object, from its measurements alone.
struct ObjectVariability {
  size_t object = 0;
  size_t n_epochs = 0;  // epochs with a magnitude
  double median_mag = kNotMeasured;
  double rms = kNotMeasured;  // of the corrected magnitudes about their mean
  double reduced_chi2 = kNotMeasured;
  std::optional<size_t> star;  // the injected star within the match radius, if any
};

struct Recovery {
  // Measured - true magnitude per epoch: the fitted zero point plus the
  // absolute zero point; NaN where the fit has none.
  std::vector<double> epoch_offsets;
  double absolute_zero_point = 0;  // 0 when no reference star was measured
  size_t n_reference_stars = 0;
  std::vector<StarRecovery> stars;  // parallel to Field::stars
  // Every object with at least two measured epochs, most variable (largest
  // reduced chi^2) first.
  std::vector<ObjectVariability> objects;
};

// `zero_points`: per epoch, the fitted zero points, relative to any constant.
// Throws Error(kInvalidArgument) if `measured` or `zero_points` does not have
// the truth's number of epochs or the arrays of `measured` disagree in length.
Recovery evaluate_recovery(const Field& truth, const MeasuredCurves& measured, std::span<const double> zero_points,
                           const RecoveryOptions& options = {});

}  // namespace lcstore::simulate
