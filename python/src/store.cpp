#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/info_json.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/populate_catalogs.h"
#include "lcstore/lightcurve/store_features.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::python {

namespace {

using namespace lcstore::lightcurve;

using EpochVariable = std::pair<std::string, std::variant<std::vector<double>, std::vector<std::string>>>;
using FloatArray = nb::ndarray<nb::numpy, float>;
using FeatureArray = nb::ndarray<nb::numpy, double, nb::ndim<2>>;

EpochTable epoch_table(std::vector<std::string> keys, std::vector<EpochVariable> variables) {
  EpochTable epochs = EpochTable::from_keys(std::move(keys));
  for (auto& [name, cells] : variables) epochs.variables.push_back({name, std::move(cells)});
  return epochs;
}

// A LightCurveStore shared by Python threads. Queries and populates may run
// at once (the engine allows it); rechunk() and add_epochs() swap the layouts
// and labels the queries use, so they run alone.
class NativeStore {
 public:
  NativeStore(std::filesystem::path path, std::shared_ptr<Store> storage, LightCurveStore store)
      : path_(std::move(path)), storage_(std::move(storage)), store_(std::move(store)) {}

  static NativeStore create(const std::filesystem::path& path, std::vector<std::string> object_keys,
                            std::vector<double> ra, std::vector<double> dec, std::vector<float> x, std::vector<float> y,
                            std::vector<std::string> epoch_keys, std::vector<EpochVariable> epoch_variables,
                            std::vector<std::string> measurements, const std::vector<std::string>& values,
                            uint64_t object_chunk, std::vector<std::string> codecs, std::string description) {
    CreateOptions options{
        .objects = {std::move(object_keys), std::move(ra), std::move(dec), std::move(x), std::move(y)},
        .epochs = epoch_table(std::move(epoch_keys), std::move(epoch_variables)),
        .measurements = std::move(measurements),
        .values = {},
        .object_chunk = object_chunk,
        .codecs = std::move(codecs),
        .description = std::move(description)};
    for (const std::string& value : values) options.values.push_back(catalog::parse_value(value));
    std::filesystem::create_directories(path);
    auto storage = std::make_shared<DirectoryStore>(path);
    return NativeStore(path, storage, LightCurveStore::create(storage, options));
  }

  static NativeStore open(const std::filesystem::path& path) {
    if (!std::filesystem::is_directory(path)) throw Error(ErrorKind::kNotFound, path.string(), "no such directory");
    auto storage = std::make_shared<DirectoryStore>(path);
    return NativeStore(path, storage, LightCurveStore::open(storage));
  }

  const std::filesystem::path& path() const { return path_; }
  const LightCurveStore& store() const { return store_; }

  nb::dict populate(const std::string& epoch, const catalog::Table& table, const PopulateOptions& options) {
    PopulateResult result;
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      result = store_.populate(epoch, table, options);
    }
    if (result.objects_added != 0) see_added_objects();
    return report(result);
  }

  // Reads the catalog file and populates from it, journaled by its content
  // as the command line journals it, so the two resume each other's runs.
  nb::dict populate_file(const std::string& epoch, const std::filesystem::path& path, bool invalid_to_nan,
                         const PopulateOptions& options) {
    CatalogReport catalog_report;
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      catalog_report = std::move(
          populate_catalogs(store_, {{path, epoch}}, {.populate = options, .invalid_to_nan = invalid_to_nan}).front());
    }
    if (catalog_report.error) throw *catalog_report.error;
    if (catalog_report.result.objects_added != 0) see_added_objects();
    nb::dict fields = report(catalog_report.result);
    fields["format"] = catalog::to_string(*catalog_report.format);
    return fields;
  }

  void rechunk(uint64_t object_chunk, uint64_t memory_budget, unsigned threads) {
    nb::gil_scoped_release release;
    std::unique_lock lock(*mutex_);
    store_.rechunk({.object_chunk = object_chunk, .memory_budget = memory_budget, .threads = threads});
  }

  // Changes the labels the queries use, so it runs alone, as rechunk().
  uint64_t add_epochs(std::vector<std::string> keys, std::vector<EpochVariable> variables) {
    const EpochTable epochs = epoch_table(std::move(keys), std::move(variables));
    nb::gil_scoped_release release;
    std::unique_lock lock(*mutex_);
    return store_.add_epochs(epochs);
  }

  // As add_epochs.
  uint64_t add_objects(std::vector<std::string> keys, std::vector<double> ra, std::vector<double> dec,
                       std::vector<float> x, std::vector<float> y) {
    const lightcurve::ObjectTable objects{std::move(keys), std::move(ra), std::move(dec), std::move(x), std::move(y)};
    nb::gil_scoped_release release;
    std::unique_lock lock(*mutex_);
    return store_.add_objects(objects);
  }

  bool read_layout_current() const {
    nb::gil_scoped_release release;
    std::shared_lock lock(*mutex_);
    return store_.read_layout_current();
  }

  // The one place info() leaves C++: as JSON text, which lcstore.Store.info
  // turns into a dict.
  std::string info_json() const {
    nb::gil_scoped_release release;
    std::shared_lock lock(*mutex_);
    return to_json(store_.info()).dump();
  }

  // values[object][measurement][value][epoch]. The engine reads curves into
  // blocks in storage order; when the objects asked for are consecutive rows
  // within one block, the array is that block, else a copy in request order.
  FloatArray light_curves(const std::vector<std::string>& objects,
                          const std::optional<std::string>& measurement) const {
    std::vector<LightCurve> curves;
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      curves = store_.light_curves(objects, measurement);
    }
    const size_t measurements = measurement ? 1 : store_.measurements().size();
    const size_t values = store_.values().size();
    const size_t epochs = store_.epochs().keys.size();
    const size_t curve_values = measurements * values * epochs;
    const std::initializer_list<size_t> shape = {curves.size(), measurements, values, epochs};
    if (!curves.empty() && one_block(curves, curve_values)) {
      auto* owned = new std::shared_ptr<const float[]>(curves.front().storage);
      nb::capsule owner(owned,
                        [](void* pointer) noexcept { delete static_cast<std::shared_ptr<const float[]>*>(pointer); });
      return FloatArray(const_cast<float*>(curves.front().data.data()), shape, owner);
    }
    auto* copy = new std::vector<float>(curves.size() * curve_values);
    {
      nb::gil_scoped_release release;
      for (size_t i = 0; i < curves.size(); ++i) {
        std::copy(curves[i].data.begin(), curves[i].data.end(),
                  copy->begin() + static_cast<ptrdiff_t>(i * curve_values));
      }
    }
    nb::capsule owner(copy, [](void* pointer) noexcept { delete static_cast<std::vector<float>*>(pointer); });
    return FloatArray(copy->data(), shape, owner);
  }

  // values[object][measurement][value] at one epoch.
  FloatArray epoch(const std::string& key) const {
    EpochSlice slice;
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      slice = store_.epoch(key);
    }
    auto* owned = new std::vector<float>(std::move(slice.data));
    nb::capsule owner(owned, [](void* pointer) noexcept { delete static_cast<std::vector<float>*>(pointer); });
    return FloatArray(owned->data(), {store_.n_objects(), store_.measurements().size(), store_.values().size()}, owner);
  }

  // Computes and stores the features (compute_store_features): what the
  // `lcstore features` command does.
  nb::dict compute_features(const FeatureRunOptions& options) {
    FeatureRunResult result;
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      result = compute_store_features(storage_, store_, options);
    }
    nb::dict fields;
    fields["curves"] = result.curves;
    fields["frequencies"] = result.grid.count;
    fields["min_frequency"] = result.grid.minimum;
    fields["frequency_step"] = result.grid.step;
    return fields;
  }

  // The stored features of one measurement: [object][feature].
  FeatureArray features(const std::string& measurement) const {
    std::vector<double> values;
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      values = read_features(storage_, store_, measurement);
    }
    return feature_array(std::move(values));
  }

  // Per measurement: ("absent" | "current" | "stale", calibrated).
  std::vector<std::pair<std::string, std::pair<std::string, bool>>> feature_status() const {
    std::map<std::string, MeasurementFeatures> status;
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      status = lightcurve::feature_status(storage_, store_);
    }
    std::vector<std::pair<std::string, std::pair<std::string, bool>>> entries;
    for (const auto& [measurement, entry] : status) {
      entries.push_back({measurement, {to_string(entry.status), entry.calibrated}});
    }
    return entries;
  }

  // The features of some objects, computed and not stored, on the grid a
  // whole-store run with the same options uses: [object][feature].
  FeatureArray object_features(const std::vector<std::string>& objects, const std::string& measurement, bool calibrated,
                               const std::string& time_variable, const PeriodogramOptions& periodogram) const {
    std::vector<double> values(objects.size() * kFeatureCount);
    {
      nb::gil_scoped_release release;
      std::shared_lock lock(*mutex_);
      const std::vector<double> times = epoch_times(store_, time_variable);
      const FrequencyGrid grid = frequency_grid(times, periodogram);
      std::optional<ZeroPoints> zero_points;
      if (calibrated) zero_points = stored_zero_points(store_, measurement);
      compute_object_features(store_, objects, measurement, times, grid, zero_points ? &*zero_points : nullptr, values);
    }
    return feature_array(std::move(values));
  }

  // Rows of the matching objects and their separations (0 for a region).
  std::pair<nb::ndarray<nb::numpy, uint64_t, nb::ndim<1>>, nb::ndarray<nb::numpy, double, nb::ndim<1>>> matches(
      const std::vector<ObjectMatch>& found) const {
    std::vector<uint64_t> rows;
    std::vector<double> separations;
    for (const ObjectMatch& match : found) {
      rows.push_back(match.index);
      separations.push_back(match.separation_arcsec);
    }
    return {to_numpy(std::move(rows)), to_numpy(std::move(separations))};
  }

  std::vector<ObjectMatch> region(double ra_min, double ra_max, double dec_min, double dec_max) const {
    nb::gil_scoped_release release;
    std::shared_lock lock(*mutex_);
    return store_.region(ra_min, ra_max, dec_min, dec_max);
  }

  std::vector<ObjectMatch> cone(double ra, double dec, double radius_arcsec) const {
    nb::gil_scoped_release release;
    std::shared_lock lock(*mutex_);
    return store_.cone(ra, dec, radius_arcsec);
  }

 private:
  static bool one_block(const std::vector<LightCurve>& curves, size_t curve_values) {
    const float* first = curves.front().data.data();
    for (size_t i = 0; i < curves.size(); ++i) {
      if (curves[i].storage != curves.front().storage || curves[i].data.data() != first + i * curve_values)
        return false;
    }
    return true;
  }

  static FeatureArray feature_array(std::vector<double> values) {
    const size_t rows = values.size() / kFeatureCount;
    auto* owned = new std::vector<double>(std::move(values));
    nb::capsule owner(owned, [](void* pointer) noexcept { delete static_cast<std::vector<double>*>(pointer); });
    return FeatureArray(owned->data(), {rows, kFeatureCount}, owner);
  }

  // A populate that added objects did so through a view of its own
  // (LightCurveStore::populate); queries then see them.
  void see_added_objects() {
    nb::gil_scoped_release release;
    std::unique_lock lock(*mutex_);
    store_ = LightCurveStore::open(storage_);
  }

  static nb::dict report(const PopulateResult& result) {
    nb::dict fields;
    fields["already_done"] = result.already_done;
    fields["values_written"] = result.values_written;
    fields["objects_written"] = result.objects_written;
    fields["finite_cells_overwritten"] = result.finite_cells_overwritten;
    fields["unknown_objects_skipped"] = result.unknown_objects_skipped;
    fields["unmatched_rows_skipped"] = result.unmatched_rows_skipped;
    fields["farther_rows_skipped"] = result.farther_rows_skipped;
    fields["objects_added"] = result.objects_added;
    fields["incomplete_measurements_skipped"] = result.incomplete_measurements_skipped;
    fields["measurements_ignored"] = result.measurements_ignored;
    return fields;
  }

  std::filesystem::path path_;
  std::shared_ptr<Store> storage_;  // the store's files, for the derived arrays (features)
  LightCurveStore store_;
  // Held by pointer: the store is returned by value from create() and open().
  std::unique_ptr<std::shared_mutex> mutex_ = std::make_unique<std::shared_mutex>();
};

PopulateOptions populate_options(const std::string& strategy, std::string table_key, std::string object_key_column,
                                 std::string object_key_prefix, bool skip_unknown_objects, bool skip_incomplete,
                                 std::string journal_id, bool force, bool no_overwrite,
                                 std::optional<double> match_radius_arcsec, bool add_unmatched) {
  return {.strategy = parse_strategy(strategy),
          .keys = {.table_key = std::move(table_key),
                   .object_key_column = std::move(object_key_column),
                   .object_key_prefix = std::move(object_key_prefix)},
          .skip_unknown_objects = skip_unknown_objects,
          .skip_incomplete = skip_incomplete,
          .journal_id = std::move(journal_id),
          .force = force,
          .no_overwrite = no_overwrite,
          .match_radius_arcsec = match_radius_arcsec,
          .add_unmatched_objects = add_unmatched};
}

nb::object epoch_variable_cells(const EpochTable::Variable& variable) {
  if (const auto* numbers = std::get_if<std::vector<double>>(&variable.values)) return nb::cast(to_numpy(*numbers));
  return nb::cast(std::get<std::vector<std::string>>(variable.values));
}

// Opening a store, and what it is made of.
void bind_layout(nb::class_<NativeStore>& store) {
  store
      .def_static("create", &NativeStore::create, nb::arg("path"), nb::arg("object_keys"), nb::arg("ra"),
                  nb::arg("dec"), nb::arg("x"), nb::arg("y"), nb::arg("epoch_keys"), nb::arg("epoch_variables"),
                  nb::arg("measurements"), nb::arg("values"), nb::arg("object_chunk"), nb::arg("codecs"),
                  nb::arg("description"), nb::call_guard<nb::gil_scoped_release>())
      .def_static("open", &NativeStore::open, nb::arg("path"), nb::call_guard<nb::gil_scoped_release>())
      .def_prop_ro("path", &NativeStore::path)
      .def_prop_ro("objects", [](const NativeStore& self) { return self.store().objects(); })
      .def_prop_ro("measurements", [](const NativeStore& self) { return self.store().measurements(); })
      .def_prop_ro("values", [](const NativeStore& self) { return self.store().values(); })
      .def_prop_ro("epochs", [](const NativeStore& self) { return self.store().epochs().keys; })
      .def_prop_ro("epoch_variables",
                   [](const NativeStore& self) {
                     nb::list variables;
                     for (const EpochTable::Variable& variable : self.store().epochs().variables) {
                       variables.append(nb::make_tuple(variable.name, epoch_variable_cells(variable)));
                     }
                     return variables;
                   })
      .def_prop_ro("object_positions",
                   [](const NativeStore& self) {
                     const ObjectTable& objects = self.store().object_table();
                     return nb::make_tuple(to_numpy(objects.ra), to_numpy(objects.dec), to_numpy(objects.x),
                                           to_numpy(objects.y));
                   })
      .def("object_index",
           [](const NativeStore& self, const std::string& key) { return self.store().object_index(key); })
      .def("epoch_index",
           [](const NativeStore& self, const std::string& key) { return self.store().epoch_index(key); });
}

// What changes a store: populate, rechunk, growth.
void bind_writes(nb::class_<NativeStore>& store) {
  store
      .def(
          "populate",
          [](NativeStore& self, const std::string& epoch, const catalog::Table& table, const std::string& strategy,
             std::string table_key, std::string object_key_column, std::string object_key_prefix,
             bool skip_unknown_objects, bool skip_incomplete, std::string journal_id, bool force, bool no_overwrite,
             std::optional<double> match_radius_arcsec, bool add_unmatched) {
            return self.populate(
                epoch, table,
                populate_options(strategy, std::move(table_key), std::move(object_key_column),
                                 std::move(object_key_prefix), skip_unknown_objects, skip_incomplete,
                                 std::move(journal_id), force, no_overwrite, match_radius_arcsec, add_unmatched));
          },
          nb::arg("epoch"), nb::arg("table"), nb::arg("strategy"), nb::arg("table_key"), nb::arg("object_key_column"),
          nb::arg("object_key_prefix"), nb::arg("skip_unknown_objects"), nb::arg("skip_incomplete"),
          nb::arg("journal_id"), nb::arg("force"), nb::arg("no_overwrite"), nb::arg("match_radius_arcsec").none(),
          nb::arg("add_unmatched"))
      .def(
          "populate_file",
          [](NativeStore& self, const std::string& epoch, const std::filesystem::path& path, bool invalid_to_nan,
             const std::string& strategy, std::string table_key, std::string object_key_column,
             std::string object_key_prefix, bool skip_unknown_objects, bool skip_incomplete, bool force,
             bool no_overwrite, std::optional<double> match_radius_arcsec, bool add_unmatched) {
            return self.populate_file(
                epoch, path, invalid_to_nan,
                populate_options(strategy, std::move(table_key), std::move(object_key_column),
                                 std::move(object_key_prefix), skip_unknown_objects, skip_incomplete, {}, force,
                                 no_overwrite, match_radius_arcsec, add_unmatched));
          },
          nb::arg("epoch"), nb::arg("path"), nb::arg("invalid_to_nan"), nb::arg("strategy"), nb::arg("table_key"),
          nb::arg("object_key_column"), nb::arg("object_key_prefix"), nb::arg("skip_unknown_objects"),
          nb::arg("skip_incomplete"), nb::arg("force"), nb::arg("no_overwrite"), nb::arg("match_radius_arcsec").none(),
          nb::arg("add_unmatched"))
      .def("rechunk", &NativeStore::rechunk, nb::arg("object_chunk"), nb::arg("memory_budget"), nb::arg("threads"))
      .def("add_epochs", &NativeStore::add_epochs, nb::arg("keys"), nb::arg("variables"))
      .def("add_objects", &NativeStore::add_objects, nb::arg("keys"), nb::arg("ra"), nb::arg("dec"), nb::arg("x"),
           nb::arg("y"));
}

// Light curves, epochs and positional queries.
void bind_reads(nb::class_<NativeStore>& store) {
  store.def("read_layout_current", &NativeStore::read_layout_current)
      .def("info_json", &NativeStore::info_json)
      .def("light_curves", &NativeStore::light_curves, nb::arg("objects"), nb::arg("measurement").none())
      .def("epoch", &NativeStore::epoch, nb::arg("key"))
      .def(
          "region",
          [](const NativeStore& self, double ra_min, double ra_max, double dec_min, double dec_max) {
            return self.matches(self.region(ra_min, ra_max, dec_min, dec_max));
          },
          nb::arg("ra_min"), nb::arg("ra_max"), nb::arg("dec_min"), nb::arg("dec_max"))
      .def(
          "cone",
          [](const NativeStore& self, double ra, double dec, double radius_arcsec) {
            return self.matches(self.cone(ra, dec, radius_arcsec));
          },
          nb::arg("ra"), nb::arg("dec"), nb::arg("radius_arcsec"));
}

// Variability features and periods.
void bind_features(nb::class_<NativeStore>& store) {
  store
      .def(
          "compute_features",
          [](NativeStore& self, std::vector<std::string> measurements, bool calibrated, std::string time_variable,
             double min_period, double max_period, double oversample, unsigned threads) {
            return self.compute_features({.measurements = std::move(measurements),
                                          .calibrated = calibrated,
                                          .time_variable = std::move(time_variable),
                                          .periodogram = {min_period, max_period, oversample},
                                          .threads = threads,
                                          .progress = {}});
          },
          nb::arg("measurements"), nb::arg("calibrated"), nb::arg("time_variable"), nb::arg("min_period"),
          nb::arg("max_period"), nb::arg("oversample"), nb::arg("threads"))
      .def("features", &NativeStore::features, nb::arg("measurement"))
      .def("feature_status", &NativeStore::feature_status)
      .def(
          "object_features",
          [](const NativeStore& self, const std::vector<std::string>& objects, const std::string& measurement,
             bool calibrated, const std::string& time_variable, double min_period, double max_period,
             double oversample) {
            return self.object_features(objects, measurement, calibrated, time_variable,
                                        {min_period, max_period, oversample});
          },
          nb::arg("objects"), nb::arg("measurement"), nb::arg("calibrated"), nb::arg("time_variable"),
          nb::arg("min_period"), nb::arg("max_period"), nb::arg("oversample"));
}

}  // namespace

void bind_store(nb::module_& module) {
  nb::class_<NativeStore> store(module, "NativeStore", "An open light-curve store.");
  bind_layout(store);
  bind_writes(store);
  bind_reads(store);
  bind_features(store);
  module.def(
      "feature_names", [] { return feature_names(); }, "The feature names, in the features array's order.");
}

}  // namespace lcstore::python
