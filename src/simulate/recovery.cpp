// Matching detections to injected stars and comparing their light curves.
#include "lcstore/simulate/recovery.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "lcstore/error.h"

namespace lcstore::simulate {

namespace {

double median(std::vector<double> values) {
  if (values.empty()) return kNotMeasured;
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle)));
}

double squared_distance(double x1, double y1, double x2, double y2) {
  return (x1 - x2) * (x1 - x2) + (y1 - y2) * (y1 - y2);
}

void check_shapes(const Field& truth, const MeasuredCurves& measured, std::span<const double> zero_points) {
  const size_t n_objects = measured.objects.size();
  const size_t n_cells = n_objects * measured.n_epochs;
  if (measured.n_epochs != truth.epochs.size()) {
    throw Error(ErrorKind::kInvalidArgument, "measured light curves",
                fmt::format("have {} epochs, the truth {}", measured.n_epochs, truth.epochs.size()));
  }
  if (zero_points.size() != truth.epochs.size()) {
    throw Error(
        ErrorKind::kInvalidArgument, "zero points",
        fmt::format("{} given, one per epoch of the truth ({}) needed", zero_points.size(), truth.epochs.size()));
  }
  if (measured.x.size() != n_objects || measured.y.size() != n_objects || measured.mag.size() != n_cells ||
      measured.mag_err.size() != n_cells) {
    throw Error(ErrorKind::kInvalidArgument, "measured light curves", "arrays of inconsistent lengths");
  }
}

// Star -> nearest object and object -> nearest star, within `radius`. Every
// pair is compared: a few thousand stars take milliseconds.
struct Matches {
  std::vector<std::optional<size_t>> object_of_star;
  std::vector<std::optional<size_t>> star_of_object;
};

Matches match(const Field& truth, const MeasuredCurves& measured, double radius) {
  const size_t n_stars = truth.stars.size(), n_objects = measured.objects.size();
  Matches matches{std::vector<std::optional<size_t>>(n_stars), std::vector<std::optional<size_t>>(n_objects)};
  std::vector<double> star_best(n_stars, radius * radius), object_best(n_objects, radius * radius);
  for (size_t s = 0; s < n_stars; ++s) {
    for (size_t o = 0; o < n_objects; ++o) {
      const double d2 = squared_distance(truth.stars[s].x, truth.stars[s].y, measured.x[o], measured.y[o]);
      if (d2 <= star_best[s]) {
        star_best[s] = d2;
        matches.object_of_star[s] = o;
      }
      if (d2 <= object_best[o]) {
        object_best[o] = d2;
        matches.star_of_object[o] = s;
      }
    }
  }
  return matches;
}

std::vector<bool> isolation(const Field& truth, const RecoveryOptions& options) {
  const double radius2 = options.isolation_radius * options.isolation_radius;
  std::vector<bool> isolated(truth.stars.size(), true);
  for (size_t s = 0; s < truth.stars.size(); ++s) {
    const Star& star = truth.stars[s];
    for (size_t n = 0; n < truth.stars.size() && isolated[s]; ++n) {
      const Star& neighbour = truth.stars[n];
      if (n != s && neighbour.mag0 < star.mag0 + options.isolation_contrast &&
          squared_distance(star.x, star.y, neighbour.x, neighbour.y) <= radius2) {
        isolated[s] = false;
      }
    }
  }
  return isolated;
}

// The zero points plus the absolute zero point, its value and the reference stars used.
void measure_epoch_offsets(const Field& truth, const MeasuredCurves& measured, std::span<const double> zero_points,
                           const Matches& matches, const std::vector<bool>& isolated, const RecoveryOptions& options,
                           Recovery& recovery) {
  std::vector<double> differences;
  recovery.n_reference_stars = 0;
  for (size_t s = 0; s < truth.stars.size(); ++s) {
    const Star& star = truth.stars[s];
    if (star.variable() || !isolated[s] || !matches.object_of_star[s] || !(star.mag0 < options.reference_magnitude)) {
      continue;
    }
    ++recovery.n_reference_stars;
    for (size_t e = 0; e < truth.epochs.size(); ++e) {
      const double difference =
          measured.magnitude(*matches.object_of_star[s], e) - zero_points[e] - truth.epochs[e].true_magnitudes[s];
      if (std::isfinite(difference)) differences.push_back(difference);
    }
  }
  recovery.absolute_zero_point = differences.empty() ? 0.0 : median(std::move(differences));
  recovery.epoch_offsets.clear();
  for (double zero_point : zero_points) recovery.epoch_offsets.push_back(zero_point + recovery.absolute_zero_point);
}

// One light curve after the epoch offsets: the epochs measured, their
// corrected magnitudes and errors.
struct CorrectedCurve {
  std::vector<size_t> epochs;
  std::vector<double> mag, err;
};

CorrectedCurve corrected_curve(const MeasuredCurves& measured, size_t object, const std::vector<double>& offsets) {
  CorrectedCurve curve;
  for (size_t e = 0; e < measured.n_epochs; ++e) {
    const double mag = measured.magnitude(object, e) - offsets[e];
    if (!std::isfinite(mag)) continue;
    curve.epochs.push_back(e);
    curve.mag.push_back(mag);
    curve.err.push_back(measured.error(object, e));
  }
  return curve;
}

// Reduced chi^2 of the magnitudes about their inverse-variance weighted mean;
// NaN with fewer than two usable epochs.
double reduced_chi2(const CorrectedCurve& curve) {
  double weight_sum = 0, weighted_sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < curve.mag.size(); ++i) {
    if (!(curve.err[i] > 0)) continue;
    const double weight = 1.0 / (curve.err[i] * curve.err[i]);
    weight_sum += weight;
    weighted_sum += weight * curve.mag[i];
    ++n;
  }
  if (n < 2) return kNotMeasured;
  const double mean = weighted_sum / weight_sum;
  double chi2 = 0;
  for (size_t i = 0; i < curve.mag.size(); ++i) {
    if (curve.err[i] > 0) chi2 += (curve.mag[i] - mean) * (curve.mag[i] - mean) / (curve.err[i] * curve.err[i]);
  }
  return chi2 / static_cast<double>(n - 1);
}

double range(const std::vector<double>& values) {
  if (values.empty()) return kNotMeasured;
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  return *high - *low;
}

// Least-squares slope of `measured` against `truth`; NaN if the truth is flat.
double slope(const std::vector<double>& truth, const std::vector<double>& measured) {
  const auto n = static_cast<double>(truth.size());
  double mean_truth = 0, mean_measured = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    mean_truth += truth[i] / n;
    mean_measured += measured[i] / n;
  }
  double covariance = 0, variance = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    covariance += (truth[i] - mean_truth) * (measured[i] - mean_measured);
    variance += (truth[i] - mean_truth) * (truth[i] - mean_truth);
  }
  // A truth varying by less than a micro-magnitude shows no amplitude to fit.
  return variance > 1e-12 ? covariance / variance : kNotMeasured;
}

StarRecovery recover_star(const Field& truth, size_t s, const MeasuredCurves& measured, size_t object,
                          const std::vector<double>& offsets, const RecoveryOptions& options) {
  StarRecovery result;
  result.object = object;
  const CorrectedCurve curve = corrected_curve(measured, object, offsets);
  if (curve.epochs.empty()) return result;
  std::vector<double> true_mags, residuals;
  for (size_t i = 0; i < curve.epochs.size(); ++i) {
    true_mags.push_back(truth.epochs[curve.epochs[i]].true_magnitudes[s]);
    residuals.push_back(std::abs(curve.mag[i] - true_mags.back()));
  }
  result.median_abs_residual = median(residuals);
  result.true_range = range(true_mags);
  result.measured_range = range(curve.mag);
  const Star& star = truth.stars[s];
  if (star.variable() && curve.epochs.size() >= 2)
    result.fitted_amplitude = star.amplitude * slope(true_mags, curve.mag);
  result.reduced_chi2 = reduced_chi2(curve);
  result.flagged_variable = result.reduced_chi2 > options.variability_threshold;
  return result;
}

ObjectVariability object_variability(const MeasuredCurves& measured, size_t object, const std::vector<double>& offsets,
                                     const std::optional<size_t>& star) {
  const CorrectedCurve curve = corrected_curve(measured, object, offsets);
  ObjectVariability result{.object = object, .n_epochs = curve.mag.size(), .star = star};
  if (curve.mag.size() < 2) return result;
  result.median_mag = median(curve.mag);
  double mean = 0;
  for (double mag : curve.mag) mean += mag / static_cast<double>(curve.mag.size());
  double sum_squares = 0;
  for (double mag : curve.mag) sum_squares += (mag - mean) * (mag - mean);
  result.rms = std::sqrt(sum_squares / static_cast<double>(curve.mag.size()));
  result.reduced_chi2 = reduced_chi2(curve);
  return result;
}

}  // namespace

Recovery evaluate_recovery(const Field& truth, const MeasuredCurves& measured, std::span<const double> zero_points,
                           const RecoveryOptions& options) {
  check_shapes(truth, measured, zero_points);
  const Matches matches = match(truth, measured, options.match_radius);
  const std::vector<bool> isolated = isolation(truth, options);
  Recovery recovery;
  measure_epoch_offsets(truth, measured, zero_points, matches, isolated, options, recovery);
  recovery.stars.resize(truth.stars.size());
  for (size_t s = 0; s < truth.stars.size(); ++s) {
    if (matches.object_of_star[s]) {
      recovery.stars[s] = recover_star(truth, s, measured, *matches.object_of_star[s], recovery.epoch_offsets, options);
    }
    recovery.stars[s].isolated = isolated[s];
  }
  for (size_t o = 0; o < measured.objects.size(); ++o) {
    ObjectVariability variability = object_variability(measured, o, recovery.epoch_offsets, matches.star_of_object[o]);
    if (variability.n_epochs >= 2) recovery.objects.push_back(variability);
  }
  // NaN chi^2 (no usable errors) sorts last.
  std::stable_sort(recovery.objects.begin(), recovery.objects.end(), [](const auto& a, const auto& b) {
    if (std::isnan(b.reduced_chi2)) return !std::isnan(a.reduced_chi2);
    return a.reduced_chi2 > b.reduced_chi2;
  });
  return recovery;
}

}  // namespace lcstore::simulate
