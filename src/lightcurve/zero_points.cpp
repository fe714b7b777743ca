// Ensemble zero points per epoch (the method is in lcstore/lightcurve/zero_points.h).
#include "lcstore/lightcurve/zero_points.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "lcstore/error.h"
#include "lcstore/zarr/codec_specs.h"
#include "lcstore/zarr/group.h"
#include "lightcurve/curve_columns.h"
#include "lightcurve/layout.h"

namespace lcstore::lightcurve {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Keeps two calibrations or feature runs from rewriting the same metadata at once.
constexpr uint64_t kDerivedLockSlot = 2;
constexpr size_t kMinEnsembleStars = 3;
constexpr uint64_t kBatchObjects = 4096;

struct Moments {
  double mean = 0, std = 0;
};
Moments moments(const std::vector<double>& values) {
  const double n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / n)};
}

struct ClippedStats {
  double mean = kNaN, std = kNaN;
  size_t count = 0;
};
// astropy.stats.sigma_clipped_stats(values, sigma, maxiters): centre the
// median, spread the population std, bounds inclusive.
ClippedStats sigma_clipped(std::vector<double> values, double sigma, int iterations) {
  std::vector<double> scratch;
  for (int iteration = 0; iteration < iterations && !values.empty(); ++iteration) {
    scratch = values;
    const double centre = median_in_place(scratch);
    const double spread = moments(values).std;
    const double low = centre - sigma * spread, high = centre + sigma * spread;
    const size_t before = values.size();
    std::erase_if(values, [&](double v) { return !(v >= low && v <= high); });
    if (values.size() == before) break;
  }
  if (values.empty()) return {};
  const Moments kept = moments(values);
  return {kept.mean, kept.std, values.size()};
}

// One measurement's magnitudes and errors, object-major, NaN where the epoch
// is not good for the ensemble.
struct Photometry {
  std::vector<float> mag, err;
};

Photometry read_photometry(const LightCurveStore& curves, const std::string& measurement, const MagnitudeRows& rows) {
  const uint64_t n_objects = curves.n_objects(), n_epochs = curves.epochs().keys.size();
  Photometry photometry{std::vector<float>(n_objects * n_epochs), std::vector<float>(n_objects * n_epochs)};
  const std::vector<std::string>& objects = curves.objects();
  for (uint64_t first = 0; first < n_objects; first += kBatchObjects) {
    const uint64_t last = std::min(n_objects, first + kBatchObjects);
    const std::vector<std::string> batch(objects.begin() + static_cast<ptrdiff_t>(first),
                                         objects.begin() + static_cast<ptrdiff_t>(last));
    const std::vector<LightCurve> read = curves.light_curves(batch, measurement);
    for (uint64_t o = first; o < last; ++o) {
      const std::span<const float> data = read[o - first].data;
      std::copy_n(data.begin() + static_cast<ptrdiff_t>(rows.mag * n_epochs), n_epochs,
                  photometry.mag.begin() + static_cast<ptrdiff_t>(o * n_epochs));
      std::copy_n(data.begin() + static_cast<ptrdiff_t>(*rows.mag_err * n_epochs), n_epochs,
                  photometry.err.begin() + static_cast<ptrdiff_t>(o * n_epochs));
    }
  }
  return photometry;
}

ZeroPointFit fit(const Photometry& photometry, uint64_t n_objects, uint64_t n_epochs, const CalibrationOptions& options,
                 const std::string& measurement) {
  const uint64_t min_epochs = options.min_epochs > 0 ? options.min_epochs : std::max<uint64_t>(3, (n_epochs + 1) / 2);
  auto good = [&](uint64_t o, uint64_t e) {
    const float mag = photometry.mag[o * n_epochs + e], err = photometry.err[o * n_epochs + e];
    return std::isfinite(mag) && err > 0 && err <= options.max_error;
  };
  std::vector<uint64_t> ensemble;
  std::vector<double> reference, scratch;
  for (uint64_t o = 0; o < n_objects; ++o) {
    scratch.clear();
    std::vector<double> errors;
    for (uint64_t e = 0; e < n_epochs; ++e) {
      if (!good(o, e)) continue;
      scratch.push_back(photometry.mag[o * n_epochs + e]);
      errors.push_back(photometry.err[o * n_epochs + e]);
    }
    if (scratch.size() < min_epochs || median_in_place(errors) > options.max_error) continue;
    ensemble.push_back(o);
    reference.push_back(median_in_place(scratch));
  }
  if (ensemble.empty()) {
    throw Error(ErrorKind::kBadInput, measurement,
                fmt::format("no object has {} or more epochs with errors up to {} mag to fit zero points with",
                            min_epochs, options.max_error));
  }
  ZeroPointFit result;
  result.measurement = measurement;
  result.ensemble = ensemble.size();
  result.zero_points.assign(n_epochs, kNaN);
  result.errors.assign(n_epochs, kNaN);
  result.stars_used.assign(n_epochs, 0);
  std::vector<double> scatter(n_epochs, kNaN);
  for (int iteration = 0; iteration < options.iterations; ++iteration) {
    for (uint64_t e = 0; e < n_epochs; ++e) {
      std::vector<double> residuals;
      for (size_t k = 0; k < ensemble.size(); ++k) {
        if (good(ensemble[k], e)) residuals.push_back(photometry.mag[ensemble[k] * n_epochs + e] - reference[k]);
      }
      const ClippedStats stats = sigma_clipped(std::move(residuals), options.clip_sigma, options.clip_iterations);
      const bool enough = stats.count >= kMinEnsembleStars;
      result.zero_points[e] = enough ? stats.mean : kNaN;
      result.errors[e] = enough ? stats.std / std::sqrt(static_cast<double>(stats.count)) : kNaN;
      result.stars_used[e] = enough ? stats.count : 0;
      scatter[e] = enough ? stats.std : kNaN;
    }
    for (size_t k = 0; k < ensemble.size(); ++k) {
      scratch.clear();
      for (uint64_t e = 0; e < n_epochs; ++e) {
        if (good(ensemble[k], e) && std::isfinite(result.zero_points[e]))
          scratch.push_back(photometry.mag[ensemble[k] * n_epochs + e] - result.zero_points[e]);
      }
      if (!scratch.empty()) reference[k] = median_in_place(scratch);
    }
  }
  scratch.clear();
  for (double zp : result.zero_points) {
    if (std::isfinite(zp)) scratch.push_back(zp);
  }
  if (!scratch.empty()) {
    const double offset = median_in_place(scratch);
    double squares = 0;
    for (double& zp : result.zero_points) zp -= offset;
    for (double zp : result.zero_points) {
      if (std::isfinite(zp)) squares += zp * zp;
    }
    result.rms = std::sqrt(squares / static_cast<double>(scratch.size()));
  }
  std::erase_if(scatter, [](double s) { return !std::isfinite(s); });
  result.median_scatter = scatter.empty() ? kNaN : median_in_place(scatter);
  return result;
}

void write_epoch_variable(const std::shared_ptr<Store>& store, const std::string& name,
                          const std::vector<double>& values) {
  zarr::ArrayMetadata metadata;
  metadata.shape = {values.size()};
  metadata.data_type = zarr::DataType::kFloat64;
  metadata.chunk_shape = {values.size()};
  metadata.codecs = zarr::codec_chain_from_specs(zarr::DataType::kFloat64, {"zstd:3"});
  metadata.dimension_names = {{"epoch"}};
  metadata.fill_value = zarr::FillValue::of(kNaN);
  metadata.attributes = {{"_FillValue", layout::kNanFillValueAttribute}};
  zarr::Array array = zarr::Array::create(store, "epoch_" + name, metadata);
  array.write(zarr::select_all(array.shape()), std::span<const double>(values));
}

}  // namespace

std::string zero_point_variable(const std::string& measurement) { return "zeropoint_" + measurement; }
std::string zero_point_error_variable(const std::string& measurement) {
  return zero_point_variable(measurement) + "_error";
}

std::vector<ZeroPointFit> calibrate(std::shared_ptr<Store> store, const LightCurveStore& curves,
                                    const CalibrationOptions& options) {
  const std::vector<std::string> measurements = measurements_to_use(curves, options.measurements);
  const MagnitudeRows rows = magnitude_rows(curves);
  if (!rows.mag_err) {
    throw Error(ErrorKind::kNotFound, "mag_err",
                "zero points are fitted with the magnitude errors, and the store has none");
  }
  const uint64_t n_objects = curves.n_objects(), n_epochs = curves.epochs().keys.size();
  std::vector<ZeroPointFit> fits;
  for (const std::string& measurement : measurements) {
    fits.push_back(fit(read_photometry(curves, measurement, rows), n_objects, n_epochs, options, measurement));
  }
  auto held = store->lock(".lcstore", kDerivedLockSlot);
  for (const ZeroPointFit& fitted : fits) {
    write_epoch_variable(store, zero_point_variable(fitted.measurement), fitted.zero_points);
    write_epoch_variable(store, zero_point_error_variable(fitted.measurement), fitted.errors);
  }
  zarr::Group::open(store, "").consolidate();
  return fits;
}

ZeroPoints stored_zero_points(const LightCurveStore& curves, const std::string& measurement) {
  auto numbers = [&](const std::string& name) {
    for (const EpochTable::Variable& variable : curves.epochs().variables) {
      if (variable.name != name) continue;
      if (const auto* values = std::get_if<std::vector<double>>(&variable.values)) return *values;
    }
    throw Error(ErrorKind::kNotFound, "epoch_" + name,
                "no zero points for measurement " + measurement + "; calibrate the store first");
  };
  return {numbers(zero_point_variable(measurement)), numbers(zero_point_error_variable(measurement))};
}

void apply_zero_points(const ZeroPoints& zero_points, std::span<float> magnitudes, std::span<float> errors) {
  for (size_t e = 0; e < magnitudes.size(); ++e) {
    magnitudes[e] = static_cast<float>(magnitudes[e] - zero_points.values[e]);
    if (!errors.empty()) {
      errors[e] =
          static_cast<float>(std::sqrt(double(errors[e]) * errors[e] + zero_points.errors[e] * zero_points.errors[e]));
    }
  }
}

}  // namespace lcstore::lightcurve
