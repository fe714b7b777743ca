// The variability features and the generalized Lomb-Scargle periodogram
// (definitions and references in lcstore/lightcurve/features.h).
#include "lcstore/lightcurve/features.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <utility>

#include "lcstore/error.h"
#include "lightcurve/curve_columns.h"

namespace lcstore::lightcurve {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kTwoPi = 2 * std::numbers::pi;

// Quantile of sorted values, linear between order statistics (numpy's default).
double quantile(std::span<const double> sorted, double p) {
  const double position = p * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(position);
  if (below + 1 >= sorted.size()) return sorted.back();
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[below + 1] - sorted[below]);
}

// Float32 values as unsigned integers in the same order: positive ones with
// the sign bit set, negative ones with every bit flipped.
uint32_t sortable_key(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}
float from_sortable_key(uint32_t key) {
  return std::bit_cast<float>((key & 0x80000000u) != 0 ? key & 0x7fffffffu : ~key);
}

// Least-significant-digit radix sort of the keys, a byte a pass, skipping the
// bytes every key shares (a curve's magnitudes share their sign and
// exponent). Hand-written: std::sort took 70% of the cheap features' time on
// 1,000 epochs, mostly mispredicted comparisons, and neither the standard
// library nor the project's dependencies has a radix sort.
void radix_sort(std::vector<uint32_t>& keys, std::vector<uint32_t>& buffer) {
  std::array<std::array<uint32_t, 256>, 4> counts{};
  for (uint32_t key : keys) {
    for (size_t byte = 0; byte < 4; ++byte) ++counts[byte][(key >> (8 * byte)) & 0xff];
  }
  buffer.resize(keys.size());
  for (size_t byte = 0; byte < 4; ++byte) {
    std::array<uint32_t, 256>& offsets = counts[byte];
    if (offsets[(keys.front() >> (8 * byte)) & 0xff] == keys.size()) continue;
    uint32_t total = 0;
    for (uint32_t& offset : offsets) total += std::exchange(offset, total);
    for (uint32_t key : keys) buffer[offsets[(key >> (8 * byte)) & 0xff]++] = key;
    keys.swap(buffer);
  }
}

// The median of |x - median| from the sorted values: the deviations below
// and above the median are two sorted runs, merged outwards from it until
// the middle one (a sixth of the time that selecting it took).
double median_absolute_deviation(std::span<const double> sorted, double median) {
  const size_t n = sorted.size();
  size_t above = static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), median) - sorted.begin());
  size_t below = above;  // the deviations sorted[below - 1], sorted[below - 2], ... lie below the median
  auto next = [&] {
    if (below > 0 && (above == n || median - sorted[below - 1] <= sorted[above] - median)) {
      return median - sorted[--below];
    }
    return sorted[above++] - median;
  };
  double deviation = 0;
  for (size_t k = 0; k <= (n - 1) / 2; ++k) deviation = next();
  return n % 2 == 1 ? deviation : (deviation + next()) / 2;
}

// Sums over the epochs of one frequency, weights normalised to sum 1 and y
// centred on its weighted mean (so sum w y = 0).
struct FrequencySums {
  double c = 0, s = 0, yc = 0, ys = 0, cc = 0, cs = 0;
};

// 1 - chi2(f) / chi2_0 from the sums (Zechmeister & Kuerster 2009, eqs. 5-20).
double power_from(const FrequencySums& sums, double yy) {
  const double cc = sums.cc - sums.c * sums.c;
  const double ss = (1 - sums.cc) - sums.s * sums.s;
  const double cs = sums.cs - sums.c * sums.s;
  const double d = cc * ss - cs * cs;
  return (ss * sums.yc * sums.yc + cc * sums.ys * sums.ys - 2 * cs * sums.yc * sums.ys) / (yy * d);
}

// Normalised weights and weighted-mean-centred values; returns sum w y^2.
double prepare(std::span<const double> y, std::span<const double> dy, std::vector<double>& w,
               std::vector<double>& centred) {
  const size_t n = y.size();
  w.resize(n);
  centred.resize(n);
  for (size_t i = 0; i < n; ++i) w[i] = dy.empty() ? 1.0 : 1.0 / (dy[i] * dy[i]);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  double mean = 0;
  for (size_t i = 0; i < n; ++i) {
    w[i] /= total;
    mean += w[i] * y[i];
  }
  double yy = 0;
  for (size_t i = 0; i < n; ++i) {
    centred[i] = y[i] - mean;
    yy += w[i] * centred[i] * centred[i];
  }
  return yy;
}

// The periodogram at one frequency, directly.
double power_at(std::span<const double> t, std::span<const double> w, std::span<const double> y, double yy,
                double frequency) {
  FrequencySums sums;
  for (size_t i = 0; i < t.size(); ++i) {
    const double phase = kTwoPi * frequency * t[i];
    const double c = std::cos(phase), s = std::sin(phase);
    sums.c += w[i] * c;
    sums.s += w[i] * s;
    sums.yc += w[i] * y[i] * c;
    sums.ys += w[i] * y[i] * s;
    sums.cc += w[i] * c * c;
    sums.cs += w[i] * c * s;
  }
  return power_from(sums, yy);
}

// A clone's resolver runs while the program is being relocated, before the
// ThreadSanitizer runtime is up, and crashes there; under TSan only the
// portable version is built.
#if defined(__SANITIZE_THREAD__)
#define LCSTORE_AVX2_CLONES
#else
#define LCSTORE_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif

// The grid's sums, frequency after frequency, each epoch's (cos, sin) turned
// on by the grid step. Vectorised over the epochs (AVX2 where the CPU has it).
// Every kReseed frequencies the rotation restarts from exact values, which
// bounds its rounding drift.
LCSTORE_AVX2_CLONES void grid_power(const double* t, const double* w, const double* y, size_t n, double yy,
                                    const FrequencyGrid& grid, double* c, double* s, double* step_c, double* step_s,
                                    double* power) {
  constexpr size_t kReseed = 512;
  for (size_t i = 0; i < n; ++i) {
    step_c[i] = std::cos(kTwoPi * grid.step * t[i]);
    step_s[i] = std::sin(kTwoPi * grid.step * t[i]);
  }
  for (size_t k = 0; k < grid.count; ++k) {
    if (k % kReseed == 0) {
      const double frequency = grid.minimum + static_cast<double>(k) * grid.step;
      for (size_t i = 0; i < n; ++i) {
        c[i] = std::cos(kTwoPi * frequency * t[i]);
        s[i] = std::sin(kTwoPi * frequency * t[i]);
      }
    }
    double sc = 0, ss = 0, syc = 0, sys = 0, scc = 0, scs = 0;
#pragma omp simd reduction(+ : sc, ss, syc, sys, scc, scs)
    for (size_t i = 0; i < n; ++i) {
      const double wc = w[i] * c[i], ws = w[i] * s[i];
      sc += wc;
      ss += ws;
      syc += wc * y[i];
      sys += ws * y[i];
      scc += wc * c[i];
      scs += wc * s[i];
      const double next_c = c[i] * step_c[i] - s[i] * step_s[i];
      s[i] = s[i] * step_c[i] + c[i] * step_s[i];
      c[i] = next_c;
    }
    power[k] = power_from({sc, ss, syc, sys, scc, scs}, yy);
  }
}

// Baluev 2008, eqs. 4-6, for the "standard" normalisation with one
// parameter (the mean) under the null and three (mean, sine, cosine) under
// the alternative, as astropy's fap_baluev.
double false_alarm_probability(double z, double max_frequency, std::span<const double> t, std::span<const double> w) {
  const double n = static_cast<double>(t.size());
  const double nh = n - 1, nk = n - 3;
  const double single = std::pow(1 - z, nk / 2);
  double mean_t = 0, mean_t2 = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    mean_t += w[i] * t[i];
    mean_t2 += w[i] * t[i] * t[i];
  }
  const double effective_baseline = std::sqrt(4 * std::numbers::pi * (mean_t2 - mean_t * mean_t));
  const double gamma = std::sqrt(2 / nh) * std::exp(std::lgamma(nh / 2) - std::lgamma((nh - 1) / 2));
  const double tau = gamma * max_frequency * effective_baseline * std::pow(1 - z, (nk - 1) / 2) * std::sqrt(nh / 2 * z);
  // 1 - (1 - single) exp(-tau), without the cancellation that rounds a
  // small probability to 0.
  return -std::expm1(-tau) + single * std::exp(-tau);
}

}  // namespace

const std::vector<std::string>& feature_names() {
  static const std::vector<std::string> names = {"n_good",
                                                 "weighted_mean",
                                                 "weighted_mean_error",
                                                 "median",
                                                 "std",
                                                 "mad",
                                                 "iqr",
                                                 "amplitude",
                                                 "range",
                                                 "skewness",
                                                 "kurtosis",
                                                 "chi2_reduced",
                                                 "stetson_j",
                                                 "stetson_k",
                                                 "stetson_l",
                                                 "eta",
                                                 "excess_variance",
                                                 "slope",
                                                 "slope_error",
                                                 "period",
                                                 "period_power",
                                                 "period_fap"};
  return names;
}

Feature feature_named(const std::string& name) {
  const std::vector<std::string>& names = feature_names();
  auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    throw Error(ErrorKind::kNotFound, name,
                fmt::format("no such feature; the features are {}", fmt::join(names, ", ")));
  }
  return static_cast<Feature>(found - names.begin());
}

FrequencyGrid frequency_grid(std::span<const double> times, const PeriodogramOptions& options) {
  std::vector<double> sorted;
  for (double t : times) {
    if (std::isfinite(t)) sorted.push_back(t);
  }
  std::sort(sorted.begin(), sorted.end());
  const double baseline = sorted.empty() ? 0 : sorted.back() - sorted.front();
  if (!(baseline > 0)) {
    throw Error(ErrorKind::kInvalidArgument, "epoch times", "a periodogram needs at least two distinct finite times");
  }
  std::vector<double> intervals;
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] > sorted[i - 1]) intervals.push_back(sorted[i] - sorted[i - 1]);
  }
  const double min_period = options.min_period > 0 ? options.min_period : 2 * median_in_place(intervals);
  const double max_period = options.max_period > 0 ? options.max_period : baseline;
  const double oversample = options.oversample > 0 ? options.oversample : 10;
  if (!(min_period < max_period)) {
    throw Error(ErrorKind::kInvalidArgument, "periodogram",
                fmt::format("the minimum period {} is not below the maximum period {}", min_period, max_period));
  }
  FrequencyGrid grid;
  grid.minimum = 1 / max_period;
  grid.step = 1 / (oversample * baseline);
  // The tolerance keeps a maximum frequency that is a whole number of steps
  // away (as with the defaults) on the grid despite rounding.
  grid.count = static_cast<size_t>(std::floor((1 / min_period - grid.minimum) / grid.step * (1 + 1e-12))) + 1;
  return grid;
}

void lomb_scargle(std::span<const double> t, std::span<const double> y, std::span<const double> dy,
                  const FrequencyGrid& grid, std::span<double> power) {
  std::vector<double> w, centred;
  const double yy = prepare(y, dy, w, centred);
  std::vector<double> rotation(4 * t.size());
  double* base = rotation.data();
  const size_t n = t.size();
  grid_power(t.data(), w.data(), centred.data(), n, yy, grid, base, base + n, base + 2 * n, base + 3 * n, power.data());
}

namespace {

// The epochs a curve's features use, into scratch.t/m/d in time order: finite
// time, magnitude and error >= 0 (error 0 when there is no error value).
// Returns whether the curve is weighted: errors given, every one above 0.
bool gather_good_epochs(std::span<const double> times, std::span<const float> magnitudes, std::span<const float> errors,
                        FeatureScratch& scratch) {
  std::vector<double>& t = scratch.t;
  std::vector<double>& m = scratch.m;
  std::vector<double>& d = scratch.d;
  t.clear();
  m.clear();
  d.clear();
  bool weighted = !errors.empty();
  for (size_t e = 0; e < magnitudes.size(); ++e) {
    const double error = errors.empty() ? 0.0 : errors[e];
    if (!std::isfinite(times[e]) || !std::isfinite(magnitudes[e]) || !std::isfinite(error) || error < 0) continue;
    t.push_back(times[e]);
    m.push_back(magnitudes[e]);
    d.push_back(error);
    weighted = weighted && error > 0;
  }
  if (!std::is_sorted(t.begin(), t.end())) {
    std::vector<size_t> order(t.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t[a] < t[b]; });
    auto permute = [&](std::vector<double>& values) {
      std::vector<double> copy = values;
      for (size_t i = 0; i < order.size(); ++i) values[i] = copy[order[i]];
    };
    permute(t);
    permute(m);
    permute(d);
  }
  return weighted;
}

// The periodogram of the epochs gathered in `scratch` into scratch.power.
// Shifts scratch.t to start at 0: the power does not depend on the time
// origin; its precision does.
void gathered_periodogram(FeatureScratch& scratch, bool weighted, const FrequencyGrid& grid) {
  const double t0 = scratch.t.front();
  for (double& time : scratch.t) time -= t0;
  scratch.power.resize(grid.count);
  const std::span<const double> dy = weighted ? std::span<const double>(scratch.d) : std::span<const double>();
  lomb_scargle(scratch.t, scratch.m, dy, grid, scratch.power);
}

class FeatureWriter {
 public:
  explicit FeatureWriter(std::span<double> out) : out_(out) { std::fill(out_.begin(), out_.end(), kNaN); }
  void set(Feature feature, double value) { out_[static_cast<size_t>(feature)] = value; }

 private:
  std::span<double> out_;
};

// Median, spreads and range from the magnitudes in order. Returns whether
// the curve is constant.
bool set_order_statistics(FeatureScratch& scratch, FeatureWriter& out) {
  const std::vector<double>& m = scratch.m;
  const size_t count = m.size();
  // The magnitudes came as float32, so sorting them as such is exact.
  std::vector<uint32_t>& keys = scratch.keys;
  keys.resize(count);
  for (size_t i = 0; i < count; ++i) keys[i] = sortable_key(static_cast<float>(m[i]));
  radix_sort(keys, scratch.key_buffer);
  std::vector<double>& sorted = scratch.sorted;
  sorted.resize(count);
  for (size_t i = 0; i < count; ++i) sorted[i] = from_sortable_key(keys[i]);
  const double median = quantile(sorted, 0.5);
  out.set(Feature::kMedian, median);
  out.set(Feature::kIqr, quantile(sorted, 0.75) - quantile(sorted, 0.25));
  out.set(Feature::kAmplitude, (quantile(sorted, 0.95) - quantile(sorted, 0.05)) / 2);
  out.set(Feature::kRange, sorted.back() - sorted.front());
  out.set(Feature::kMad, median_absolute_deviation(sorted, median));
  return sorted.front() == sorted.back();
}

// Standard deviation, von Neumann eta, excess variance, skewness and
// kurtosis (two or more epochs).
void set_moments(const FeatureScratch& scratch, bool has_errors, bool constant, FeatureWriter& out) {
  const std::vector<double>& m = scratch.m;
  const std::vector<double>& d = scratch.d;
  const size_t count = m.size();
  const double n = static_cast<double>(count);
  // A constant curve's mean is its value exactly, so its spread is exactly 0, not rounding noise.
  const double mean = constant ? m[0] : std::accumulate(m.begin(), m.end(), 0.0) / n;
  double m2 = 0, m3 = 0, m4 = 0, mean_d2 = 0, successive = 0;
  for (size_t i = 0; i < count; ++i) {
    const double delta = m[i] - mean;
    const double delta2 = delta * delta;
    m2 += delta2;
    m3 += delta2 * delta;
    m4 += delta2 * delta2;
    mean_d2 += d[i] * d[i];
    if (i > 0) successive += (m[i] - m[i - 1]) * (m[i] - m[i - 1]);
  }
  mean_d2 /= n;
  const double variance = m2 / (n - 1);
  const double std = std::sqrt(variance);
  out.set(Feature::kStd, std);
  out.set(Feature::kEta, successive / ((n - 1) * variance));
  if (has_errors) out.set(Feature::kExcessVariance, (variance - mean_d2) / (mean * mean));
  if (count >= 3) out.set(Feature::kSkewness, n / ((n - 1) * (n - 2)) * m3 / (variance * std));
  if (count >= 4) {
    out.set(Feature::kKurtosis, n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * m4 / (variance * variance) -
                                    3 * (n - 1) * (n - 1) / ((n - 2) * (n - 3)));
  }
}

// The features that weigh each epoch by 1 / error^2: reduced chi2 against
// the weighted mean, Stetson J, K and L (two or more epochs), and the
// weighted linear trend (three or more).
void set_weighted_features(const FeatureScratch& scratch, double weighted_mean, FeatureWriter& out) {
  const std::vector<double>& t = scratch.t;
  const std::vector<double>& m = scratch.m;
  const std::vector<double>& d = scratch.d;
  const size_t count = m.size();
  const double n = static_cast<double>(count);
  const double scale = std::sqrt(n / (n - 1));
  double chi2 = 0, sum_abs = 0, sum_j = 0;
  for (size_t i = 0; i < count; ++i) {
    const double r = (m[i] - weighted_mean) / d[i];
    chi2 += r * r;
    const double residual = scale * r;
    sum_abs += std::abs(residual);
    const double p = residual * residual - 1;
    sum_j += std::copysign(std::sqrt(std::abs(p)), p);
  }
  out.set(Feature::kChi2Reduced, chi2 / (n - 1));
  const double stetson_j = sum_j / n;
  const double stetson_k = (sum_abs / n) / std::sqrt(scale * scale * chi2 / n);
  out.set(Feature::kStetsonJ, stetson_j);
  out.set(Feature::kStetsonK, stetson_k);
  out.set(Feature::kStetsonL, stetson_j * stetson_k / 0.798);
  if (count < 3) return;
  double sw = 0, swt = 0, swtt = 0, swm = 0, swtm = 0;
  for (size_t i = 0; i < count; ++i) {
    const double w = 1 / (d[i] * d[i]);
    const double dt = t[i] - t.front();  // shifted for precision; the slope does not change
    sw += w;
    swt += w * dt;
    swtt += w * dt * dt;
    // Centred on the weighted mean: the same slope, better conditioned.
    swm += w * (m[i] - weighted_mean);
    swtm += w * dt * (m[i] - weighted_mean);
  }
  const double determinant = sw * swtt - swt * swt;
  out.set(Feature::kSlope, (sw * swtm - swt * swm) / determinant);
  out.set(Feature::kSlopeError, std::sqrt(sw / determinant));
}

// The best period: the periodogram's highest grid peak, refined by a
// golden-section search between the neighbouring grid frequencies (the grid
// alone places it within half a step), with its power and false-alarm
// probability.
void set_period(FeatureScratch& scratch, bool weighted, const FrequencyGrid& grid, FeatureWriter& out) {
  gathered_periodogram(scratch, weighted, grid);
  const std::vector<double>& power = scratch.power;
  const auto best = std::max_element(power.begin(), power.end(),
                                     [](double a, double b) { return std::isnan(a) || (!std::isnan(b) && a < b); });
  if (std::isnan(*best)) return;
  const std::vector<double>& t = scratch.t;
  const std::span<const double> dy = weighted ? std::span<const double>(scratch.d) : std::span<const double>();
  std::vector<double> w, centred;
  const double yy = prepare(scratch.m, dy, w, centred);
  const double k = static_cast<double>(best - power.begin());
  const double max_frequency = grid.minimum + static_cast<double>(grid.count - 1) * grid.step;
  double low = std::max(grid.minimum, grid.minimum + (k - 1) * grid.step);
  double high = std::min(max_frequency, grid.minimum + (k + 1) * grid.step);
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  double a = high - ratio * (high - low), b = low + ratio * (high - low);
  double power_a = power_at(t, w, centred, yy, a), power_b = power_at(t, w, centred, yy, b);
  for (int iteration = 0; iteration < 30; ++iteration) {
    if (power_a < power_b) {
      low = a;
      a = b;
      power_a = power_b;
      b = low + ratio * (high - low);
      power_b = power_at(t, w, centred, yy, b);
    } else {
      high = b;
      b = a;
      power_b = power_a;
      a = high - ratio * (high - low);
      power_a = power_at(t, w, centred, yy, a);
    }
  }
  double frequency = power_a > power_b ? a : b;
  double peak = std::max(power_a, power_b);
  if (!(peak >= *best)) {
    frequency = grid.minimum + k * grid.step;
    peak = *best;
  }
  out.set(Feature::kPeriod, 1 / frequency);
  out.set(Feature::kPeriodPower, peak);
  out.set(Feature::kPeriodFap, false_alarm_probability(peak, max_frequency, t, w));
}

}  // namespace

std::vector<double> curve_periodogram(std::span<const double> times, std::span<const float> magnitudes,
                                      std::span<const float> errors, const FrequencyGrid& grid) {
  FeatureScratch scratch;
  const bool weighted = gather_good_epochs(times, magnitudes, errors, scratch);
  if (scratch.m.size() < 4) return std::vector<double>(grid.count, kNaN);
  gathered_periodogram(scratch, weighted, grid);
  return scratch.power;
}

void compute_features(std::span<const double> times, std::span<const float> magnitudes, std::span<const float> errors,
                      const FrequencyGrid& grid, FeatureScratch& scratch, std::span<double> out_values) {
  FeatureWriter out(out_values);
  const bool weighted = gather_good_epochs(times, magnitudes, errors, scratch);
  const std::vector<double>& m = scratch.m;
  const size_t count = m.size();
  out.set(Feature::kNGood, static_cast<double>(count));
  if (count == 0) return;
  const bool constant = set_order_statistics(scratch, out);
  double weighted_mean = kNaN;
  if (weighted) {
    double sum_w = 0, sum_wm = 0;
    for (size_t i = 0; i < count; ++i) {
      const double w = 1 / (scratch.d[i] * scratch.d[i]);
      sum_w += w;
      sum_wm += w * m[i];
    }
    weighted_mean = constant ? m[0] : sum_wm / sum_w;
    out.set(Feature::kWeightedMean, weighted_mean);
    out.set(Feature::kWeightedMeanError, 1 / std::sqrt(sum_w));
  }
  if (count < 2) return;
  set_moments(scratch, !errors.empty(), constant, out);
  if (weighted) set_weighted_features(scratch, weighted_mean, out);
  if (count >= 4 && grid.count > 0 && !constant)
    set_period(scratch, weighted, grid, out);  // a constant curve has no period
}

}  // namespace lcstore::lightcurve
