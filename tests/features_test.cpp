// The feature kernels on curves whose features are known in closed form, the
// periodogram against a weighted least-squares sinusoid fit done here
// independently, the edge cases (no good epoch, one, two, constant curves,
// zero errors), the frequency grid's defaults, and feature filters.
// Comparison with the light-curve package and astropy is in
// tests/features_python.
#include "lcstore/lightcurve/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/lightcurve/feature_query.h"

namespace lcstore::lightcurve {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

std::vector<double> features_of(const std::vector<double>& t, const std::vector<float>& m, const std::vector<float>& d,
                                const FrequencyGrid& grid = {}) {
  FeatureScratch scratch;
  std::vector<double> out(kFeatureCount);
  compute_features(t, m, d, grid, scratch, out);
  return out;
}

double get(const std::vector<double>& features, Feature feature) { return features[static_cast<size_t>(feature)]; }

// Equal to rounding: the closed forms go through sqrt and divisions.
#define EXPECT_CLOSE(actual, expected) EXPECT_NEAR(actual, expected, 1e-13 * std::max(1.0, std::abs(double(expected))))

TEST(Features, NamesAreOnePerFeatureAndResolve) {
  ASSERT_EQ(feature_names().size(), kFeatureCount);
  for (size_t i = 0; i < kFeatureCount; ++i) EXPECT_EQ(static_cast<size_t>(feature_named(feature_names()[i])), i);
  EXPECT_THROW(feature_named("chi2"), Error);
}

// m = 1..5 at t = 0..4, every error 1: each feature worked out by hand.
TEST(Features, ClosedFormValues) {
  const std::vector<double> f = features_of({0, 1, 2, 3, 4}, {1, 2, 3, 4, 5}, {1, 1, 1, 1, 1});
  EXPECT_EQ(get(f, Feature::kNGood), 5);
  EXPECT_CLOSE(get(f, Feature::kWeightedMean), 3);
  EXPECT_CLOSE(get(f, Feature::kWeightedMeanError), 1 / std::sqrt(5.0));
  EXPECT_CLOSE(get(f, Feature::kMedian), 3);
  EXPECT_CLOSE(get(f, Feature::kStd), std::sqrt(2.5));
  EXPECT_CLOSE(get(f, Feature::kMad), 1);
  EXPECT_CLOSE(get(f, Feature::kIqr), 2);
  EXPECT_CLOSE(get(f, Feature::kAmplitude), (4.8 - 1.2) / 2);
  EXPECT_CLOSE(get(f, Feature::kRange), 4);
  EXPECT_NEAR(get(f, Feature::kSkewness), 0, 1e-15);
  EXPECT_CLOSE(get(f, Feature::kKurtosis), -1.2);
  EXPECT_CLOSE(get(f, Feature::kChi2Reduced), 2.5);
  // r = sqrt(5/4) (-2..2): P = (4, 0.25, -1, 0.25, 4), signed roots (2, .5, -1, .5, 2).
  EXPECT_CLOSE(get(f, Feature::kStetsonJ), 0.8);
  EXPECT_CLOSE(get(f, Feature::kStetsonK), 1.2 / std::sqrt(2.0));
  EXPECT_CLOSE(get(f, Feature::kStetsonL), 0.8 * 1.2 / std::sqrt(2.0) / 0.798);
  EXPECT_CLOSE(get(f, Feature::kEta), 4.0 / (4 * 2.5));
  EXPECT_CLOSE(get(f, Feature::kExcessVariance), (2.5 - 1) / 9);
  EXPECT_CLOSE(get(f, Feature::kSlope), 1);
  EXPECT_CLOSE(get(f, Feature::kSlopeError), std::sqrt(5.0 / 50));
}

TEST(Features, EpochsOutOfTimeOrderAreSortedForEta) {
  const std::vector<double> sorted = features_of({0, 1, 2, 3, 4}, {1, 3, 2, 5, 4}, {1, 1, 1, 1, 1});
  const std::vector<double> shuffled = features_of({3, 0, 4, 2, 1}, {5, 1, 4, 2, 3}, {1, 1, 1, 1, 1});
  for (size_t i = 0; i < kFeatureCount; ++i) {
    if (std::isnan(sorted[i])) {
      EXPECT_TRUE(std::isnan(shuffled[i])) << feature_names()[i];
    } else {
      EXPECT_DOUBLE_EQ(sorted[i], shuffled[i]) << feature_names()[i];
    }
  }
}

TEST(Features, NoGoodEpochGivesZeroCountAndNaN) {
  const std::vector<double> f = features_of({0, 1, 2}, {kNaNf, kNaNf, kNaNf}, {0.1f, 0.1f, 0.1f});
  EXPECT_EQ(get(f, Feature::kNGood), 0);
  for (size_t i = 1; i < kFeatureCount; ++i) EXPECT_TRUE(std::isnan(f[i])) << feature_names()[i];
}

TEST(Features, BadErrorsOrTimesDropTheEpoch) {
  const std::vector<double> f =
      features_of({0, 1, kNaN, 3}, {1, 2, 3, 4}, {0.1f, std::numeric_limits<float>::infinity(), 0.1f, -1});
  EXPECT_EQ(get(f, Feature::kNGood), 1);
  EXPECT_DOUBLE_EQ(get(f, Feature::kMedian), 1);
}

TEST(Features, OneGoodEpoch) {
  const std::vector<double> f = features_of({0, 1}, {17.5f, kNaNf}, {0.5f, 0.1f});
  EXPECT_EQ(get(f, Feature::kNGood), 1);
  EXPECT_DOUBLE_EQ(get(f, Feature::kWeightedMean), 17.5);
  EXPECT_DOUBLE_EQ(get(f, Feature::kWeightedMeanError), 0.5);
  EXPECT_DOUBLE_EQ(get(f, Feature::kMedian), 17.5);
  EXPECT_EQ(get(f, Feature::kMad), 0);
  EXPECT_EQ(get(f, Feature::kIqr), 0);
  EXPECT_EQ(get(f, Feature::kAmplitude), 0);
  EXPECT_EQ(get(f, Feature::kRange), 0);
  for (Feature needs_two : {Feature::kStd, Feature::kChi2Reduced, Feature::kStetsonJ, Feature::kEta,
                            Feature::kExcessVariance, Feature::kSlope, Feature::kPeriod}) {
    EXPECT_TRUE(std::isnan(get(f, needs_two))) << feature_names()[static_cast<size_t>(needs_two)];
  }
}

TEST(Features, TwoGoodEpochs) {
  const std::vector<double> f = features_of({0, 1}, {10, 12}, {1, 1});
  EXPECT_EQ(get(f, Feature::kNGood), 2);
  EXPECT_DOUBLE_EQ(get(f, Feature::kStd), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(get(f, Feature::kChi2Reduced), 2);
  EXPECT_DOUBLE_EQ(get(f, Feature::kEta), 2);
  // r = sqrt(2) (-1, 1): P = 1 for both.
  EXPECT_DOUBLE_EQ(get(f, Feature::kStetsonJ), 1);
  EXPECT_DOUBLE_EQ(get(f, Feature::kStetsonK), 1);
  for (Feature needs_more : {Feature::kSkewness, Feature::kKurtosis, Feature::kSlope, Feature::kSlopeError,
                             Feature::kPeriod, Feature::kPeriodPower, Feature::kPeriodFap}) {
    EXPECT_TRUE(std::isnan(get(f, needs_more))) << feature_names()[static_cast<size_t>(needs_more)];
  }
}

TEST(Features, ConstantCurve) {
  std::vector<double> t;
  for (int i = 0; i < 20; ++i) t.push_back(i * 1.7);
  const float value = 15.3f;  // not a binary fraction: sums of it round
  const std::vector<float> errors(20, 0.02f);
  const std::vector<double> f = features_of(t, std::vector<float>(20, value), errors, frequency_grid(t, {}));
  EXPECT_EQ(get(f, Feature::kWeightedMean), double{value});
  EXPECT_EQ(get(f, Feature::kStd), 0);
  EXPECT_EQ(get(f, Feature::kMad), 0);
  EXPECT_EQ(get(f, Feature::kChi2Reduced), 0);
  EXPECT_EQ(get(f, Feature::kStetsonJ), -1);
  EXPECT_EQ(get(f, Feature::kSlope), 0);
  const double error = errors[0];
  EXPECT_CLOSE(get(f, Feature::kExcessVariance), -(error * error) / (double{value} * value));
  for (Feature undefined : {Feature::kSkewness, Feature::kKurtosis, Feature::kEta, Feature::kStetsonK,
                            Feature::kStetsonL, Feature::kPeriod, Feature::kPeriodPower, Feature::kPeriodFap}) {
    EXPECT_TRUE(std::isnan(get(f, undefined))) << feature_names()[static_cast<size_t>(undefined)];
  }
}

// A sinusoid sampled unevenly (deterministic jitter).
struct Sinusoid {
  std::vector<double> t;
  std::vector<float> m, d;
};
Sinusoid sinusoid(size_t n, double period, double noise) {
  Sinusoid curve;
  for (size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i);
    const double time = 3.1 * x + 1.3 * std::sin(x * x);
    curve.t.push_back(58000 + time);
    curve.m.push_back(static_cast<float>(17 + 0.4 * std::sin(2 * std::numbers::pi * time / period + 0.3) +
                                         noise * std::sin(x * 12.9898)));
    curve.d.push_back(static_cast<float>(0.02 + 0.01 * std::cos(x)));
  }
  return curve;
}

TEST(Features, PeriodOfANoiselessSinusoid) {
  const Sinusoid curve = sinusoid(200, 23.7, 0);
  const std::vector<double> f = features_of(curve.t, curve.m, curve.d, frequency_grid(curve.t, {}));
  EXPECT_NEAR(get(f, Feature::kPeriod), 23.7, 23.7 * 1e-5);
  EXPECT_NEAR(get(f, Feature::kPeriodPower), 1, 1e-6);
  EXPECT_LT(get(f, Feature::kPeriodFap), 1e-10);
}

TEST(Features, ZeroErrorsLeaveWeightedFeaturesNaNAndWeighEpochsEqually) {
  Sinusoid curve = sinusoid(100, 40, 0.01);
  curve.d[5] = 0;
  const std::vector<double> f = features_of(curve.t, curve.m, curve.d, frequency_grid(curve.t, {}));
  EXPECT_EQ(get(f, Feature::kNGood), 100);
  for (Feature weighted :
       {Feature::kWeightedMean, Feature::kWeightedMeanError, Feature::kChi2Reduced, Feature::kStetsonJ,
        Feature::kStetsonK, Feature::kStetsonL, Feature::kSlope, Feature::kSlopeError}) {
    EXPECT_TRUE(std::isnan(get(f, weighted))) << feature_names()[static_cast<size_t>(weighted)];
  }
  EXPECT_GT(get(f, Feature::kStd), 0);
  EXPECT_NEAR(get(f, Feature::kPeriod), 40, 0.4);
  const std::vector<double> no_errors = features_of(curve.t, curve.m, {}, frequency_grid(curve.t, {}));
  EXPECT_EQ(get(no_errors, Feature::kPeriod), get(f, Feature::kPeriod));
  EXPECT_TRUE(std::isnan(get(no_errors, Feature::kExcessVariance)));
}

// 1 - chi2(sinusoid + constant) / chi2(constant), by solving the weighted
// normal equations of y = a + b cos + c sin.
double least_squares_power(const Sinusoid& curve, double frequency) {
  double normal[3][4] = {};
  double sw = 0, swy = 0;
  for (size_t i = 0; i < curve.t.size(); ++i) {
    const double w = 1 / (double(curve.d[i]) * curve.d[i]);
    const double phase = 2 * std::numbers::pi * frequency * (curve.t[i] - curve.t[0]);
    const double basis[3] = {1, std::cos(phase), std::sin(phase)};
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) normal[r][c] += w * basis[r] * basis[c];
      normal[r][3] += w * basis[r] * curve.m[i];
    }
    sw += w;
    swy += w * curve.m[i];
  }
  for (int pivot = 0; pivot < 3; ++pivot) {
    for (int r = 0; r < 3; ++r) {
      if (r == pivot) continue;
      const double factor = normal[r][pivot] / normal[pivot][pivot];
      for (int c = 0; c < 4; ++c) normal[r][c] -= factor * normal[pivot][c];
    }
  }
  double coefficients[3];
  for (int r = 0; r < 3; ++r) coefficients[r] = normal[r][3] / normal[r][r];
  const double mean = swy / sw;
  double chi2 = 0, chi2_0 = 0;
  for (size_t i = 0; i < curve.t.size(); ++i) {
    const double w = 1 / (double(curve.d[i]) * curve.d[i]);
    const double phase = 2 * std::numbers::pi * frequency * (curve.t[i] - curve.t[0]);
    const double model = coefficients[0] + coefficients[1] * std::cos(phase) + coefficients[2] * std::sin(phase);
    chi2 += w * (curve.m[i] - model) * (curve.m[i] - model);
    chi2_0 += w * (curve.m[i] - mean) * (curve.m[i] - mean);
  }
  return 1 - chi2 / chi2_0;
}

TEST(LombScargle, EqualsAWeightedSinusoidFitAtEveryFrequency) {
  const Sinusoid curve = sinusoid(300, 61.0, 0.1);
  const FrequencyGrid grid = frequency_grid(curve.t, {});
  ASSERT_GT(grid.count, 1000u);  // long enough for the rotation to drift, were it not reseeded
  std::vector<double> t, y, dy;
  for (size_t i = 0; i < curve.t.size(); ++i) {
    t.push_back(curve.t[i] - curve.t[0]);
    y.push_back(curve.m[i]);
    dy.push_back(curve.d[i]);
  }
  std::vector<double> power(grid.count);
  lomb_scargle(t, y, dy, grid, power);
  for (size_t k = 0; k < grid.count; k += 37) {
    const double frequency = grid.minimum + static_cast<double>(k) * grid.step;
    EXPECT_NEAR(power[k], least_squares_power(curve, frequency), 1e-9) << "frequency " << frequency;
  }
}

TEST(FrequencyGrid, DefaultsFromBaselineAndCadence) {
  std::vector<double> t;
  for (int i = 0; i <= 10; ++i) t.push_back(10.0 * i);
  t.push_back(kNaN);
  const FrequencyGrid grid = frequency_grid(t, {});
  EXPECT_DOUBLE_EQ(grid.minimum, 1 / 100.0);
  EXPECT_DOUBLE_EQ(grid.step, 1 / 1000.0);
  EXPECT_EQ(grid.count, 41u);  // 0.01 to 0.05 (a period of twice the cadence) inclusive
  const FrequencyGrid set = frequency_grid(t, {.min_period = 5, .max_period = 50, .oversample = 2});
  EXPECT_DOUBLE_EQ(set.minimum, 1 / 50.0);
  EXPECT_DOUBLE_EQ(set.step, 1 / 200.0);
  EXPECT_EQ(set.count, 37u);
  EXPECT_THROW(frequency_grid(std::vector<double>{5, 5}, {}), Error);
  EXPECT_THROW(frequency_grid(t, {.min_period = 60, .max_period = 50}), Error);
}

std::vector<double> row_with(std::initializer_list<std::pair<Feature, double>> values) {
  std::vector<double> row(kFeatureCount, kNaN);
  for (auto [feature, value] : values) row[static_cast<size_t>(feature)] = value;
  return row;
}

TEST(FeatureFilter, ComparisonsAndLogic) {
  const FeatureFilter filter = FeatureFilter::parse("chi2_reduced > 5 and n_good >= 20");
  EXPECT_TRUE(filter.matches(row_with({{Feature::kChi2Reduced, 6}, {Feature::kNGood, 20}})));
  EXPECT_FALSE(filter.matches(row_with({{Feature::kChi2Reduced, 5}, {Feature::kNGood, 20}})));
  EXPECT_FALSE(filter.matches(row_with({{Feature::kChi2Reduced, 6}, {Feature::kNGood, 19}})));
  EXPECT_FALSE(filter.matches(row_with({{Feature::kNGood, 30}})));  // NaN chi2
  ASSERT_EQ(filter.features_used().size(), 2u);
  EXPECT_EQ(filter.features_used()[0], Feature::kChi2Reduced);

  const FeatureFilter nested = FeatureFilter::parse("not (period < 1e1 or period > 1.5e+2) and -0.5 <= slope");
  EXPECT_TRUE(nested.matches(row_with({{Feature::kPeriod, 50}, {Feature::kSlope, 0}})));
  EXPECT_FALSE(nested.matches(row_with({{Feature::kPeriod, 5}, {Feature::kSlope, 0}})));
  EXPECT_FALSE(nested.matches(row_with({{Feature::kPeriod, 50}, {Feature::kSlope, -1}})));
  EXPECT_FALSE(FeatureFilter::parse("period != 3").matches(row_with({})));
  EXPECT_TRUE(FeatureFilter::parse("period == 3 or std<=0").matches(row_with({{Feature::kStd, 0}})));
}

TEST(FeatureFilter, BadExpressionsNameTheWord) {
  auto reason = [](const char* expression) {
    try {
      FeatureFilter::parse(expression);
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kInvalidArgument);
      return error.reason();
    }
    return std::string("no error");
  };
  EXPECT_NE(reason("chi2 > 5").find("unexpected \"chi2\" at column 1"), std::string::npos);
  EXPECT_NE(reason("std > 5 and").find("ends early"), std::string::npos);
  EXPECT_NE(reason("std 5").find("unexpected \"5\" at column 5"), std::string::npos);
  EXPECT_NE(reason("(std > 5").find("ends early"), std::string::npos);
  EXPECT_NE(reason("std > 5 std").find("column 9"), std::string::npos);
  EXPECT_NE(reason("").find("empty"), std::string::npos);
}

TEST(SelectObjects, FilterSortNaNLastAndLimit) {
  std::vector<double> table;
  const double stetson[] = {0.5, kNaN, 2.0, 1.0, 3.0};
  for (double j : stetson) {
    std::vector<double> row = row_with({{Feature::kStetsonJ, j}, {Feature::kNGood, 10}});
    table.insert(table.end(), row.begin(), row.end());
  }
  const std::vector<uint64_t> all = {0, 1, 2, 3, 4};
  const FeatureOrder descending = FeatureOrder::parse("-stetson_j");
  EXPECT_EQ(select_objects(table, all, nullptr, &descending, 0), (std::vector<uint64_t>{4, 2, 3, 0, 1}));
  const FeatureOrder ascending = FeatureOrder::parse("stetson_j");
  EXPECT_EQ(select_objects(table, all, nullptr, &ascending, 2), (std::vector<uint64_t>{0, 3}));
  const FeatureFilter filter = FeatureFilter::parse("stetson_j >= 1");
  EXPECT_EQ(select_objects(table, {4, 3, 0}, &filter, nullptr, 0), (std::vector<uint64_t>{4, 3}));
  EXPECT_THROW(FeatureOrder::parse("-nope"), Error);
}

}  // namespace
}  // namespace lcstore::lightcurve
