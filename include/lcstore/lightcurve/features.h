// Variability features and the generalized Lomb-Scargle periodogram of one
// light curve (magnitudes, their errors, times).
//
// Which epochs count. An epoch is good when its time and magnitude are finite
// and its error is finite and not negative. The errors weigh the fit when
// every good epoch has a positive error; otherwise (no error value in the
// store, or an error of 0, an infinite weight) the error-weighted features are
// NaN and the periodogram weighs every epoch equally.
//
// Definitions (N good epochs m_i with errors d_i, w_i = 1 / d_i^2, times t_i;
// Q(p) the quantile with linear interpolation between order statistics, as
// numpy's default; a feature needing more epochs than there are is NaN):
//   n_good               N
//   weighted_mean        M = sum w m / sum w                       (N >= 1)
//   weighted_mean_error  1 / sqrt(sum w)                           (N >= 1)
//   median               Q(0.5)                                    (N >= 1)
//   std                  s = sqrt(sum (m - mean)^2 / (N - 1))      (N >= 2)
//   mad                  median |m - median|, not scaled           (N >= 1)
//   iqr                  Q(0.75) - Q(0.25)                         (N >= 1)
//   amplitude            (Q(0.95) - Q(0.05)) / 2                   (N >= 1)
//   range                max - min                                 (N >= 1)
//   skewness             G1 = N / ((N-1)(N-2)) sum (m - mean)^3 / s^3          (N >= 3)
//   kurtosis             G2 = N(N+1) / ((N-1)(N-2)(N-3)) sum (m - mean)^4 / s^4
//                             - 3 (N-1)^2 / ((N-2)(N-3))  (excess)            (N >= 4)
//   chi2_reduced         sum w (m - M)^2 / (N - 1)                 (N >= 2)
//   stetson_j, _k, _l    Stetson 1996 (PASP 108, 851) for unpaired epochs with
//                        r_i = sqrt(N / (N-1)) (m_i - M) / d_i, P_i = r_i^2 - 1:
//                        J = sum sign(P_i) sqrt|P_i| / N,
//                        K = (sum |r_i| / N) / sqrt(sum r_i^2 / N),
//                        L = J K / 0.798 (all weights 1)           (N >= 2)
//                        M is the weighted mean, not Stetson's iteratively
//                        reweighted one (as the light-curve package).
//   eta                  von Neumann 1941: sum_{time order} (m_{i+1} - m_i)^2 / ((N - 1) s^2)   (N >= 2)
//   excess_variance      (s^2 - mean(d^2)) / mean(m)^2, as light-curve's
//                        ExcessVariance (Sanchez et al. 2017 without the
//                        flux normalisation)                       (N >= 2)
//   slope, slope_error   weighted least-squares line m = c + slope t: slope and
//                        its error sqrt(sum w / D), D = sum w sum w t^2 - (sum w t)^2
//                        (light-curve's LinearFit)                 (N >= 3)
//   period, period_power, period_fap
//                        the generalized Lomb-Scargle periodogram (below): the
//                        period of its highest peak, refined between the grid's
//                        frequencies, its power, and Baluev's (2008, MNRAS 385,
//                        1279) false-alarm probability of that power over the
//                        grid, as astropy's false_alarm_probability(method="baluev")
//                                                                  (N >= 4)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lcstore::lightcurve {

// The features in their stored order (the `feature` coordinate).
enum class Feature : size_t {
  kNGood,
  kWeightedMean,
  kWeightedMeanError,
  kMedian,
  kStd,
  kMad,
  kIqr,
  kAmplitude,
  kRange,
  kSkewness,
  kKurtosis,
  kChi2Reduced,
  kStetsonJ,
  kStetsonK,
  kStetsonL,
  kEta,
  kExcessVariance,
  kSlope,
  kSlopeError,
  kPeriod,
  kPeriodPower,
  kPeriodFap,
  kCount,
};
constexpr size_t kFeatureCount = static_cast<size_t>(Feature::kCount);

// "n_good", "weighted_mean", ...: the names above, in Feature order.
const std::vector<std::string>& feature_names();
// The Feature of a name; throws Error(kNotFound) naming the known ones.
Feature feature_named(const std::string& name);

// A uniform frequency grid, cycles per unit of time: minimum + k step, k < count.
struct FrequencyGrid {
  double minimum = 0;
  double step = 0;
  size_t count = 0;
};

// What sets the grid. Zero means the default:
//   max_period  the baseline (last minus first time),
//   min_period  twice the median interval between consecutive times (the
//               Nyquist period of the typical cadence),
//   oversample  10 grid steps per peak width 1 / baseline (astropy's default
//               is 5; 10 halves the distance the refinement has to go).
// The grid runs from 1 / max_period to 1 / min_period in steps of
// 1 / (oversample x baseline).
struct PeriodogramOptions {
  double min_period = 0;
  double max_period = 0;
  double oversample = 0;
};

// The grid for `times` (any order, NaN ignored). Throws Error(kInvalidArgument)
// for fewer than two distinct finite times or impossible options.
FrequencyGrid frequency_grid(std::span<const double> times, const PeriodogramOptions& options);

// The generalized Lomb-Scargle periodogram (Zechmeister & Kuerster 2009,
// A&A 496, 577): at each frequency, the fraction of the weighted variance
// about the weighted mean that a sinusoid plus a constant (a floating mean)
// explains, 1 - chi2(f) / chi2_0, weights 1 / dy^2 (equal weights if `dy` is
// empty). It equals astropy's LombScargle(t, y, dy, fit_mean=True,
// center_data=True, normalization="standard"). `power` receives grid.count
// values. Direct sums, the sines and cosines of successive frequencies by
// rotation (exact to about 1e-12 over 1e5 steps), vectorised over the epochs.
void lomb_scargle(std::span<const double> t, std::span<const double> y, std::span<const double> dy,
                  const FrequencyGrid& grid, std::span<double> power);

// The periodogram of one curve on `grid`, from the epochs compute_features
// uses (finite time, magnitude and error >= 0; weighted when every error is
// above 0): grid.count powers, NaN when fewer than 4 epochs are good.
std::vector<double> curve_periodogram(std::span<const double> times, std::span<const float> magnitudes,
                                      std::span<const float> errors, const FrequencyGrid& grid);

// Every feature of one curve into `out` (kFeatureCount values, Feature order).
// `times`, `magnitudes` and `errors` have one value per epoch; `errors` may be
// empty (no error value). `scratch` is reused between calls.
struct FeatureScratch {
  std::vector<double> t, m, d, sorted, power;
  std::vector<uint32_t> keys, key_buffer;
};
void compute_features(std::span<const double> times, std::span<const float> magnitudes, std::span<const float> errors,
                      const FrequencyGrid& grid, FeatureScratch& scratch, std::span<double> out);

}  // namespace lcstore::lightcurve
