// Features of every light curve, computed in batches of objects by several
// threads and stored as features[object, measurement, feature].
#include "lcstore/lightcurve/store_features.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>

#include "lcstore/error.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/parallel.h"
#include "lcstore/zarr/codec_specs.h"
#include "lcstore/zarr/group.h"
#include "lightcurve/curve_columns.h"
#include "lightcurve/journal.h"
#include "lightcurve/layout.h"

namespace lcstore::lightcurve {

using nlohmann::json;
using zarr::Array;
using zarr::DimSelection;
using zarr::Selection;

namespace {

constexpr const char* kFeaturesArray = "features";
constexpr const char* kFeatureCoordinate = "feature";
constexpr const char* kRunsAttribute = "lcstore_features";
constexpr uint64_t kDerivedLockSlot = 2;  // as zero_points.cpp: one metadata writer at a time
constexpr uint64_t kBatchObjects = 1024;
// About 8 MiB of float64 per chunk of the features array.
constexpr uint64_t kChunkValues = 1 << 20;

std::optional<Array> open_features(const std::shared_ptr<Store>& store) {
  if (!store->get(std::string(kFeaturesArray) + "/zarr.json")) return std::nullopt;
  return Array::open(store, kFeaturesArray);
}

// The features array, made anew when it is missing or has another shape
// (features added since it was written).
Array features_array(const std::shared_ptr<Store>& store, const LightCurveStore& curves) {
  const zarr::Shape shape = {curves.n_objects(), curves.measurements().size(), kFeatureCount};
  if (std::optional<Array> existing = open_features(store); existing && existing->shape() == shape) return *existing;
  for (const std::string& key : store->list(std::string(kFeaturesArray) + "/")) store->erase(key);
  const std::vector<std::string>& names = feature_names();
  zarr::ArrayMetadata labels;
  labels.shape = {names.size()};
  labels.data_type = zarr::DataType::kString;
  labels.chunk_shape = {names.size()};
  labels.codecs = zarr::codec_chain_from_specs(zarr::DataType::kString, {"zstd:3"});
  labels.dimension_names = {{kFeatureCoordinate}};
  labels.fill_value = zarr::FillValue::of_string("");
  Array coordinate = Array::create(store, kFeatureCoordinate, labels);
  coordinate.write_strings(zarr::select_all(coordinate.shape()), names);

  zarr::ArrayMetadata metadata;
  metadata.shape = shape;
  metadata.data_type = zarr::DataType::kFloat64;
  metadata.chunk_shape = {std::clamp<uint64_t>(kChunkValues / (shape[1] * shape[2]), 1, shape[0]), shape[1], shape[2]};
  metadata.codecs = zarr::codec_chain_from_specs(zarr::DataType::kFloat64, {"zstd:3"});
  metadata.dimension_names = {{"object", "measurement", kFeatureCoordinate}};
  metadata.fill_value = zarr::FillValue::of(std::numeric_limits<double>::quiet_NaN());
  metadata.attributes = {{"_FillValue", layout::kNanFillValueAttribute}, {kRunsAttribute, json::object()}};
  return Array::create(store, kFeaturesArray, metadata);
}

// One measurement's features of every object, n_objects x kFeatureCount.
std::vector<double> compute_measurement(const LightCurveStore& curves, const std::string& measurement,
                                        std::span<const double> times, const FrequencyGrid& grid,
                                        const std::optional<ZeroPoints>& zero_points, const FeatureRunOptions& options,
                                        std::atomic<uint64_t>& done, uint64_t total) {
  const std::vector<std::string>& objects = curves.objects();
  const uint64_t n_objects = objects.size();
  std::vector<double> result(n_objects * kFeatureCount);
  const uint64_t n_batches = (n_objects + kBatchObjects - 1) / kBatchObjects;
  parallel_for(n_batches, options.threads, [&](size_t b, unsigned) {
    const uint64_t first = b * kBatchObjects, last = std::min(n_objects, first + kBatchObjects);
    const std::vector<std::string> batch(objects.begin() + static_cast<ptrdiff_t>(first),
                                         objects.begin() + static_cast<ptrdiff_t>(last));
    compute_object_features(curves, batch, measurement, times, grid, zero_points ? &*zero_points : nullptr,
                            std::span(result).subspan(first * kFeatureCount, (last - first) * kFeatureCount));
    if (options.progress) options.progress(done += last - first, total);
  });
  return result;
}

}  // namespace

void compute_object_features(const LightCurveStore& curves, const std::vector<std::string>& objects,
                             const std::string& measurement, std::span<const double> times, const FrequencyGrid& grid,
                             const ZeroPoints* zero_points, std::span<double> out) {
  const MagnitudeRows rows = magnitude_rows(curves);
  const size_t n_epochs = times.size();
  FeatureScratch scratch;
  std::vector<float> mag(n_epochs), err(rows.mag_err ? n_epochs : 0);
  const std::vector<LightCurve> read = curves.light_curves(objects, measurement);
  for (size_t o = 0; o < read.size(); ++o) {
    const std::span<const float> data = read[o].data;
    std::copy_n(data.begin() + static_cast<ptrdiff_t>(rows.mag * n_epochs), n_epochs, mag.begin());
    if (rows.mag_err)
      std::copy_n(data.begin() + static_cast<ptrdiff_t>(*rows.mag_err * n_epochs), n_epochs, err.begin());
    if (zero_points) apply_zero_points(*zero_points, mag, err);
    compute_features(times, mag, err, grid, scratch, out.subspan(o * kFeatureCount, kFeatureCount));
  }
}

std::vector<double> epoch_times(const LightCurveStore& curves, const std::string& name) {
  for (const EpochTable::Variable& variable : curves.epochs().variables) {
    if (variable.name != name) continue;
    if (const auto* values = std::get_if<std::vector<double>>(&variable.values)) return *values;
    throw Error(ErrorKind::kBadInput, "epoch_" + name, "holds strings, not times");
  }
  throw Error(ErrorKind::kNotFound, "epoch_" + name,
              "no such epoch variable: the times come from a numeric epoch variable such as epoch_mjd, given when "
              "the store is created");
}

FeatureRunResult compute_store_features(std::shared_ptr<Store> store, const LightCurveStore& curves,
                                        const FeatureRunOptions& options) {
  const std::vector<std::string> measurements = measurements_to_use(curves, options.measurements);
  magnitude_rows(curves);
  const std::vector<double> times = epoch_times(curves, options.time_variable);
  FeatureRunResult result;
  result.grid = frequency_grid(times, options.periodogram);
  std::vector<std::optional<ZeroPoints>> zero_points;
  for (const std::string& measurement : measurements) {
    zero_points.push_back(options.calibrated ? std::optional(stored_zero_points(curves, measurement)) : std::nullopt);
  }
  // A populate that starts after this read leaves the features stale.
  const uint64_t generation = Journal(*store).generation();
  const uint64_t total = curves.n_objects() * measurements.size();
  std::atomic<uint64_t> done{0};
  auto held = store->lock(".lcstore", kDerivedLockSlot);
  Array array = features_array(store, curves);
  const std::vector<std::string>& all = curves.measurements();
  for (size_t k = 0; k < measurements.size(); ++k) {
    const std::string& measurement = measurements[k];
    std::vector<double> values =
        compute_measurement(curves, measurement, times, result.grid, zero_points[k], options, done, total);
    // Unrecorded while its values change: a run killed midway leaves the measurement absent, not wrong.
    array.update_attributes([&](json& attributes) { attributes[kRunsAttribute].erase(measurement); });
    const uint64_t row = static_cast<uint64_t>(std::find(all.begin(), all.end(), measurement) - all.begin());
    const Selection selection = {DimSelection::all(curves.n_objects()), DimSelection::range(row, row + 1),
                                 DimSelection::all(kFeatureCount)};
    array.write(selection, std::span<const double>(values));
    array.update_attributes([&](json& attributes) {
      attributes[kRunsAttribute][measurement] = {
          {"generation", generation},
          {"calibrated", options.calibrated},
          {"time_variable", "epoch_" + options.time_variable},
          {"frequency_grid",
           {{"minimum", result.grid.minimum}, {"step", result.grid.step}, {"count", result.grid.count}}}};
    });
    result.curves += curves.n_objects();
  }
  zarr::Group::open(store, "").consolidate();
  return result;
}

const char* to_string(FeatureStatus status) {
  switch (status) {
    case FeatureStatus::kAbsent:
      return "absent";
    case FeatureStatus::kCurrent:
      return "current";
    case FeatureStatus::kStale:
      return "stale";
  }
  return "unknown";
}

std::map<std::string, MeasurementFeatures> feature_status(std::shared_ptr<Store> store, const LightCurveStore& curves) {
  std::map<std::string, MeasurementFeatures> status;
  for (const std::string& measurement : curves.measurements()) status[measurement] = {};
  std::optional<Array> array = open_features(store);
  if (!array) return status;
  const uint64_t generation = Journal(*store).generation();
  const json runs = array->metadata().attributes.value(kRunsAttribute, json::object());
  for (const auto& [measurement, run] : runs.items()) {
    if (!status.contains(measurement)) continue;
    MeasurementFeatures& entry = status[measurement];
    entry.generation = run.value("generation", uint64_t{0});
    entry.calibrated = run.value("calibrated", false);
    entry.status = entry.generation == generation ? FeatureStatus::kCurrent : FeatureStatus::kStale;
  }
  return status;
}

std::vector<double> read_features(std::shared_ptr<Store> store, const LightCurveStore& curves,
                                  const std::string& measurement) {
  measurements_to_use(curves, {measurement});
  if (feature_status(store, curves).at(measurement).status == FeatureStatus::kAbsent) {
    throw Error(ErrorKind::kNotFound, measurement, "no features computed for this measurement");
  }
  const Array array = Array::open(store, kFeaturesArray);
  const std::vector<std::string>& all = curves.measurements();
  const uint64_t row = static_cast<uint64_t>(std::find(all.begin(), all.end(), measurement) - all.begin());
  return array.read<double>(
      {DimSelection::all(curves.n_objects()), DimSelection::range(row, row + 1), DimSelection::all(kFeatureCount)});
}

}  // namespace lcstore::lightcurve
