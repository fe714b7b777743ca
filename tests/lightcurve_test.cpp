// The light-curve store (lightcurve/light_curve_store.h) through its API: the
// original Python system's correctness scenarios for each populate strategy,
// the populate journal, errors that leave the store unchanged, the read
// layout made by rechunk, the queries, ingest of the SExtractor fixtures in
// every format, the xarray layout against zarr-python's reference, and epoch
// tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numbers>
#include <numeric>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "lcstore/catalog/column_mapping.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/catalog/table.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/zarr/array.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using catalog::Column;
using catalog::ColumnMapping;
using catalog::Table;
using lightcurve::CreateOptions;
using lightcurve::EpochSlice;
using lightcurve::EpochTable;
using lightcurve::LightCurve;
using lightcurve::LightCurveStore;
using lightcurve::ObjectMatch;
using lightcurve::ObjectTable;
using lightcurve::PopulateOptions;
using lightcurve::PopulateResult;
using lightcurve::RechunkOptions;
using lightcurve::Strategy;
using nlohmann::json;

const fs::path kFixtures = LCSTORE_FIXTURES;
const std::vector<Strategy> kStrategies = {Strategy::kMaskedSlab, Strategy::kReadModifyWrite, Strategy::kScatter};
const std::vector<StoreKind> kStoreKinds = {StoreKind::kMemory, StoreKind::kDirectory};
constexpr const char* kReadLayout = "lightcurves_by_object";

// --- Whole arrays ------------------------------------------------------------

// Every cell of a light-curve array [object, measurement, value, epoch], C order.
struct Cells {
  zarr::Shape shape;
  std::vector<float> data;

  float at(uint64_t object, uint64_t measurement, uint64_t value, uint64_t epoch) const {
    return data[((object * shape[1] + measurement) * shape[2] + value) * shape[3] + epoch];
  }
  // One object's cells, [measurement][value][epoch], of every measurement or only `measurement`.
  std::vector<float> object(uint64_t row, std::optional<uint64_t> measurement = {}) const {
    const uint64_t per_measurement = shape[2] * shape[3];
    const uint64_t first = measurement.value_or(0), last = measurement ? *measurement + 1 : shape[1];
    const auto begin = data.begin() + static_cast<ptrdiff_t>((row * shape[1] + first) * per_measurement);
    return std::vector<float>(begin, begin + static_cast<ptrdiff_t>((last - first) * per_measurement));
  }
  // One epoch's cells, [object][measurement][value].
  std::vector<float> epoch(uint64_t e) const {
    std::vector<float> out;
    for (uint64_t o = 0; o < shape[0]; ++o)
      for (uint64_t m = 0; m < shape[1]; ++m)
        for (uint64_t v = 0; v < shape[2]; ++v) out.push_back(at(o, m, v, e));
    return out;
  }
};

Cells read_cells(const zarr::Array& array) {
  return {array.shape(), array.read<float>(zarr::select_all(array.shape()))};
}

bool same_cell(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Passes when both hold the same cells (NaN equal to NaN); else names the first differences.
::testing::AssertionResult SameCells(std::span<const float> expected, std::span<const float> actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure() << expected.size() << " cells expected, got " << actual.size();
  }
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  size_t differences = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!same_cell(expected[i], actual[i]) && differences++ < 5) {
      failure << "\ncell " << i << ": expected " << expected[i] << ", got " << actual[i];
    }
  }
  if (differences == 0) return ::testing::AssertionSuccess();
  return failure << "\n" << differences << " of " << expected.size() << " cells differ";
}

size_t count_nan(std::span<const float> cells) {
  return static_cast<size_t>(std::count_if(cells.begin(), cells.end(), [](float c) { return std::isnan(c); }));
}

// --- Synthetic catalogs ---------------------------------------------------------

// An object of a synthetic field: its NUMBER and position.
struct SyntheticObject {
  int64_t number;
  double ra, dec, x, y;
};

// `count` objects numbered 1..count on a patch of sky nine objects wide.
std::vector<SyntheticObject> synthetic_objects(size_t count) {
  std::vector<SyntheticObject> objects;
  for (size_t i = 0; i < count; ++i) {
    const auto column = static_cast<double>(i % 9), row = static_cast<double>(i / 9);
    const auto number = static_cast<int64_t>(i + 1);
    objects.push_back({number, 265.0 + 0.0031 * column + 1e-7 * static_cast<double>(number), 65.5 + 0.0027 * row,
                       12.5 + 10.13 * column, 7.25 + 11.71 * row});
  }
  return objects;
}

// What synthetic_catalog() writes. A value depends on the object, the
// measurement and the seed, so a value written to a wrong cell shows.
struct CatalogSpec {
  std::vector<SyntheticObject> objects;
  int seed = 0;
  std::vector<std::string> complete = {"AUTO", "ISO"};  // measurements with MAG_ and MAGERR_ columns
  std::vector<std::string> mag_only;                    // measurements with only a MAG_ column
  std::string source = "synthetic.cat";
};

// A catalog as SExtractor writes one: NUMBER, positions, MAG_<m>, MAGERR_<m>.
Table synthetic_catalog(const CatalogSpec& spec) {
  Table table(spec.source);
  std::vector<int64_t> numbers;
  std::vector<double> ra, dec, x, y;
  for (const SyntheticObject& object : spec.objects) {
    numbers.push_back(object.number);
    ra.push_back(object.ra);
    dec.push_back(object.dec);
    x.push_back(object.x);
    y.push_back(object.y);
  }
  table.add_column(Column("NUMBER", std::move(numbers)));
  table.add_column(Column("ALPHA_J2000", std::move(ra)));
  table.add_column(Column("DELTA_J2000", std::move(dec)));
  table.add_column(Column("X_IMAGE", std::move(x)));
  table.add_column(Column("Y_IMAGE", std::move(y)));
  double offset = 0;  // per measurement
  auto add_measurement = [&](const std::string& name, bool with_error) {
    std::vector<double> mags, errors;
    for (const SyntheticObject& object : spec.objects) {
      const auto n = static_cast<double>(object.number);
      mags.push_back(14.0 + 0.0131 * n + offset + 0.0173 * spec.seed);
      errors.push_back(0.0021 + 0.00037 * n + 0.01 * offset + 0.0007 * spec.seed);
    }
    table.add_column(Column("MAG_" + name, std::move(mags)));
    if (with_error) table.add_column(Column("MAGERR_" + name, std::move(errors)));
    offset += 0.5;
  };
  for (const std::string& name : spec.complete) add_measurement(name, true);
  for (const std::string& name : spec.mag_only) add_measurement(name, false);
  return table;
}

// The SExtractor column of a store value: ("aper_1", "mag_err") -> MAGERR_APER_1.
std::string catalog_column(const std::string& measurement, const std::string& value) {
  static const std::map<std::string, std::string> kPrefixes = {
      {"mag", "MAG_"}, {"mag_err", "MAGERR_"}, {"flux", "FLUX_"}, {"flux_err", "FLUXERR_"}};
  std::string upper = measurement;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  return kPrefixes.at(value) + upper;
}

// How a catalog's rows and columns name the store's cells.
struct CatalogReading {
  std::vector<std::string> measurements;  // store measurements the catalog fills; empty: all of them
  std::string table_key;
  std::string object_prefix;
};

// Expects every cell the catalog fills at `epoch` (each row, each of the
// measurements, each store value) to hold the catalog's value as float32.
void expect_epoch_holds(const LightCurveStore& store, const std::string& epoch, const Table& catalog,
                        const CatalogReading& reading = {}) {
  const Cells cells = read_cells(store.write_layout());
  const uint64_t e = store.epoch_index(epoch);
  const std::vector<std::string>& measurements =
      reading.measurements.empty() ? store.measurements() : reading.measurements;
  const std::string measurement_prefix = reading.table_key.empty() ? "" : reading.table_key + "-";
  const Column& numbers = catalog.column("NUMBER");
  size_t mismatches = 0;
  for (size_t row = 0; row < catalog.num_rows(); ++row) {
    const std::string key = reading.object_prefix + std::to_string(static_cast<int64_t>(numbers.number(row)));
    const uint64_t o = store.object_index(key);
    for (const std::string& measurement : measurements) {
      ASSERT_TRUE(measurement.starts_with(measurement_prefix)) << measurement;
      const uint64_t m =
          static_cast<uint64_t>(std::find(store.measurements().begin(), store.measurements().end(), measurement) -
                                store.measurements().begin());
      ASSERT_LT(m, store.measurements().size()) << measurement;
      for (uint64_t v = 0; v < store.values().size(); ++v) {
        const std::string column = catalog_column(measurement.substr(measurement_prefix.size()), store.values()[v]);
        const auto expected = static_cast<float>(catalog.column(column).number(row));
        const float stored = cells.at(o, m, v, e);
        if (!same_cell(expected, stored) && mismatches++ < 5) {
          ADD_FAILURE() << catalog.source() << " epoch " << epoch << " object " << key << " " << column << ": catalog "
                        << expected << ", store " << stored;
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << catalog.source() << " epoch " << epoch;
}

// --- Synthetic stores ---------------------------------------------------------------

constexpr size_t kObjectCount = 45;
constexpr uint64_t kObjectChunk = 8;  // 45 objects: six chunks, the last one partial
const std::vector<std::string> kEpochs = {"e0", "e1", "e2"};
const std::vector<std::string> kMeasurements = {"auto", "iso"};

const std::vector<SyntheticObject> kField = synthetic_objects(kObjectCount);

// An epoch catalog of the synthetic field.
Table epoch_catalog(int seed, std::vector<SyntheticObject> objects = kField) {
  return synthetic_catalog(
      {.objects = std::move(objects), .seed = seed, .source = "e" + std::to_string(seed) + ".cat"});
}

// A store of the synthetic field's objects, made as lcstore create makes one:
// objects from the detection catalog through a column mapping.
CreateOptions synthetic_create_options(std::vector<std::string> measurements = kMeasurements,
                                       const std::string& object_prefix = "") {
  const Table coadd = synthetic_catalog({.objects = kField, .source = "coadd.cat"});
  return {
      .objects = ObjectTable::from_catalog(coadd, ColumnMapping(coadd, {.keys = {.object_key_prefix = object_prefix}})),
      .epochs = EpochTable::from_keys(kEpochs),
      .measurements = std::move(measurements),
      .object_chunk = kObjectChunk};
}

// A new handle on the data of `scratch`, as another process would open it:
// a new DirectoryStore on the same directory (the memory store has no other).
std::shared_ptr<Store> another_handle(const ScratchStore& scratch) {
  if (scratch.directory() == nullptr) return scratch.store();
  return std::make_shared<DirectoryStore>(*scratch.directory());
}

// Everything a store holds: each key's bytes and, for a directory store,
// every file (lcstore's lock and temporary files included).
struct StoreSnapshot {
  std::map<std::string, Bytes> values;
  std::set<std::string> files;
};

StoreSnapshot snapshot_of(const ScratchStore& scratch) {
  StoreSnapshot snapshot;
  for (const std::string& key : scratch.store()->list("")) snapshot.values[key] = *scratch.store()->get(key);
  if (scratch.directory() != nullptr) {
    for (const auto& entry : fs::recursive_directory_iterator(*scratch.directory()))
      snapshot.files.insert(entry.path().lexically_relative(*scratch.directory()).generic_string());
  }
  return snapshot;
}

::testing::AssertionResult Unchanged(const StoreSnapshot& before, const StoreSnapshot& after) {
  std::vector<std::string> changes;
  for (const auto& [key, bytes] : before.values) {
    auto found = after.values.find(key);
    if (found == after.values.end())
      changes.push_back("removed key " + key);
    else if (found->second != bytes)
      changes.push_back("changed key " + key);
  }
  for (const auto& [key, bytes] : after.values)
    if (!before.values.contains(key)) changes.push_back("added key " + key);
  for (const std::string& file : before.files)
    if (!after.files.contains(file)) changes.push_back("removed file " + file);
  for (const std::string& file : after.files)
    if (!before.files.contains(file)) changes.push_back("added file " + file);
  if (changes.empty()) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure() << "the store changed:";
  for (const std::string& change : changes) failure << "\n  " << change;
  return failure;
}

// A light-curve store in a scratch store of either kind.
class ScratchLightCurves {
 public:
  ScratchLightCurves(StoreKind kind, const CreateOptions& options)
      : scratch_(kind), store_(LightCurveStore::create(scratch_.store(), options)) {}

  LightCurveStore& operator*() { return store_; }
  LightCurveStore* operator->() { return &store_; }
  const ScratchStore& scratch() const { return scratch_; }
  LightCurveStore reopen() const { return LightCurveStore::open(another_handle(scratch_)); }
  zarr::Array read_layout() const { return zarr::Array::open(scratch_.store(), kReadLayout); }

 private:
  ScratchStore scratch_;  // declared first: outlives the store
  LightCurveStore store_;
};

std::string strategy_and_kind_name(const ::testing::TestParamInfo<std::tuple<Strategy, StoreKind>>& info) {
  return std::string(lightcurve::to_string(std::get<0>(info.param))) + "_" + name_of(std::get<1>(info.param));
}

std::string kind_name(const ::testing::TestParamInfo<StoreKind>& info) { return name_of(info.param); }

// --- The original's correctness scenarios, for each strategy ------------------

class OriginalScenarios : public ::testing::TestWithParam<std::tuple<Strategy, StoreKind>> {
 protected:
  Strategy strategy() const { return std::get<0>(GetParam()); }
  StoreKind kind() const { return std::get<1>(GetParam()); }
  PopulateResult populate(LightCurveStore& store, const std::string& epoch, const Table& catalog) {
    return store.populate(epoch, catalog, {.strategy = strategy()});
  }
  Cells cells() { return read_cells(store_->write_layout()); }

  ScratchLightCurves store_{kind(), synthetic_create_options()};
};

INSTANTIATE_TEST_SUITE_P(Strategies, OriginalScenarios,
                         ::testing::Combine(::testing::ValuesIn(kStrategies), ::testing::ValuesIn(kStoreKinds)),
                         strategy_and_kind_name);

TEST_P(OriginalScenarios, NewStoreReadsAllNaN) {
  const Cells all = cells();
  EXPECT_EQ(all.shape, (zarr::Shape{kObjectCount, 2, 2, 3}));
  EXPECT_EQ(count_nan(all.data), all.data.size());
  for (const char* key : {"1", "45"}) EXPECT_EQ(count_nan(store_->light_curve(key).data), 2u * 2 * 3) << key;
  for (const std::string& epoch : kEpochs) EXPECT_EQ(count_nan(store_->epoch(epoch).data), kObjectCount * 2 * 2);
}

TEST_P(OriginalScenarios, PopulatingEpochs0And2LeavesEpoch1NaN) {
  const Table first = epoch_catalog(0), third = epoch_catalog(2);
  for (const auto& [epoch, catalog] : {std::pair{"e0", &first}, std::pair{"e2", &third}}) {
    const PopulateResult result = populate(*store_, epoch, *catalog);
    EXPECT_FALSE(result.already_done);
    EXPECT_EQ(result.objects_written, kObjectCount);
    EXPECT_EQ(result.values_written, kObjectCount * 2 * 2);
    EXPECT_EQ(result.unknown_objects_skipped, 0u);
  }
  expect_epoch_holds(*store_, "e0", first);
  expect_epoch_holds(*store_, "e2", third);
  const Cells all = cells();
  EXPECT_EQ(count_nan(all.epoch(1)), kObjectCount * 2 * 2);
  EXPECT_EQ(count_nan(all.data), kObjectCount * 2 * 2) << "only epoch 1 is missing";
}

TEST_P(OriginalScenarios, ObjectsMissingFromACatalogStayNaN) {
  std::vector<SyntheticObject> detected;
  for (const SyntheticObject& object : kField)
    if (object.number % 4 != 0) detected.push_back(object);
  const Table catalog = epoch_catalog(1, detected);
  EXPECT_EQ(populate(*store_, "e1", catalog).objects_written, detected.size());
  expect_epoch_holds(*store_, "e1", catalog);
  const Cells all = cells();
  for (const SyntheticObject& object : kField) {
    const uint64_t o = store_->object_index(std::to_string(object.number));
    const std::vector<float> curve = all.object(o);
    const size_t expected_nan = object.number % 4 == 0 ? curve.size() : curve.size() - 2 * 2;
    EXPECT_EQ(count_nan(curve), expected_nan) << "object " << object.number;
  }
}

TEST_P(OriginalScenarios, EveryStoredValueEqualsTheCatalogValue) {
  std::vector<Table> catalogs;
  for (size_t e = 0; e < kEpochs.size(); ++e) {
    catalogs.push_back(epoch_catalog(static_cast<int>(e)));
    populate(*store_, kEpochs[e], catalogs.back());
  }
  EXPECT_EQ(count_nan(cells().data), 0u);
  for (size_t e = 0; e < kEpochs.size(); ++e) expect_epoch_holds(*store_, kEpochs[e], catalogs[e]);
}

TEST_P(OriginalScenarios, CoordinatesEqualTheCatalogs) {
  const Table coadd = synthetic_catalog({.objects = kField});
  populate(*store_, "e0", epoch_catalog(0));
  const LightCurveStore reopened = store_.reopen();
  const std::vector<const LightCurveStore*> stores = {&*store_, &reopened};
  for (const LightCurveStore* store : stores) {
    const ObjectTable& objects = store->object_table();
    ASSERT_EQ(objects.keys.size(), kObjectCount);
    for (size_t row = 0; row < kObjectCount; ++row) {
      EXPECT_EQ(objects.keys[row], std::to_string(coadd.column("NUMBER").int64s()[row]));
      EXPECT_EQ(objects.ra[row], coadd.column("ALPHA_J2000").float64s()[row]) << row;
      EXPECT_EQ(objects.dec[row], coadd.column("DELTA_J2000").float64s()[row]) << row;
      EXPECT_EQ(objects.x[row], static_cast<float>(coadd.column("X_IMAGE").float64s()[row])) << row;
      EXPECT_EQ(objects.y[row], static_cast<float>(coadd.column("Y_IMAGE").float64s()[row])) << row;
      const LightCurve curve = store->light_curve(objects.keys[row]);
      EXPECT_EQ(curve.ra, objects.ra[row]);
      EXPECT_EQ(curve.dec, objects.dec[row]);
      EXPECT_EQ(curve.x, objects.x[row]);
      EXPECT_EQ(curve.y, objects.y[row]);
    }
  }
  // The stored coordinate arrays themselves, as xarray reads them.
  const std::shared_ptr<Store>& raw = store_.scratch().store();
  EXPECT_THAT(zarr::Array::open(raw, "ra").read<double>(zarr::select_all({kObjectCount})),
              ::testing::ElementsAreArray(coadd.column("ALPHA_J2000").float64s()));
  EXPECT_THAT(zarr::Array::open(raw, "dec").read<double>(zarr::select_all({kObjectCount})),
              ::testing::ElementsAreArray(coadd.column("DELTA_J2000").float64s()));
  EXPECT_EQ(zarr::Array::open(raw, "x_image").read<float>(zarr::select_all({kObjectCount})), store_->object_table().x);
}

TEST_P(OriginalScenarios, ShuffledCatalogKeepsEachObjectsValues) {
  // Epoch 0 lists the objects by position (dec, then ra, descending) as a
  // catalog of a differently oriented image would, epoch 1 in random order.
  std::vector<SyntheticObject> by_position = kField;
  std::sort(by_position.begin(), by_position.end(), [](const SyntheticObject& a, const SyntheticObject& b) {
    return std::tie(a.dec, a.ra) > std::tie(b.dec, b.ra);
  });
  std::vector<SyntheticObject> shuffled = kField;
  std::mt19937 random(20240501);
  std::shuffle(shuffled.begin(), shuffled.end(), random);
  ASSERT_NE(by_position.front().number, 1);
  ASSERT_NE(shuffled.front().number, 1);
  const Table first = epoch_catalog(0, by_position), second = epoch_catalog(1, shuffled);
  populate(*store_, "e0", first);
  populate(*store_, "e1", second);
  expect_epoch_holds(*store_, "e0", first);
  expect_epoch_holds(*store_, "e1", second);
  EXPECT_EQ(store_->object_table().keys.front(), "1") << "the store keeps the coadd's order";
}

TEST_P(OriginalScenarios, ValuesSurviveCloseAndReopen) {
  ScratchStore scratch(kind());
  const Table first = epoch_catalog(0), third = epoch_catalog(2);
  Cells written;
  {
    LightCurveStore store = LightCurveStore::create(scratch.store(), synthetic_create_options());
    populate(store, "e0", first);
    populate(store, "e2", third);
    written = read_cells(store.write_layout());
  }
  const LightCurveStore reopened = LightCurveStore::open(another_handle(scratch));
  EXPECT_EQ(reopened.objects(), synthetic_create_options().objects.keys);
  EXPECT_EQ(reopened.measurements(), kMeasurements);
  EXPECT_EQ(reopened.values(), (std::vector<std::string>{"mag", "mag_err"}));
  EXPECT_EQ(reopened.epochs().keys, kEpochs);
  EXPECT_TRUE(SameCells(written.data, read_cells(reopened.write_layout()).data));
  expect_epoch_holds(reopened, "e0", first);
  expect_epoch_holds(reopened, "e2", third);
  EXPECT_EQ(count_nan(read_cells(reopened.write_layout()).epoch(1)), kObjectCount * 2 * 2);
}

// --- Populate options --------------------------------------------------------------

class Populate : public ::testing::TestWithParam<StoreKind> {};
INSTANTIATE_TEST_SUITE_P(Stores, Populate, ::testing::ValuesIn(kStoreKinds), kind_name);

TEST_P(Populate, SkipUnknownObjectsWritesTheRestAndCountsThem) {
  ScratchLightCurves store(GetParam(), synthetic_create_options());
  std::vector<SyntheticObject> objects = kField;
  objects.insert(objects.begin() + 3, SyntheticObject{9001, 1.0, 2.0, 3.0, 4.0});
  objects.push_back(SyntheticObject{9002, 1.0, 2.0, 3.0, 4.0});
  const Table catalog = epoch_catalog(1, objects);
  const PopulateResult result = store->populate("e1", catalog, {.skip_unknown_objects = true});
  EXPECT_EQ(result.unknown_objects_skipped, 2u);
  EXPECT_EQ(result.objects_written, kObjectCount);
  EXPECT_EQ(result.values_written, kObjectCount * 2 * 2);
  expect_epoch_holds(*store, "e1", epoch_catalog(1));
}

TEST_P(Populate, SkipIncompleteWritesTheCompleteMeasurements) {
  ScratchLightCurves store(GetParam(), synthetic_create_options());
  const Table catalog = synthetic_catalog({.objects = kField, .complete = {"AUTO"}, .mag_only = {"ISO"}});
  const PopulateResult result = store->populate("e0", catalog, {.skip_incomplete = true});
  EXPECT_EQ(result.incomplete_measurements_skipped, (std::vector<std::string>{"iso"}));
  EXPECT_EQ(result.values_written, kObjectCount * 2);
  expect_epoch_holds(*store, "e0", catalog, {.measurements = {"auto"}});
  const Cells cells = read_cells(store->write_layout());
  for (uint64_t o = 0; o < kObjectCount; ++o) EXPECT_EQ(count_nan(cells.object(o, 1)), 2u * 3) << "iso of row " << o;
}

TEST_P(Populate, CatalogMeasurementsTheStoreLacksAreIgnored) {
  ScratchLightCurves store(GetParam(), synthetic_create_options());
  const Table catalog = synthetic_catalog({.objects = kField, .complete = {"AUTO", "APER_1", "ISO"}});
  const PopulateResult result = store->populate("e2", catalog, {});
  EXPECT_EQ(result.measurements_ignored, (std::vector<std::string>{"aper_1"}));
  expect_epoch_holds(*store, "e2", catalog);
}

TEST_P(Populate, TableKeyPrefixesTheCatalogsMeasurements) {
  ScratchLightCurves store(GetParam(), synthetic_create_options({"ch1-auto", "ch1-iso", "ch2-auto"}));
  const Table ch1 = epoch_catalog(0), ch2 = epoch_catalog(1);
  EXPECT_TRUE(store->populate("e0", ch1, {.keys = {.table_key = "ch1"}}).measurements_ignored.empty());
  EXPECT_EQ(store->populate("e0", ch2, {.keys = {.table_key = "ch2"}}).measurements_ignored,
            (std::vector<std::string>{"ch2-iso"}));
  expect_epoch_holds(*store, "e0", ch1, {.measurements = {"ch1-auto", "ch1-iso"}, .table_key = "ch1"});
  expect_epoch_holds(*store, "e0", ch2, {.measurements = {"ch2-auto"}, .table_key = "ch2"});
}

// Integer catalog keys are compared with the store's keys as numbers only
// where the store's keys are integers as std::to_string writes them: a key
// "03" is not object 3.
TEST_P(Populate, IntegerKeysMatchOnlyKeysWrittenAsIntegers) {
  CreateOptions options = synthetic_create_options();
  options.objects.keys[2] = "0" + options.objects.keys[2];
  ScratchLightCurves store(GetParam(), options);
  const Table catalog = epoch_catalog(1);
  const std::string number = std::to_string(catalog.column("NUMBER").int64s()[2]);
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { store->populate("e1", catalog, {}); },
      [&](const Error& error) {
        EXPECT_NE(error.reason().find("(first: " + number + ")"), std::string::npos) << error.reason();
      }));
  EXPECT_EQ(store->populate("e1", catalog, {.skip_unknown_objects = true}).unknown_objects_skipped, 1u);
  EXPECT_EQ(count_nan(read_cells(store->write_layout()).object(2)), 2u * 2 * kEpochs.size());
}

TEST_P(Populate, ObjectKeyPrefixNamesTheStoresObjects) {
  ScratchLightCurves store(GetParam(), synthetic_create_options(kMeasurements, "I"));
  EXPECT_EQ(store->objects().front(), "I1");
  const Table catalog = epoch_catalog(2);
  EXPECT_EQ(store->populate("e1", catalog, {.keys = {.object_key_prefix = "I"}}).objects_written, kObjectCount);
  expect_epoch_holds(*store, "e1", catalog, {.object_prefix = "I"});
}

// --- The journal ---------------------------------------------------------------------

class PopulateJournal : public ::testing::TestWithParam<StoreKind> {
 protected:
  ScratchLightCurves store_{GetParam(), synthetic_create_options({"ch1-auto", "ch1-iso", "ch2-auto", "ch2-iso"})};
  const Table first_ = epoch_catalog(0);
  const Table second_ = epoch_catalog(5);  // the same objects, other values
};
INSTANTIATE_TEST_SUITE_P(Stores, PopulateJournal, ::testing::ValuesIn(kStoreKinds), kind_name);

TEST_P(PopulateJournal, SecondJournaledPopulateIsAlreadyDoneAndWritesNothing) {
  const PopulateOptions options = {.keys = {.table_key = "ch1"}, .journal_id = "catalog-a"};
  const PopulateResult first = store_->populate("e0", first_, options);
  EXPECT_FALSE(first.already_done);
  EXPECT_EQ(first.values_written, kObjectCount * 2 * 2);
  const StoreSnapshot before = snapshot_of(store_.scratch());
  const PopulateResult again = store_->populate("e0", second_, options);
  EXPECT_TRUE(again.already_done);
  EXPECT_EQ(again.values_written, 0u);
  EXPECT_EQ(again.objects_written, 0u);
  EXPECT_TRUE(Unchanged(before, snapshot_of(store_.scratch())));
  expect_epoch_holds(*store_, "e0", first_, {.measurements = {"ch1-auto", "ch1-iso"}, .table_key = "ch1"});
  // The journal is in the store, not in the object.
  EXPECT_TRUE(store_.reopen().populate("e0", second_, options).already_done);
}

TEST_P(PopulateJournal, ForceRewrites) {
  const PopulateOptions options = {.keys = {.table_key = "ch1"}, .journal_id = "catalog-a"};
  store_->populate("e0", first_, options);
  PopulateOptions forced = options;
  forced.force = true;
  const PopulateResult result = store_->populate("e0", second_, forced);
  EXPECT_FALSE(result.already_done);
  EXPECT_EQ(result.values_written, kObjectCount * 2 * 2);
  expect_epoch_holds(*store_, "e0", second_, {.measurements = {"ch1-auto", "ch1-iso"}, .table_key = "ch1"});
}

TEST_P(PopulateJournal, TableKeyEpochAndJournalIdEachMakeAnotherEntry) {
  store_->populate("e0", first_, {.keys = {.table_key = "ch1"}, .journal_id = "catalog-a"});
  EXPECT_FALSE(store_->populate("e0", second_, {.keys = {.table_key = "ch2"}, .journal_id = "catalog-a"}).already_done);
  EXPECT_FALSE(store_->populate("e1", second_, {.keys = {.table_key = "ch1"}, .journal_id = "catalog-a"}).already_done);
  EXPECT_FALSE(store_->populate("e2", first_, {.keys = {.table_key = "ch1"}, .journal_id = "catalog-a"}).already_done);
  EXPECT_FALSE(store_->populate("e2", second_, {.keys = {.table_key = "ch1"}, .journal_id = "catalog-b"}).already_done);
  EXPECT_TRUE(store_->populate("e0", second_, {.keys = {.table_key = "ch1"}, .journal_id = "catalog-a"}).already_done);
  expect_epoch_holds(*store_, "e0", first_, {.measurements = {"ch1-auto", "ch1-iso"}, .table_key = "ch1"});
  expect_epoch_holds(*store_, "e0", second_, {.measurements = {"ch2-auto", "ch2-iso"}, .table_key = "ch2"});
  expect_epoch_holds(*store_, "e1", second_, {.measurements = {"ch1-auto", "ch1-iso"}, .table_key = "ch1"});
  expect_epoch_holds(*store_, "e2", second_, {.measurements = {"ch1-auto", "ch1-iso"}, .table_key = "ch1"});
}

TEST_P(PopulateJournal, UnjournaledPopulatesAlwaysWrite) {
  store_->populate("e0", first_, {.keys = {.table_key = "ch1"}});
  EXPECT_FALSE(store_->populate("e0", second_, {.keys = {.table_key = "ch1"}}).already_done);
  expect_epoch_holds(*store_, "e0", second_, {.measurements = {"ch1-auto", "ch1-iso"}, .table_key = "ch1"});
}

// --- Errors leave the store unchanged -----------------------------------------------------

struct PopulateErrorCase {
  const char* name;
  CatalogSpec catalog;
  PopulateOptions options;
  std::string epoch;
  ErrorKind kind;
  std::vector<std::string> message_parts;
};

void PrintTo(const PopulateErrorCase& error_case, std::ostream* out) { *out << error_case.name; }

std::vector<SyntheticObject> with_objects(std::vector<SyntheticObject> extra) {
  std::vector<SyntheticObject> objects = kField;
  objects.insert(objects.begin() + 10, extra.begin(), extra.end());
  return objects;
}

const std::vector<PopulateErrorCase> kPopulateErrors = {
    {"UnknownEpoch", {.objects = kField}, {}, "e9", ErrorKind::kNotFound, {"e9"}},
    {"UnknownObjects",
     {.objects = with_objects({{9001, 1, 2, 3, 4}, {9002, 1, 2, 3, 4}})},
     {},
     "e0",
     ErrorKind::kBadInput,
     {"synthetic.cat", "2 object(s) not in the store", "9001"}},
    {"ObjectPrefixTheStoreLacks",
     {.objects = kField},
     {.keys = {.object_key_prefix = "I"}},
     "e0",
     ErrorKind::kBadInput,
     {"not in the store", "I1"}},
    {"MissingObjectKeyColumn",
     {.objects = kField},
     {.keys = {.object_key_column = "SOURCE_ID"}},
     "e0",
     ErrorKind::kBadInput,
     {}},
    {"MagWithoutMagErr",
     {.objects = kField, .complete = {"AUTO"}, .mag_only = {"ISO"}},
     {},
     "e0",
     ErrorKind::kBadInput,
     {"synthetic.cat", "iso", "mag_err"}},
    {"NoneOfTheStoresMeasurements",
     {.objects = kField, .complete = {"APER", "APER_1"}},
     {},
     "e0",
     ErrorKind::kBadInput,
     {"synthetic.cat", "none of the store's measurements"}},
    {"TableKeyTheStoreLacks",
     {.objects = kField},
     {.keys = {.table_key = "ch1"}},
     "e0",
     ErrorKind::kBadInput,
     {"none of the store's measurements", "table key ch1"}},
    {"RepeatedObjectRow",
     {.objects = with_objects({kField[3]})},
     {},
     "e0",
     ErrorKind::kBadInput,
     {"synthetic.cat", "object 4 appears in two rows"}},
};

class PopulateErrors : public ::testing::TestWithParam<std::tuple<PopulateErrorCase, StoreKind>> {};

INSTANTIATE_TEST_SUITE_P(Cases, PopulateErrors,
                         ::testing::Combine(::testing::ValuesIn(kPopulateErrors), ::testing::ValuesIn(kStoreKinds)),
                         [](const auto& test) {
                           return std::string(std::get<0>(test.param).name) + "_" + name_of(std::get<1>(test.param));
                         });

TEST_P(PopulateErrors, ThrowAndLeaveTheStoreUnchanged) {
  const auto& [error_case, kind] = GetParam();
  ScratchLightCurves store(kind, synthetic_create_options());
  store->populate("e1", epoch_catalog(1), {});  // data an errant write could damage
  const Cells cells_before = read_cells(store->write_layout());
  const StoreSnapshot before = snapshot_of(store.scratch());
  for (Strategy strategy : kStrategies) {
    PopulateOptions options = error_case.options;
    options.strategy = strategy;
    options.journal_id = "journaled";
    EXPECT_TRUE(ThrowsError(
        error_case.kind, [&] { store->populate(error_case.epoch, synthetic_catalog(error_case.catalog), options); },
        [&](const Error& error) {
          for (const std::string& part : error_case.message_parts)
            EXPECT_NE(std::string(error.what()).find(part), std::string::npos)
                << "message: " << error.what() << "\nmissing: " << part;
        }))
        << lightcurve::to_string(strategy);
  }
  EXPECT_TRUE(SameCells(cells_before.data, read_cells(store->write_layout()).data));
  EXPECT_TRUE(Unchanged(before, snapshot_of(store.scratch())));
  EXPECT_TRUE(SameCells(cells_before.data, read_cells(store.reopen().write_layout()).data));
}

// --- Rechunk -------------------------------------------------------------------------------

// Populates the synthetic store's epochs 0 and 2 from full catalogs and
// epoch 1 from a catalog lacking some objects, so the layouts mix values and NaN.
void populate_mixed(LightCurveStore& store) {
  std::vector<SyntheticObject> detected;
  for (const SyntheticObject& object : kField)
    if (object.number % 3 != 0) detected.push_back(object);
  store.populate("e0", epoch_catalog(0), {});
  store.populate("e1", epoch_catalog(1, detected), {});
  store.populate("e2", epoch_catalog(2), {.strategy = Strategy::kScatter});
}

constexpr uint64_t kObjectBytes = 2 * 2 * 3 * sizeof(float);  // one object's cells

struct RechunkCase {
  uint64_t shard_objects;
  unsigned threads;
  uint64_t budget_shards;  // memory budget: band shards per thread (0: the default budget)

  RechunkOptions options() const {
    RechunkOptions options{.object_chunk = shard_objects, .threads = threads};
    // rechunk counts, per thread, a band and four shards' bytes for the shard in flight.
    if (budget_shards != 0)
      options.memory_budget =
          (budget_shards + 4) * threads * std::min<uint64_t>(shard_objects, kObjectCount) * kObjectBytes;
    return options;
  }
};

void PrintTo(const RechunkCase& c, std::ostream* out) {
  *out << "shard " << c.shard_objects << ", threads " << c.threads << ", budget " << c.budget_shards;
}

class Rechunk : public ::testing::TestWithParam<RechunkCase> {};

INSTANTIATE_TEST_SUITE_P(Layouts, Rechunk,
                         ::testing::Values(RechunkCase{7, 2, 1}, RechunkCase{7, 1, 1}, RechunkCase{16, 2, 2},
                                           RechunkCase{1, 2, 3}, RechunkCase{45, 1, 0}, RechunkCase{100, 2, 0}),
                         [](const auto& test) {
                           return "Shard" + std::to_string(test.param.shard_objects) + "Threads" +
                                  std::to_string(test.param.threads) + "Budget" +
                                  std::to_string(test.param.budget_shards);
                         });

TEST_P(Rechunk, ReadLayoutEqualsTheWriteLayout) {
  ScratchLightCurves store(StoreKind::kDirectory, synthetic_create_options());
  populate_mixed(*store);
  EXPECT_FALSE(store->read_layout_current()) << "no read layout yet";
  store->rechunk(GetParam().options());
  EXPECT_TRUE(store->read_layout_current());
  EXPECT_TRUE(store.reopen().read_layout_current());
  const Cells written = read_cells(store->write_layout());
  const zarr::Array read_layout = store.read_layout();
  EXPECT_TRUE(SameCells(written.data, read_cells(read_layout).data));
  EXPECT_GT(count_nan(written.data), 0u);
  EXPECT_LT(count_nan(written.data), written.data.size());
  // Shards of objects holding every epoch, one inner chunk per object.
  const uint64_t shard = std::min<uint64_t>(GetParam().shard_objects, kObjectCount);
  EXPECT_EQ(read_layout.metadata().chunk_shape, (zarr::Shape{shard, 2, 2, 3}));
  const json& sharding = read_layout.metadata().codecs.at(0);
  EXPECT_EQ(sharding.at("name"), "sharding_indexed");
  EXPECT_EQ(sharding.at("configuration").at("chunk_shape"), json::array({1, 2, 2, 3}));
  EXPECT_EQ(store->info().read_layout.status, lightcurve::LayoutInfo::Status::kCurrent);
}

TEST(RechunkStale, PopulateAfterRechunkFallsBackToTheWriteLayout) {
  ScratchLightCurves store(StoreKind::kDirectory, synthetic_create_options());
  populate_mixed(*store);
  store->rechunk({.object_chunk = 10});
  const Table rewritten = epoch_catalog(7);
  store->populate("e1", rewritten, {});
  EXPECT_FALSE(store->read_layout_current());
  EXPECT_FALSE(store.reopen().read_layout_current());
  EXPECT_EQ(store->info().read_layout.status, lightcurve::LayoutInfo::Status::kStale);
  expect_epoch_holds(*store, "e1", rewritten);
  // The read layout still holds the old epoch 1, so only the write layout can give the new values.
  const Cells written = read_cells(store->write_layout());
  const Cells stale = read_cells(store.read_layout());
  for (const char* key : {"1", "3", "45"}) {
    const uint64_t o = store->object_index(key);
    EXPECT_FALSE(SameCells(stale.object(o), written.object(o))) << key;
    EXPECT_TRUE(SameCells(written.object(o), store->light_curve(key).data)) << key;
    EXPECT_TRUE(SameCells(written.object(o), store.reopen().light_curve(key).data)) << key;
  }
  store->rechunk({.object_chunk = 10});
  EXPECT_TRUE(store->read_layout_current());
  EXPECT_TRUE(SameCells(written.data, read_cells(store.read_layout()).data));
}

// A reader with its own handle (as another process) queries while rechunks
// with changing shard sizes delete and rebuild the read layout: every answer
// equals the data, never the fill value of a half-built read layout.
TEST(RechunkConcurrent, ReadersNeverSeeAHalfBuiltReadLayout) {
  ScratchLightCurves store(StoreKind::kDirectory, synthetic_create_options());
  populate_mixed(*store);
  store->rechunk({.object_chunk = 5});
  const Cells written = read_cells(store->write_layout());
  std::atomic<bool> done{false};
  std::thread rechunker([&] {
    LightCurveStore own = store.reopen();
    for (uint64_t round = 0; round < 40; ++round) own.rechunk({.object_chunk = 1 + round % 11});
    done = true;
  });
  const LightCurveStore reader = store.reopen();
  uint64_t queries = 0, wrong = 0;
  std::vector<std::string> errors;
  while (!done || queries == 0) {
    const uint64_t o = queries++ % kObjectCount;
    try {
      if (!SameCells(written.object(o), reader.light_curve(reader.objects()[o]).data)) ++wrong;
    } catch (const Error& error) {
      errors.push_back(error.what());
    }
  }
  rechunker.join();
  EXPECT_EQ(wrong, 0u) << "of " << queries << " queries";
  EXPECT_TRUE(errors.empty()) << errors.size() << " queries failed, first: " << errors.front();
  EXPECT_TRUE(reader.read_layout_current());
}

TEST(RechunkLimits, TooSmallMemoryBudgetThrowsAndKeepsTheReadLayout) {
  ScratchLightCurves store(StoreKind::kDirectory, synthetic_create_options());
  populate_mixed(*store);
  store->rechunk({.object_chunk = 9});
  const StoreSnapshot first = snapshot_of(store.scratch());
  const uint64_t enough = (1 + 4) * 2 * 9 * kObjectBytes;  // a band of one shard and one in flight, two threads
  store->rechunk({.object_chunk = 9, .memory_budget = enough, .threads = 2});
  const StoreSnapshot before = snapshot_of(store.scratch());
  // Each rechunk moves the journal generation on (so readers elsewhere drop
  // the old read layout first); the shards themselves are the same.
  for (const auto& [key, value] : first.values) {
    if (key.starts_with("lightcurves_by_object/c/")) {
      EXPECT_EQ(before.values.at(key), value) << key;
    }
  }
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kInvalidArgument,
      [&] { store->rechunk({.object_chunk = 9, .memory_budget = enough - 1, .threads = 2}); },
      [](const Error& error) { EXPECT_EQ(error.subject(), "memory_budget"); }));
  EXPECT_LCSTORE_ERROR(store->rechunk({.object_chunk = 9, .memory_budget = 0}), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(store->rechunk({.object_chunk = 0}), kInvalidArgument);
  EXPECT_TRUE(store->read_layout_current());
  EXPECT_TRUE(Unchanged(before, snapshot_of(store.scratch())));
}

// --- Queries ---------------------------------------------------------------------------------

// Queries on each layout: the write layout, and the read layout after rechunk.
class Queries : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    populate_mixed(*store_);
    if (GetParam()) store_->rechunk({.object_chunk = 6});
    ASSERT_EQ(store_->read_layout_current(), GetParam());
    cells_ = read_cells(store_->write_layout());
  }

  ScratchLightCurves store_{StoreKind::kMemory, synthetic_create_options()};
  Cells cells_;
};

INSTANTIATE_TEST_SUITE_P(Layouts, Queries, ::testing::Bool(),
                         [](const auto& test) { return test.param ? "ReadLayout" : "WriteLayout"; });

TEST_P(Queries, LightCurveEqualsTheCells) {
  for (uint64_t o = 0; o < kObjectCount; ++o) {
    const std::string& key = store_->objects()[o];
    const LightCurve all = store_->light_curve(key);
    EXPECT_EQ(all.object, key);
    EXPECT_EQ(all.measurements, kMeasurements);
    EXPECT_EQ(all.values, (std::vector<std::string>{"mag", "mag_err"}));
    EXPECT_TRUE(SameCells(cells_.object(o), all.data)) << key;
    const LightCurve iso = store_->light_curve(key, "iso");
    EXPECT_EQ(iso.measurements, (std::vector<std::string>{"iso"}));
    EXPECT_TRUE(SameCells(cells_.object(o, 1), iso.data)) << key;
  }
  EXPECT_LCSTORE_ERROR(store_->light_curve("46"), kNotFound);
  EXPECT_LCSTORE_ERROR(store_->light_curve("1", "aper"), kNotFound);
}

// Runs of consecutive objects are read together: requests of scattered
// objects, of every object shuffled (runs across shards), and repeats.
TEST_P(Queries, LightCurvesComeInTheRequestedOrder) {
  std::vector<std::string> every_object = store_->objects();
  std::shuffle(every_object.begin(), every_object.end(), std::mt19937(3));
  every_object.insert(every_object.end(), {"7", "7", "8"});
  for (const std::vector<std::string>& requested :
       {std::vector<std::string>{"40", "2", "17", "1", "45", "9"}, every_object}) {
    for (const std::optional<std::string>& measurement :
         {std::optional<std::string>{}, std::optional<std::string>{"auto"}}) {
      const std::vector<LightCurve> curves = store_->light_curves(requested, measurement);
      ASSERT_EQ(curves.size(), requested.size());
      for (size_t i = 0; i < requested.size(); ++i) {
        const uint64_t o = store_->object_index(requested[i]);
        EXPECT_EQ(curves[i].object, requested[i]);
        EXPECT_EQ(curves[i].ra, store_->object_table().ra[o]);
        EXPECT_EQ(curves[i].measurements, measurement ? std::vector<std::string>{"auto"} : kMeasurements);
        const std::optional<uint64_t> m = measurement ? std::optional<uint64_t>{0} : std::nullopt;
        EXPECT_TRUE(SameCells(cells_.object(o, m), curves[i].data)) << requested[i];
      }
    }
  }
  EXPECT_LCSTORE_ERROR(store_->light_curves({"1", "nope"}), kNotFound);
}

// Batches of one curve, of several (the last one short) and of every curve
// give the same curves in the requested order; an unknown object anywhere
// throws before the first visit.
TEST_P(Queries, VisitLightCurvesReadsInBatchesInTheRequestedOrder) {
  std::vector<std::string> requested = store_->objects();
  std::shuffle(requested.begin(), requested.end(), std::mt19937(4));
  requested.insert(requested.end(), {"7", "7"});
  const uint64_t curve_bytes = store_->light_curve("1").data.size() * sizeof(float);
  for (const std::optional<std::string>& measurement :
       {std::optional<std::string>{}, std::optional<std::string>{"auto"}}) {
    const std::vector<LightCurve> expected = store_->light_curves(requested, measurement);
    const uint64_t measurement_curve_bytes = expected.front().data.size() * sizeof(float);
    for (uint64_t batch_bytes : {uint64_t{0}, curve_bytes, 7 * measurement_curve_bytes + 1, uint64_t{1} << 30}) {
      std::vector<std::string> visited;
      store_->visit_light_curves(requested, measurement, batch_bytes, [&](const LightCurve& curve) {
        const size_t i = visited.size();
        ASSERT_LT(i, expected.size());
        EXPECT_EQ(curve.object, expected[i].object);
        EXPECT_EQ(curve.measurements, expected[i].measurements);
        EXPECT_TRUE(SameCells(expected[i].data, curve.data)) << curve.object << " in batches of " << batch_bytes;
        visited.push_back(curve.object);
      });
      EXPECT_EQ(visited, requested) << "batches of " << batch_bytes;
    }
  }
  std::vector<std::string> with_unknown = store_->objects();
  with_unknown.push_back("nope");
  uint64_t visits = 0;
  EXPECT_LCSTORE_ERROR(
      store_->visit_light_curves(with_unknown, std::nullopt, curve_bytes, [&](const LightCurve&) { ++visits; }),
      kNotFound);
  EXPECT_EQ(visits, 0u);
}

// Curves are read into blocks of at most 16 MiB: 60 curves of 640 kB
// span three, and every value still lands in its own curve.
TEST(LightCurvesLarge, CurvesSpanningSeveralBlocksHoldTheirOwnValues) {
  constexpr uint64_t kObjects = 60, kCurveMeasurements = 40, kManyEpochs = 2000;
  CreateOptions options;
  std::vector<std::string> epochs;
  for (uint64_t e = 0; e < kManyEpochs; ++e) epochs.push_back("e" + std::to_string(e));
  options.epochs = EpochTable::from_keys(epochs);
  for (uint64_t o = 0; o < kObjects; ++o) {
    options.objects.keys.push_back(std::to_string(o + 1));
    options.objects.ra.push_back(10.0);
    options.objects.dec.push_back(0.01 * static_cast<double>(o));
    options.objects.x.push_back(1.0f);
    options.objects.y.push_back(1.0f);
  }
  for (uint64_t m = 0; m < kCurveMeasurements; ++m) options.measurements.push_back("m" + std::to_string(m));
  options.object_chunk = 16;
  ScratchLightCurves store(StoreKind::kMemory, options);
  const uint64_t curve_values = kCurveMeasurements * 2 * kManyEpochs;
  std::vector<float> values(kObjects * curve_values);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 1000003);
  zarr::Array array = zarr::Array::open(store.scratch().store(), "lightcurves");
  array.write<float>(zarr::select_all(array.shape()), values);
  store->rechunk({.object_chunk = 8});
  std::vector<std::string> requested = store->objects();
  std::shuffle(requested.begin(), requested.end(), std::mt19937(6));
  const std::vector<LightCurve> curves = store->light_curves(requested);
  ASSERT_EQ(curves.size(), kObjects);
  for (size_t i = 0; i < kObjects; ++i) {
    const uint64_t o = store->object_index(requested[i]);
    EXPECT_EQ(curves[i].object, requested[i]);
    EXPECT_TRUE(SameCells(std::span(values).subspan(o * curve_values, curve_values), curves[i].data)) << requested[i];
  }
}

TEST_P(Queries, EpochSliceEqualsTheCells) {
  for (uint64_t e = 0; e < kEpochs.size(); ++e) {
    const lightcurve::EpochSlice slice = store_->epoch(kEpochs[e]);
    EXPECT_EQ(slice.epoch, kEpochs[e]);
    EXPECT_TRUE(SameCells(cells_.epoch(e), slice.data)) << kEpochs[e];
  }
  EXPECT_LCSTORE_ERROR(store_->epoch("e3"), kNotFound);
}

// --- Region and cone ---------------------------------------------------------------------------

struct SkyPoint {
  double ra, dec;
};

// A store whose objects sit at `points` (keys "0", "1", ...).
LightCurveStore sky_store(const std::shared_ptr<Store>& store, const std::vector<SkyPoint>& points) {
  ObjectTable objects;
  for (size_t i = 0; i < points.size(); ++i) {
    objects.keys.push_back(std::to_string(i));
    objects.ra.push_back(points[i].ra);
    objects.dec.push_back(points[i].dec);
    objects.x.push_back(static_cast<float>(i));
    objects.y.push_back(0);
  }
  return LightCurveStore::create(
      store,
      {.objects = objects, .epochs = EpochTable::from_keys({"e0"}), .measurements = {"auto"}, .object_chunk = 64});
}

std::vector<uint64_t> indices_of(const std::vector<ObjectMatch>& matches) {
  std::vector<uint64_t> indices;
  for (const ObjectMatch& match : matches) indices.push_back(match.index);
  std::sort(indices.begin(), indices.end());
  return indices;
}

// Random points: uniform on the sphere, and crowded near RA 0/360 and near both poles.
std::vector<SkyPoint> random_sky(size_t per_group) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<SkyPoint> points;
  for (size_t i = 0; i < per_group; ++i) {
    points.push_back({360.0 * unit(random), std::asin(2 * unit(random) - 1) * 180 / std::numbers::pi});
    const double ra_near_zero = 0.4 * unit(random) - 0.2;
    points.push_back({ra_near_zero < 0 ? ra_near_zero + 360.0 : ra_near_zero, 0.4 * unit(random) - 0.2});
    points.push_back({360.0 * unit(random), 89.7 + 0.3 * unit(random)});
    points.push_back({360.0 * unit(random), -89.7 - 0.3 * unit(random)});
  }
  return points;
}

TEST(Region, BoxWrappingThroughRaZero) {
  const std::vector<SkyPoint> points = {{359.9, 0.0}, {0.1, 0.0},  {180.0, 0.0}, {359.9, 5.0},
                                        {0.6, 0.0},   {0.0, -0.5}, {359.4, 0.5}, {360.0 - 1e-9, 1.0}};
  auto memory = std::make_shared<MemoryStore>();
  const LightCurveStore store = sky_store(memory, points);
  const std::vector<uint64_t> near_zero = {0, 1, 5, 7};
  EXPECT_EQ(indices_of(store.region(359.5, 0.5, -1, 1)), near_zero);
  EXPECT_EQ(indices_of(store.region(-0.5, 0.5, -1, 1)), near_zero) << "negative RA is RA + 360";
  EXPECT_EQ(indices_of(store.region(0.5, 359.5, -1, 1)), (std::vector<uint64_t>{2, 4, 6})) << "the complement";
  EXPECT_EQ(indices_of(store.region(359.5, 0.5, -1, 0)), (std::vector<uint64_t>{0, 1, 5}));
  EXPECT_EQ(indices_of(store.region(0, 360, -90, 90)).size(), points.size()) << "the whole sky";
  for (const ObjectMatch& match : store.region(359.5, 0.5, -1, 1)) EXPECT_EQ(match.separation_arcsec, 0.0);
}

TEST(Region, AgreesWithBruteForce) {
  const std::vector<SkyPoint> points = random_sky(300);
  auto memory = std::make_shared<MemoryStore>();
  const LightCurveStore store = sky_store(memory, points);
  const std::vector<std::array<double, 4>> boxes = {
      {10, 50, -20, 30}, {359.8, 0.15, -0.1, 0.2}, {300, 60, -90, 90}, {0, 120, 89.8, 90}, {170, 190, -90, -89.8}};
  for (const auto& [ra_min, ra_max, dec_min, dec_max] : boxes) {
    // RA inside means: its offset east of ra_min is within the box's width.
    const double width = std::fmod(ra_max - ra_min + 360.0, 360.0);
    std::vector<uint64_t> expected;
    for (uint64_t i = 0; i < points.size(); ++i) {
      const double offset = std::fmod(points[i].ra - ra_min + 360.0, 360.0);
      if (offset <= width && points[i].dec >= dec_min && points[i].dec <= dec_max) expected.push_back(i);
    }
    EXPECT_GT(expected.size(), 3u) << "a box that tests something";
    EXPECT_EQ(indices_of(store.region(ra_min, ra_max, dec_min, dec_max)), expected)
        << ra_min << " " << ra_max << " " << dec_min << " " << dec_max;
  }
}

// Angle between two directions in arcseconds, from their unit vectors
// (atan2 of cross and dot product: accurate at every angle).
double brute_force_separation_arcsec(SkyPoint a, SkyPoint b) {
  constexpr double kRadians = std::numbers::pi / 180;
  auto unit = [&](SkyPoint p) {
    return std::array<double, 3>{std::cos(p.dec * kRadians) * std::cos(p.ra * kRadians),
                                 std::cos(p.dec * kRadians) * std::sin(p.ra * kRadians), std::sin(p.dec * kRadians)};
  };
  const auto u = unit(a), v = unit(b);
  const std::array<double, 3> cross = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]};
  const double dot = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  return std::atan2(std::hypot(cross[0], cross[1], cross[2]), dot) / kRadians * 3600;
}

TEST(Cone, AgreesWithBruteForceNearestFirst) {
  const std::vector<SkyPoint> points = random_sky(300);
  auto memory = std::make_shared<MemoryStore>();
  const LightCurveStore store = sky_store(memory, points);
  // Cones around a pole, across RA 0/360, and near a pole without holding
  // it (their RA reach, asin(sin r / cos dec), is tens of degrees).
  struct Cone {
    SkyPoint center;
    double radius_arcsec;
  };
  const std::vector<Cone> cones = {{{0.0, 0.0}, 300},    {{359.95, 0.05}, 250}, {{0.08, -0.1}, 400},
                                   {{123.0, 89.9}, 600}, {{301.0, -89.9}, 700}, {{200.0, 30.0}, 90000},
                                   {{0.0, 90.0}, 900},   {{45.0, 89.75}, 600},  {{190.0, -89.8}, 500}};
  constexpr double kTolerance = 1e-6;  // arcsec: points this close to the edge may go either way
  for (const Cone& cone : cones) {
    SCOPED_TRACE(::testing::Message() << "cone at " << cone.center.ra << " " << cone.center.dec << " radius "
                                      << cone.radius_arcsec);
    const std::vector<ObjectMatch> matches = store.cone(cone.center.ra, cone.center.dec, cone.radius_arcsec);
    std::set<uint64_t> found;
    for (size_t i = 0; i < matches.size(); ++i) {
      found.insert(matches[i].index);
      EXPECT_NEAR(matches[i].separation_arcsec, brute_force_separation_arcsec(cone.center, points[matches[i].index]),
                  kTolerance);
      if (i > 0) {
        EXPECT_LE(matches[i - 1].separation_arcsec, matches[i].separation_arcsec) << "nearest first";
      }
    }
    EXPECT_EQ(found.size(), matches.size()) << "each object once";
    size_t inside = 0;
    bool east_of_zero = false, west_of_zero = false;
    for (uint64_t i = 0; i < points.size(); ++i) {
      const double separation = brute_force_separation_arcsec(cone.center, points[i]);
      if (separation < cone.radius_arcsec - kTolerance) {
        ++inside;
        EXPECT_TRUE(found.contains(i)) << "point " << i << " at " << separation << " arcsec is missing";
        east_of_zero |= points[i].ra < 1;
        west_of_zero |= points[i].ra > 359;
      } else if (separation > cone.radius_arcsec + kTolerance) {
        EXPECT_FALSE(found.contains(i)) << "point " << i << " at " << separation << " arcsec is outside";
      }
    }
    EXPECT_GE(inside, 3u) << "a cone that tests something";
    if (std::abs(cone.center.dec) < 1 && (cone.center.ra > 359 || cone.center.ra < 1)) {
      EXPECT_TRUE(east_of_zero && west_of_zero) << "the cone spans RA 0/360";
    }
  }
}

// Region and cone read a declination order kept in `.lcstore/declination_index`.
// It is derived data: missing, damaged, of an older format or older than the
// `dec` array, it is rebuilt on open and the answers follow the coordinates;
// rechunk writes it back.
TEST(DeclinationIndex, MissingStaleOrDamagedIndexGivesTheSameAnswers) {
  std::vector<SkyPoint> points = random_sky(100);
  points.push_back({10.0, std::numeric_limits<double>::quiet_NaN()});  // an object without coordinates
  auto memory = std::make_shared<MemoryStore>();
  const LightCurveStore created = sky_store(memory, points);
  constexpr std::string_view kIndexKey = ".lcstore/declination_index";
  const std::optional<Bytes> intact = memory->get(kIndexKey);
  ASSERT_TRUE(intact.has_value());
  auto answers = [](const LightCurveStore& store) {
    return std::vector<std::vector<uint64_t>>{
        indices_of(store.region(0, 360, -90, 90)),  indices_of(store.region(359.8, 0.15, -0.1, 0.2)),
        indices_of(store.region(0, 120, 89.8, 90)), indices_of(store.cone(0.0, 0.0, 300)),
        indices_of(store.cone(301.0, -89.9, 700)),  indices_of(store.cone(200.0, 30.0, 90000))};
  };
  const auto expected = answers(created);
  EXPECT_EQ(expected[0].size(), points.size() - 1) << "the whole sky but the object without coordinates";
  for (const auto& answer : expected) EXPECT_FALSE(answer.empty());

  auto with_byte_flipped = [&](size_t at) {
    Bytes damaged = *intact;
    damaged.at(at) ^= std::byte{0x10};
    memory->set(kIndexKey, damaged);
  };
  // The format before the index held coordinates: object rows only.
  std::vector<uint32_t> rows_only(points.size());
  std::iota(rows_only.begin(), rows_only.end(), 0u);
  const std::vector<std::pair<std::string, std::function<void()>>> damages = {
      {"missing", [&] { memory->erase(kIndexKey); }},
      {"truncated", [&] { memory->set(kIndexKey, ByteView(intact->data(), intact->size() - 4)); }},
      {"header only", [&] { memory->set(kIndexKey, ByteView(intact->data(), 40)); }},
      {"a header byte changed", [&] { with_byte_flipped(9); }},
      {"a declination changed", [&] { with_byte_flipped(40 + 8 * 17 + 6); }},
      {"a row changed", [&] { with_byte_flipped(intact->size() - 4 * 30); }},
      {"the older format", [&] { memory->set(kIndexKey, std::as_bytes(std::span(rows_only))); }},
  };
  for (const auto& [name, damage] : damages) {
    damage();
    EXPECT_EQ(answers(LightCurveStore::open(memory)), expected) << name;
  }

  // Coordinates rewritten by another tool: the index no longer matches them.
  memory->set(kIndexKey, *intact);
  std::vector<SkyPoint> moved = points;
  for (SkyPoint& point : moved) point.dec = std::isnan(point.dec) ? 0.05 : -point.dec;
  std::vector<double> moved_dec;
  for (const SkyPoint& point : moved) moved_dec.push_back(point.dec);
  zarr::Array dec = zarr::Array::open(memory, "dec");
  dec.write(zarr::select_all(dec.shape()), std::span<const double>(moved_dec));
  const auto moved_answers = answers(sky_store(std::make_shared<MemoryStore>(), moved));
  ASSERT_NE(moved_answers, expected);
  EXPECT_EQ(answers(LightCurveStore::open(memory)), moved_answers) << "an index older than the dec array";

  LightCurveStore rechunked = LightCurveStore::open(memory);
  rechunked.rechunk({.object_chunk = 64});
  EXPECT_NE(memory->get(kIndexKey), intact) << "rechunk writes the index of the coordinates now";
  EXPECT_EQ(answers(LightCurveStore::open(memory)), moved_answers);
}

// Counts the values read of each key.
class ReadCountingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  std::optional<Bytes> get(std::string_view key) const override {
    ++opens[std::string(key)];
    return StoreWrapper::get(key);
  }
  std::unique_ptr<ValueReader> open(std::string_view key) const override {
    ++opens[std::string(key)];
    return StoreWrapper::open(key);
  }

  mutable std::map<std::string, int> opens;
};

// A store opens without reading its objects' keys or coordinates: a cone
// reads the declination index (and hashes the dec chunks it is stamped
// with), the light curve of a numbered object reads that object's chunks.
TEST(LazyOpen, AQueryOfAFewObjectsReadsOnlyTheirChunks) {
  auto memory = std::make_shared<MemoryStore>();
  ObjectTable objects;
  constexpr size_t kObjects = 20000;
  for (size_t i = 0; i < kObjects; ++i) {
    objects.keys.push_back(std::to_string(i + 1));
    objects.ra.push_back(150.0 + 1e-4 * double(i % 200));
    objects.dec.push_back(2.0 + 1e-4 * double(i / 200));
    objects.x.push_back(static_cast<float>(i));
    objects.y.push_back(static_cast<float>(2 * i));
  }
  LightCurveStore::create(
      memory, {.objects = objects, .epochs = EpochTable::from_keys({"e0", "e1"}), .measurements = {"auto"}});
  auto counting = std::make_shared<ReadCountingStore>(memory);
  auto chunks_read = [&](const std::string& array) {
    int read = 0;
    for (const auto& [key, count] : counting->opens) read += key.starts_with(array + "/c/") ? count : 0;
    return read;
  };
  const LightCurveStore opened = LightCurveStore::open(counting);
  EXPECT_EQ(opened.n_objects(), kObjects);
  for (const char* array : {"object", "ra", "dec", "x_image", "y_image"}) EXPECT_EQ(chunks_read(array), 0) << array;

  const std::vector<ObjectMatch> near = opened.cone(150.01, 2.005, 0.5);
  ASSERT_FALSE(near.empty());
  EXPECT_EQ(chunks_read("ra"), 0) << "the index holds the coordinates";
  EXPECT_EQ(chunks_read("object"), 0);
  const std::vector<uint64_t> rows = {near.front().index, kObjects - 1, 0};
  const ObjectTable found = opened.objects_at(rows);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(found.keys[i], objects.keys[rows[i]]);
    EXPECT_EQ(found.ra[i], objects.ra[rows[i]]);
    EXPECT_EQ(found.dec[i], objects.dec[rows[i]]);
    EXPECT_EQ(found.x[i], objects.x[rows[i]]);
    EXPECT_EQ(found.y[i], objects.y[rows[i]]);
  }
  EXPECT_LE(chunks_read("object"), 3) << "only the chunks of the rows asked for";

  const LightCurveStore another = LightCurveStore::open(counting);
  counting->opens.clear();
  EXPECT_EQ(another.object_index("12345"), 12344u);
  const LightCurve curve = another.light_curve("12345");
  EXPECT_EQ(curve.object, "12345");
  EXPECT_EQ(curve.x, objects.x[12344]);
  EXPECT_EQ(chunks_read("object"), 3) << "a chunk of keys to confirm each lookup, one for the curve's key";
  EXPECT_EQ(chunks_read("x_image"), 1);
  EXPECT_TRUE(ThrowsError(ErrorKind::kNotFound, [&] { another.object_index("20001"); }));
  EXPECT_TRUE(ThrowsError(ErrorKind::kNotFound, [&] { another.object_index("012345"); }));
  EXPECT_EQ(another.objects().size(), kObjects) << "and every key when asked";
}

// A numbered key is only a guess at a row: keys stored in another order
// are found by their row, never by their number.
TEST(LazyOpen, NumberedKeysInAnotherOrderAreLookedUp) {
  auto memory = std::make_shared<MemoryStore>();
  ObjectTable objects;
  for (int i = 0; i < 300; ++i) {
    objects.keys.push_back(std::to_string(300 - i));
    objects.ra.push_back(i);
    objects.dec.push_back(0);
    objects.x.push_back(static_cast<float>(i));
    objects.y.push_back(0);
  }
  LightCurveStore::create(memory,
                          {.objects = objects, .epochs = EpochTable::from_keys({"e0"}), .measurements = {"auto"}});
  const LightCurveStore opened = LightCurveStore::open(memory);
  EXPECT_EQ(opened.object_index("1"), 299u);
  EXPECT_EQ(opened.light_curve("300").ra, 0.0);
  const std::vector<LightCurve> curves = opened.light_curves({"2", "299", "150"});
  EXPECT_EQ(curves[0].ra, 298.0);
  EXPECT_EQ(curves[1].ra, 1.0);
  EXPECT_EQ(curves[2].ra, 150.0);
}

// --- The SExtractor fixtures in every format -------------------------------------------------------

const fs::path kFieldA = kFixtures / "sextractor-field-a";
const std::vector<std::string> kFieldEpochs = {"epoch_000", "epoch_001", "epoch_002", "epoch_003"};
const std::vector<std::string> kFieldFormats = {".ascii_head.cat", ".ecsv", ".fits_1_0.cat", ".fits_ldac.cat"};
constexpr size_t kFieldObjects = 281;

fs::path field_catalog(const std::string& name, const std::string& suffix) { return kFieldA / (name + suffix); }

// A store of field A made from the catalogs of one format, as the lcstore
// commands make one: objects and complete measurements from the coadd, every
// epoch populated, journaled by content.
struct IngestedField {
  std::string suffix;
  std::shared_ptr<MemoryStore> memory = std::make_shared<MemoryStore>();
  std::optional<LightCurveStore> store;
  std::vector<PopulateResult> results;
};

IngestedField ingest_field(const std::string& suffix, Strategy strategy, const catalog::ReadOptions& read = {}) {
  IngestedField field{suffix};
  const Table coadd = catalog::read_catalog(field_catalog("coadd", suffix), read).table;
  const ColumnMapping mapping(coadd, {});
  std::vector<std::string> complete;
  for (const catalog::Measurement& measurement : mapping.measurements())
    if (measurement.complete()) complete.push_back(measurement.name);
  field.store.emplace(LightCurveStore::create(field.memory, {.objects = ObjectTable::from_catalog(coadd, mapping),
                                                             .epochs = EpochTable::from_keys(kFieldEpochs),
                                                             .measurements = complete,
                                                             .object_chunk = 64}));
  for (const std::string& epoch : kFieldEpochs) {
    const fs::path path = field_catalog(epoch, suffix);
    field.results.push_back(
        field.store->populate(epoch, catalog::read_catalog(path, read).table,
                              {.strategy = strategy, .journal_id = lightcurve::catalog_content_id(path)}));
  }
  return field;
}

// One store per format, each populated by another strategy; built once.
const std::vector<IngestedField>& ingested_fields() {
  static const std::vector<IngestedField> fields = [] {
    std::vector<IngestedField> made;
    for (size_t i = 0; i < kFieldFormats.size(); ++i)
      made.push_back(ingest_field(kFieldFormats[i], kStrategies[i % kStrategies.size()]));
    return made;
  }();
  return fields;
}

TEST(FieldA, StoresHoldTheCoaddsObjectsAndCompleteMeasurements) {
  const std::vector<std::string> measurements = {"auto", "iso", "aper", "aper_1", "aper_2", "aper_3"};
  for (const IngestedField& field : ingested_fields()) {
    SCOPED_TRACE(field.suffix);
    ASSERT_EQ(field.store->objects().size(), kFieldObjects);
    EXPECT_EQ(field.store->objects().front(), "1");
    EXPECT_EQ(field.store->objects().back(), "281");
    EXPECT_EQ(field.store->measurements(), measurements);
    EXPECT_EQ(field.store->epochs().keys, kFieldEpochs);
    for (const PopulateResult& result : field.results) {
      EXPECT_EQ(result.objects_written, kFieldObjects);
      EXPECT_EQ(result.values_written, kFieldObjects * measurements.size() * 2);
    }
  }
}

TEST(FieldA, EveryValueEqualsTheCatalogValue) {
  for (const IngestedField& field : ingested_fields()) {
    SCOPED_TRACE(field.suffix);
    for (const std::string& epoch : kFieldEpochs)
      expect_epoch_holds(*field.store, epoch, catalog::read_catalog(field_catalog(epoch, field.suffix)).table);
    const Cells cells = read_cells(field.store->write_layout());
    EXPECT_EQ(count_nan(cells.data), 0u) << "every object is measured at every epoch";
    const std::vector<LightCurve> curves = field.store->light_curves(field.store->objects());
    for (uint64_t o = 0; o < kFieldObjects; ++o) EXPECT_TRUE(SameCells(cells.object(o), curves[o].data)) << o;
  }
}

TEST(FieldA, RepopulatingTheSameFileIsAlreadyDone) {
  const IngestedField& field = ingested_fields().front();
  const fs::path path = field_catalog("epoch_001", field.suffix);
  LightCurveStore store = LightCurveStore::open(field.memory);
  EXPECT_TRUE(store
                  .populate("epoch_001", catalog::read_catalog(path).table,
                            {.journal_id = lightcurve::catalog_content_id(path)})
                  .already_done);
}

// ASCII_HEAD and ECSV hold the same decimal text, FITS_1.0 and FITS_LDAC the
// same binary values; SExtractor printed the text from the binary values, so
// text and binary stores agree once printed as the ASCII catalog prints them
// (magnitudes %.4f, positions %.7f) - see catalog_test.
TEST(FieldA, AllFormatsGiveIdenticalStores) {
  const std::vector<IngestedField>& fields = ingested_fields();
  auto printed = [](const char* conversion, double value) {
    char text[64];
    std::snprintf(text, sizeof text, conversion, value);
    return std::string(text);
  };
  const IngestedField& reference = fields.front();
  const Cells reference_cells = read_cells(reference.store->write_layout());
  const ObjectTable& reference_objects = reference.store->object_table();
  for (const IngestedField& field : fields) {
    SCOPED_TRACE(field.suffix);
    const bool binary = field.suffix.starts_with(".fits");
    EXPECT_EQ(field.store->objects(), reference.store->objects());
    EXPECT_EQ(field.store->measurements(), reference.store->measurements());
    EXPECT_EQ(field.store->values(), reference.store->values());
    const Cells cells = read_cells(field.store->write_layout());
    const ObjectTable& objects = field.store->object_table();
    if (!binary) {
      EXPECT_TRUE(SameCells(reference_cells.data, cells.data));
      EXPECT_EQ(objects.ra, reference_objects.ra);
      EXPECT_EQ(objects.dec, reference_objects.dec);
      EXPECT_EQ(objects.x, reference_objects.x);
      EXPECT_EQ(objects.y, reference_objects.y);
      continue;
    }
    EXPECT_TRUE(SameCells(read_cells(fields[2].store->write_layout()).data, cells.data)) << "FITS_1.0 against LDAC";
    EXPECT_EQ(objects.ra, fields[2].store->object_table().ra);
    EXPECT_EQ(objects.x, fields[2].store->object_table().x);
    size_t differences = 0;
    for (size_t i = 0; i < cells.data.size(); ++i)
      differences += printed("%.4f", cells.data[i]) != printed("%.4f", reference_cells.data[i]);
    for (size_t o = 0; o < kFieldObjects; ++o) {
      differences += printed("%.7f", objects.ra[o]) != printed("%.7f", reference_objects.ra[o]);
      differences += printed("%.7f", objects.dec[o]) != printed("%.7f", reference_objects.dec[o]);
      // Pixel positions are printed %.4f (off by up to 5e-5) and stored as
      // float32 (off by up to half a float32 step at 512 px, 3.05e-5, each).
      constexpr double kPixelTolerance = 5e-5 + 2 * 3.05e-5;
      EXPECT_NEAR(objects.x[o], reference_objects.x[o], kPixelTolerance) << o;
      EXPECT_NEAR(objects.y[o], reference_objects.y[o], kPixelTolerance) << o;
    }
    EXPECT_EQ(differences, 0u);
  }
}

TEST(FieldA, InvalidToNanTurnsThe99MagnitudesIntoNaN) {
  const IngestedField& raw = ingested_fields().front();
  const IngestedField cleaned = ingest_field(raw.suffix, Strategy::kReadModifyWrite, {.invalid_to_nan = true});
  const Cells raw_cells = read_cells(raw.store->write_layout());
  const Cells cleaned_cells = read_cells(cleaned.store->write_layout());
  // epoch_000, object 126: MAG_APER_3 and MAGERR_APER_3 are 99.0000 (see catalog_test).
  const uint64_t object = raw.store->object_index("126"), aper_3 = 5, epoch_000 = 0;
  ASSERT_EQ(raw.store->measurements()[aper_3], "aper_3");
  EXPECT_EQ(raw_cells.at(object, aper_3, 0, epoch_000), 99.0f);
  EXPECT_TRUE(std::isnan(cleaned_cells.at(object, aper_3, 0, epoch_000)));
  EXPECT_TRUE(std::isnan(cleaned_cells.at(object, aper_3, 1, epoch_000)));
  // Everywhere: a pair is kept iff both are valid SExtractor values, else both are NaN.
  size_t invalid_pairs = 0;
  for (uint64_t o = 0; o < kFieldObjects; ++o) {
    for (uint64_t m = 0; m < raw_cells.shape[1]; ++m) {
      for (uint64_t e = 0; e < kFieldEpochs.size(); ++e) {
        const float mag = raw_cells.at(o, m, 0, e), err = raw_cells.at(o, m, 1, e);
        const bool valid = mag > 0 && mag < 50 && err > 0 && err < 10;
        invalid_pairs += !valid;
        for (uint64_t v = 0; v < 2; ++v) {
          const float expected = valid ? raw_cells.at(o, m, v, e) : std::numeric_limits<float>::quiet_NaN();
          EXPECT_TRUE(same_cell(expected, cleaned_cells.at(o, m, v, e))) << o << " " << m << " " << v << " " << e;
        }
      }
    }
  }
  EXPECT_GT(invalid_pairs, 0u);
  EXPECT_EQ(count_nan(cleaned_cells.data), 2 * invalid_pairs);
}

// --- Matching catalog rows by position ----------------------------------------------------------------

// A point `arcsec` away from `from` in the direction `bearing` (radians from north).
SkyPoint moved_by(const SkyPoint& from, double arcsec, double bearing) {
  const double degrees = arcsec / 3600.0;
  const double dec = std::clamp(from.dec + degrees * std::cos(bearing), -90.0, 90.0);
  const double ra = from.ra + degrees * std::sin(bearing) / std::max(1e-6, std::cos(from.dec * std::numbers::pi / 180));
  return {std::fmod(ra + 360.0, 360.0), dec};
}

// Rows near some objects (one object twice), rows near none, a row without
// a position: each row's object and its count checked against the nearest
// pairs found by comparing every row with every object.
TEST(MatchByPosition, EachObjectGetsItsNearestRowWithinTheRadius) {
  const std::vector<SkyPoint> objects = random_sky(150);  // crowded at RA 0/360 and at both poles
  constexpr double kRadius = 1.0;
  std::mt19937_64 random(5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<SkyPoint> rows;
  for (size_t o = 0; o < objects.size(); ++o) {
    if (o % 3 == 2) continue;
    rows.push_back(moved_by(objects[o], 1.3 * kRadius * unit(random), 2 * std::numbers::pi * unit(random)));
    if (o % 10 == 0)
      rows.push_back(moved_by(objects[o], 1.3 * kRadius * unit(random), 2 * std::numbers::pi * unit(random)));
  }
  for (int far = 0; far < 40; ++far)
    rows.push_back({360.0 * unit(random), std::asin(2 * unit(random) - 1) * 180 / std::numbers::pi});
  rows.push_back({std::numeric_limits<double>::quiet_NaN(), 10.0});
  std::shuffle(rows.begin(), rows.end(), random);

  std::vector<int64_t> numbers;
  std::vector<double> ra, dec;
  std::vector<float> mag, error;
  for (size_t r = 0; r < rows.size(); ++r) {
    numbers.push_back(static_cast<int64_t>(r) + 100000);  // keys that match nothing
    ra.push_back(rows[r].ra);
    dec.push_back(rows[r].dec);
    mag.push_back(static_cast<float>(r));
    error.push_back(0.01f);
  }
  Table catalog("positions.cat");
  catalog.add_column({"NUMBER", numbers});
  catalog.add_column({"ALPHA_J2000", ra});
  catalog.add_column({"DELTA_J2000", dec});
  catalog.add_column({"MAG_AUTO", mag});
  catalog.add_column({"MAGERR_AUTO", error});

  // Every pair compared: each row's nearest object, then each object's nearest row.
  std::vector<std::pair<double, size_t>> nearest_row(objects.size(), {INFINITY, 0});
  uint64_t unmatched = 0, matched = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    double best = INFINITY;
    size_t best_object = 0;
    for (size_t o = 0; o < objects.size(); ++o) {
      const double separation =
          lightcurve::separation_degrees(rows[r].ra, rows[r].dec, objects[o].ra, objects[o].dec) * 3600.0;
      if (separation < best) {
        best = separation;
        best_object = o;
      }
    }
    if (!(best <= kRadius)) {
      ++unmatched;
      continue;
    }
    ++matched;
    nearest_row[best_object] = std::min(nearest_row[best_object], std::pair(best, r));
  }
  std::vector<float> expected(objects.size(), std::numeric_limits<float>::quiet_NaN());
  uint64_t kept = 0;
  for (size_t o = 0; o < objects.size(); ++o) {
    if (std::isinf(nearest_row[o].first)) continue;
    expected[o] = static_cast<float>(nearest_row[o].second);
    ++kept;
  }
  ASSERT_GT(unmatched, 20u);
  ASSERT_GT(matched - kept, 3u) << "some objects matched by two rows";

  for (Strategy strategy : kStrategies) {
    LightCurveStore store = sky_store(std::make_shared<MemoryStore>(), objects);
    const PopulateResult result = store.populate("e0", catalog, {.strategy = strategy, .match_radius_arcsec = kRadius});
    EXPECT_EQ(result.objects_written, kept);
    EXPECT_EQ(result.unmatched_rows_skipped, unmatched);
    EXPECT_EQ(result.farther_rows_skipped, matched - kept);
    const EpochSlice slice = store.epoch("e0");
    std::vector<float> stored_mag;
    for (size_t o = 0; o < objects.size(); ++o) stored_mag.push_back(slice.data[o * 2]);
    EXPECT_TRUE(SameCells(stored_mag, expected)) << to_string(strategy);
  }
  EXPECT_TRUE(ThrowsError(ErrorKind::kBadInput, [&] {
    sky_store(std::make_shared<MemoryStore>(), objects).populate("e0", catalog, {});
  })) << "by key, none of these rows is an object";
}

TEST(MatchByPosition, NeedsPositionsAndAPositiveRadius) {
  LightCurveStore store = sky_store(std::make_shared<MemoryStore>(), {{10, 10}});
  Table positions("p.cat");
  positions.add_column({"NUMBER", std::vector<int64_t>{1}});
  positions.add_column({"ALPHA_J2000", std::vector<double>{10}});
  positions.add_column({"DELTA_J2000", std::vector<double>{10}});
  positions.add_column({"MAG_AUTO", std::vector<double>{20}});
  positions.add_column({"MAGERR_AUTO", std::vector<double>{0.1}});
  for (double radius : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_TRUE(ThrowsError(ErrorKind::kInvalidArgument, [&] {
      store.populate("e0", positions, {.match_radius_arcsec = radius});
    })) << radius;
  }
  Table no_positions("n.cat");
  no_positions.add_column({"NUMBER", std::vector<int64_t>{1}});
  no_positions.add_column({"MAG_AUTO", std::vector<double>{20}});
  no_positions.add_column({"MAGERR_AUTO", std::vector<double>{0.1}});
  EXPECT_TRUE(
      ThrowsError(ErrorKind::kBadInput, [&] { store.populate("e0", no_positions, {.match_radius_arcsec = 1.0}); }));
  EXPECT_TRUE(store.epoch("e0").data[0] != store.epoch("e0").data[0]) << "nothing written";
  EXPECT_EQ(store.populate("e0", positions, {.match_radius_arcsec = 0.5}).objects_written, 1u);
}

// A catalog of rows at these positions (NaN: none), NUMBER 1, 2, ... and MAG_AUTO `mags`.
Table positioned_rows(const std::string& name, const std::vector<SkyPoint>& points, const std::vector<double>& mags) {
  std::vector<int64_t> numbers;
  std::vector<double> ra, dec, x;
  for (size_t i = 0; i < points.size(); ++i) {
    numbers.push_back(static_cast<int64_t>(i) + 1);
    ra.push_back(points[i].ra);
    dec.push_back(points[i].dec);
    x.push_back(static_cast<double>(i));
  }
  Table rows(name);
  rows.add_column({"NUMBER", numbers});
  rows.add_column({"ALPHA_J2000", ra});
  rows.add_column({"DELTA_J2000", dec});
  rows.add_column({"X_IMAGE", x});
  rows.add_column({"Y_IMAGE", x});
  rows.add_column({"MAG_AUTO", mags});
  rows.add_column({"MAGERR_AUTO", std::vector<double>(points.size(), 0.1)});
  return rows;
}

// Rows no object matches become objects keyed <epoch>-<NUMBER>, written like
// the others; a later epoch's rows at the same places match them.
TEST(MatchByPosition, UnmatchedRowsBecomeNewObjectsWithAddUnmatched) {
  const ObjectTable objects{{"1", "2"}, {10, 20}, {10, 20}, {0, 0}, {0, 0}};
  const auto memory = std::make_shared<MemoryStore>();
  LightCurveStore store = LightCurveStore::create(
      memory, {.objects = objects, .epochs = EpochTable::from_keys({"e0", "e1"}), .measurements = {"auto"}});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const PopulateOptions adding = {.match_radius_arcsec = 1.0, .add_unmatched_objects = true};
  const PopulateResult first = store.populate(
      "e0",
      positioned_rows("e0.cat", {moved_by({10, 10}, 0.3, 1.0), {30, 30}, {40, -40}, {nan, nan}}, {15, 16, 17, 18}),
      adding);
  EXPECT_EQ(first.objects_added, 2u);
  EXPECT_EQ(first.objects_written, 3u);
  EXPECT_EQ(first.unmatched_rows_skipped, 1u);  // the row without a position
  EXPECT_EQ(store.n_objects(), 2u) << "the caller's view stays as it was";

  LightCurveStore reopened = LightCurveStore::open(memory);
  EXPECT_THAT(reopened.object_table().keys, ::testing::ElementsAre("1", "2", "e0-2", "e0-3"));
  EXPECT_EQ(reopened.object_table().ra[3], 40.0);
  EXPECT_EQ(reopened.light_curve("1", "auto").data[0], 15.0f);
  EXPECT_EQ(reopened.light_curve("e0-3", "auto").data[0], 17.0f);

  const PopulateResult later = reopened.populate(
      "e1", positioned_rows("e1.cat", {moved_by({30, 30}, 0.2, 2.0), {40, -40}, {50, 50}}, {26, 27, 28}), adding);
  EXPECT_EQ(later.objects_added, 1u);
  EXPECT_EQ(later.objects_written, 3u);
  LightCurveStore last = LightCurveStore::open(memory);
  EXPECT_EQ(last.n_objects(), 5u);
  EXPECT_EQ(last.light_curve("e0-2", "auto").data[1], 26.0f);
  EXPECT_EQ(last.light_curve("e1-3", "auto").data[1], 28.0f);
  EXPECT_TRUE(std::isnan(last.light_curve("e1-3", "auto").data[0]));

  EXPECT_TRUE(ThrowsError(ErrorKind::kInvalidArgument, [&] {
    last.populate("e1", positioned_rows("k.cat", {{60, 60}}, {1}), {.add_unmatched_objects = true});
  }));
  // A catalog the write refuses adds no object.
  Table without_errors("no-errors.cat");
  without_errors.add_column({"NUMBER", std::vector<int64_t>{1}});
  without_errors.add_column({"ALPHA_J2000", std::vector<double>{70}});
  without_errors.add_column({"DELTA_J2000", std::vector<double>{70}});
  without_errors.add_column({"MAG_AUTO", std::vector<double>{20}});
  EXPECT_TRUE(ThrowsError(ErrorKind::kBadInput, [&] { last.populate("e1", without_errors, adding); }));
  EXPECT_TRUE(ThrowsError(ErrorKind::kNotFound, [&] {
    last.populate("e9", positioned_rows("e9.cat", {{80, 80}}, {1}), adding);
  }));
  EXPECT_EQ(LightCurveStore::open(memory).n_objects(), 5u);
}

// The rows of `table` in a random order, their positions moved by up to
// `arcsec` and their NUMBERs changed to match no object.
Table shuffled_and_jittered(const Table& table, double arcsec, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<size_t> order(table.num_rows());
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), random);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<SkyPoint> moved;
  const Column& ra = *table.find("ALPHA_J2000");
  const Column& dec = *table.find("DELTA_J2000");
  for (size_t row : order) {
    moved.push_back(
        moved_by({ra.number(row), dec.number(row)}, arcsec * unit(random), 2 * std::numbers::pi * unit(random)));
  }
  Table shuffled(table.source());
  for (const Column& column : table.columns()) {
    if (column.name() == "ALPHA_J2000" || column.name() == "DELTA_J2000") {
      std::vector<double> values;
      for (const SkyPoint& point : moved) values.push_back(column.name() == "ALPHA_J2000" ? point.ra : point.dec);
      shuffled.add_column({column.name(), values});
      continue;
    }
    std::visit(
        [&](const auto& cells) {
          std::decay_t<decltype(cells)> permuted;
          for (size_t row : order) permuted.push_back(cells[row]);
          if constexpr (std::is_same_v<std::decay_t<decltype(cells)>, catalog::Numbers<int64_t>>) {
            if (column.name() == "NUMBER")
              for (int64_t& number : permuted) number += 1'000'000;
          }
          shuffled.add_column(Column(column.name(), std::move(permuted)));
        },
        column.cells());
  }
  return shuffled;
}

TEST(MatchByPosition, ShuffledJitteredCatalogsMatchTheObjectsOfTheirKeys) {
  const IngestedField& by_key = ingested_fields().front();
  const Table coadd = catalog::read_catalog(field_catalog("coadd", by_key.suffix)).table;
  const ColumnMapping mapping(coadd, {});
  LightCurveStore by_position =
      LightCurveStore::create(std::make_shared<MemoryStore>(), {.objects = ObjectTable::from_catalog(coadd, mapping),
                                                                .epochs = EpochTable::from_keys(kFieldEpochs),
                                                                .measurements = by_key.store->measurements(),
                                                                .object_chunk = 64});
  for (size_t e = 0; e < kFieldEpochs.size(); ++e) {
    const Table epoch = catalog::read_catalog(field_catalog(kFieldEpochs[e], by_key.suffix)).table;
    const PopulateResult result =
        by_position.populate(kFieldEpochs[e], shuffled_and_jittered(epoch, 0.1, e), {.match_radius_arcsec = 1.0});
    EXPECT_EQ(result.objects_written, epoch.num_rows()) << kFieldEpochs[e];
    EXPECT_EQ(result.unmatched_rows_skipped + result.farther_rows_skipped, 0u) << kFieldEpochs[e];
  }
  EXPECT_TRUE(SameCells(read_cells(by_position.write_layout()).data, read_cells(by_key.store->write_layout()).data));
}

// --- The xarray layout ------------------------------------------------------------------------------

const fs::path kXarrayReference = kFixtures / "zarr-python-3.0.6" / "xarray_lightcurves.zarr";

json node_document(const Store& store, const std::string& node) {
  const std::optional<Bytes> bytes = store.get(node.empty() ? "zarr.json" : node + "/zarr.json");
  if (!bytes) throw std::runtime_error("no node " + node);
  return json::parse(to_text(*bytes));
}

json reference_document(const std::string& node) {
  return json::parse(read_file(node.empty() ? kXarrayReference / "zarr.json" : kXarrayReference / node / "zarr.json"));
}

// Every node below the root: the stores keys "<node>/zarr.json".
std::set<std::string> node_names(const Store& store) {
  std::set<std::string> names;
  for (const std::string& key : store.list(""))
    if (key.ends_with("/zarr.json")) names.insert(key.substr(0, key.size() - std::string("/zarr.json").size()));
  return names;
}

void expect_consolidated_lists_every_node(const Store& store) {
  const json consolidated = node_document(store, "").at("consolidated_metadata");
  EXPECT_EQ(consolidated.at("kind"), "inline");
  EXPECT_EQ(consolidated.at("must_understand"), false);
  std::set<std::string> listed;
  for (const auto& [name, document] : consolidated.at("metadata").items()) {
    listed.insert(name);
    EXPECT_EQ(document, node_document(store, name)) << name << " is recorded as it is";
  }
  EXPECT_EQ(listed, node_names(store));
}

// A store shaped like the reference: 120 objects, 3 measurements, 2 values,
// 9 epochs with an MJD, objects chunked by 50.
class XarrayLayout : public ::testing::Test {
 protected:
  static CreateOptions options(std::vector<EpochTable::Variable> variables) {
    std::vector<std::string> epochs;
    for (int e = 0; e < 9; ++e) epochs.push_back("r" + std::to_string(58000 + e));
    const Table coadd = synthetic_catalog({.objects = synthetic_objects(120)});
    return {.objects = ObjectTable::from_catalog(coadd, ColumnMapping(coadd, {})),
            .epochs = {.keys = epochs, .variables = std::move(variables)},
            .measurements = {"auto", "iso", "aper_1"},
            .object_chunk = 50,
            .description = "IDF lightcurve data"};
  }
  static EpochTable::Variable mjd() {
    std::vector<double> days;
    for (int e = 0; e < 9; ++e) days.push_back(58000.5 + 3.25 * e);
    return {"mjd", days};
  }

  ScratchLightCurves store_{StoreKind::kDirectory, options({mjd()})};
  const Store& raw() { return *store_.scratch().store(); }
};

TEST_F(XarrayLayout, NodesHaveTheReferencesDimensionNamesAndFillValueAttributes) {
  store_->rechunk({.object_chunk = 25});
  const json reference_nodes = reference_document("").at("consolidated_metadata").at("metadata");
  ASSERT_EQ(reference_nodes.size(), 10u);
  std::set<std::string> reference_names;
  for (const auto& [name, consolidated] : reference_nodes.items()) {
    SCOPED_TRACE(name);
    reference_names.insert(name);
    const json reference = reference_document(name);
    const json ours = node_document(raw(), name);
    EXPECT_EQ(ours.at("node_type"), reference.at("node_type"));
    EXPECT_EQ(ours.at("data_type"), reference.at("data_type"));
    EXPECT_EQ(ours.at("dimension_names"), reference.at("dimension_names"));
    const json& our_attributes = ours.at("attributes");
    const json& reference_attributes = reference.at("attributes");
    EXPECT_EQ(our_attributes.contains("_FillValue"), reference_attributes.contains("_FillValue"));
    if (reference_attributes.contains("_FillValue")) {
      EXPECT_EQ(our_attributes.at("_FillValue"), reference_attributes.at("_FillValue"));
    }
    if (reference.at("data_type") == "string") {
      EXPECT_EQ(ours.at("codecs").at(0).at("name"), "vlen-utf8") << "xarray reads strings as vlen-utf8";
    }
  }
  // The read layout is the write layout's twin for xarray.
  const json write_layout = node_document(raw(), "lightcurves"), read_layout = node_document(raw(), kReadLayout);
  EXPECT_EQ(read_layout.at("dimension_names"), write_layout.at("dimension_names"));
  EXPECT_EQ(read_layout.at("attributes").at("_FillValue"), write_layout.at("attributes").at("_FillValue"));
  EXPECT_EQ(read_layout.at("attributes").at("coordinates"), write_layout.at("attributes").at("coordinates"));
  reference_names.insert(kReadLayout);
  EXPECT_EQ(node_names(raw()), reference_names) << "the reference's nodes and the read layout, nothing else";
}

TEST_F(XarrayLayout, LightCurvesFillValueIsNaN) {
  store_->rechunk({.object_chunk = 25});
  for (const char* node : {"lightcurves", kReadLayout}) {
    const json document = node_document(raw(), node);
    EXPECT_EQ(document.at("fill_value"), "NaN") << node;
    EXPECT_EQ(document.at("data_type"), "float32") << node;
  }
  EXPECT_EQ(node_document(raw(), "lightcurves").at("chunk_grid").at("configuration").at("chunk_shape"),
            reference_document("lightcurves").at("chunk_grid").at("configuration").at("chunk_shape"));
}

TEST_F(XarrayLayout, CoordinatesAttributeListsTheNonDimensionCoordinatesSorted) {
  EXPECT_EQ(node_document(raw(), "lightcurves").at("attributes").at("coordinates"),
            reference_document("lightcurves").at("attributes").at("coordinates"));
  ScratchLightCurves more(
      StoreKind::kMemory,
      options({mjd(), {"aorkey", std::vector<std::string>(9, "AOR")}, {"exptime", std::vector<double>(9, 100.0)}}));
  more->rechunk({});
  const Store& store = *more.scratch().store();
  for (const char* node : {"lightcurves", kReadLayout}) {
    EXPECT_EQ(node_document(store, node).at("attributes").at("coordinates"),
              "dec epoch_aorkey epoch_exptime epoch_mjd ra x_image y_image")
        << node;
  }
  const json aorkey = node_document(store, "epoch_aorkey");
  EXPECT_EQ(aorkey.at("data_type"), "string");
  EXPECT_EQ(aorkey.at("codecs").at(0).at("name"), "vlen-utf8");
  EXPECT_EQ(aorkey.at("dimension_names"), json::array({"epoch"}));
  EXPECT_EQ(node_document(store, "epoch_exptime").at("data_type"), "float64");
}

TEST_F(XarrayLayout, RootHasInlineConsolidatedMetadataOfEveryNode) {
  expect_consolidated_lists_every_node(raw());
  store_->populate("r58000", epoch_catalog(0, synthetic_objects(120)), {});
  expect_consolidated_lists_every_node(raw());
  store_->rechunk({.object_chunk = 25});
  EXPECT_TRUE(node_names(raw()).contains(kReadLayout));
  expect_consolidated_lists_every_node(raw());
  store_->rechunk({.object_chunk = 40});
  expect_consolidated_lists_every_node(raw());
  EXPECT_EQ(node_document(raw(), "")
                .at("consolidated_metadata")
                .at("metadata")
                .at(kReadLayout)
                .at("chunk_grid")
                .at("configuration")
                .at("chunk_shape"),
            json::array({40, 3, 2, 9}));
}

TEST_F(XarrayLayout, RootAttributesDescribeTheStore) {
  const std::time_t before = std::time(nullptr);
  ScratchLightCurves fresh(StoreKind::kMemory, options({mjd()}));
  const std::time_t after = std::time(nullptr);
  const json attributes = node_document(*fresh.scratch().store(), "").at("attributes");
  EXPECT_EQ(attributes.at("description"), "IDF lightcurve data");
  EXPECT_EQ(attributes.at("n_objects"), 120);
  EXPECT_EQ(attributes.at("n_measurements"), 3);
  EXPECT_EQ(attributes.at("n_values"), 2);
  EXPECT_EQ(attributes.at("n_epochs"), 9);
  EXPECT_TRUE(attributes.at("lcstore_version").is_string());
  EXPECT_FALSE(attributes.at("lcstore_version").get<std::string>().empty());
  std::tm created{};
  const std::string text = attributes.at("created").get<std::string>();
  ASSERT_EQ(text.size(), 20u) << text;
  ASSERT_EQ(std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &created.tm_year, &created.tm_mon, &created.tm_mday,
                        &created.tm_hour, &created.tm_min, &created.tm_sec),
            6)
      << text;
  created.tm_year -= 1900;
  created.tm_mon -= 1;
  const std::time_t stamp = ::timegm(&created);
  EXPECT_GE(stamp, before) << text << " is the UTC time of creation";
  EXPECT_LE(stamp, after) << text;
}

// Opening the reference itself, which xarray wrote, is tests/xarray_store_test.cpp's.
TEST_F(XarrayLayout, OpeningNoStoreOrCreatingOverOneFails) {
  EXPECT_LCSTORE_ERROR(LightCurveStore::open(std::make_shared<MemoryStore>()), kNotFound);
  EXPECT_LCSTORE_ERROR(LightCurveStore::create(store_.scratch().store(), options({mjd()})), kInvalidArgument);
}

// --- Epoch tables -------------------------------------------------------------------------------------

TEST(EpochTableRead, KeyPerLine) {
  TempDir dir;
  write_file(dir.path() / "epochs.txt", "# field A\nr1001\n\n  r1002  \nr1003\r\n");
  const EpochTable table = EpochTable::read(dir.path() / "epochs.txt");
  EXPECT_EQ(table.keys, (std::vector<std::string>{"r1001", "r1002", "r1003"}));
  EXPECT_TRUE(table.variables.empty());
}

TEST(EpochTableRead, CsvWithNumericAndStringColumns) {
  TempDir dir;
  write_file(dir.path() / "epochs.csv",
             "key, mjd, aorkey, exptime\n"
             "r1, 60000.25, AOR-1, 100\n"
             "# not yet reduced: r4\n"
             "r2, 60001.5, AOR-2, 1e2\n"
             "r3, 60002.75, 3, 100.5\n");
  const EpochTable table = EpochTable::read(dir.path() / "epochs.csv");
  EXPECT_EQ(table.keys, (std::vector<std::string>{"r1", "r2", "r3"}));
  ASSERT_EQ(table.variables.size(), 3u);
  EXPECT_EQ(table.variables[0].name, "mjd");
  EXPECT_EQ(std::get<std::vector<double>>(table.variables[0].values),
            (std::vector<double>{60000.25, 60001.5, 60002.75}));
  EXPECT_EQ(table.variables[1].name, "aorkey");
  EXPECT_EQ(std::get<std::vector<std::string>>(table.variables[1].values),
            (std::vector<std::string>{"AOR-1", "AOR-2", "3"}));
  EXPECT_EQ(table.variables[2].name, "exptime");
  EXPECT_EQ(std::get<std::vector<double>>(table.variables[2].values), (std::vector<double>{100, 100, 100.5}));

  // The variables become epoch_<name> coordinates and read back by name.
  auto memory = std::make_shared<MemoryStore>();
  LightCurveStore::create(memory,
                          {.objects = synthetic_create_options().objects, .epochs = table, .measurements = {"auto"}});
  const LightCurveStore reopened = LightCurveStore::open(memory);
  EXPECT_EQ(reopened.epochs().keys, table.keys);
  std::map<std::string, decltype(EpochTable::Variable::values)> stored, given;
  for (const EpochTable::Variable& variable : reopened.epochs().variables) stored[variable.name] = variable.values;
  for (const EpochTable::Variable& variable : table.variables) given[variable.name] = variable.values;
  EXPECT_EQ(stored, given);
}

struct BadEpochFile {
  const char* name;
  const char* text;
  int line;  // the line the error must name
};

void PrintTo(const BadEpochFile& bad, std::ostream* out) { *out << bad.name; }

class EpochTableBadFiles : public ::testing::TestWithParam<BadEpochFile> {};

INSTANTIATE_TEST_SUITE_P(Files, EpochTableBadFiles,
                         ::testing::Values(BadEpochFile{"TooManyFields", "epoch,mjd\nr1,1\nr2,2,3\n", 3},
                                           BadEpochFile{"TooFewFields", "# list\nepoch,mjd,aorkey\nr1,1\n", 3},
                                           BadEpochFile{"DuplicateKeyInCsv", "epoch,mjd\nr1,1\nr2,2\n\nr1,3\n", 5},
                                           BadEpochFile{"DuplicateKeyInList", "r1\nr2\n# again\nr1\n", 4},
                                           BadEpochFile{"EmptyKey", "epoch,mjd\nr1,1\n ,2\n", 3},
                                           BadEpochFile{"WrongFirstHeader", "# epochs\nname,mjd\nr1,1\n", 2}),
                         [](const auto& test) { return std::string(test.param.name); });

TEST_P(EpochTableBadFiles, ThrowBadInputNamingFileAndLine) {
  TempDir dir;
  const fs::path path = dir.path() / "epochs.csv";
  write_file(path, GetParam().text);
  const std::string where = path.string() + ":" + std::to_string(GetParam().line);
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { EpochTable::read(path); },
      [&](const Error& error) { EXPECT_EQ(error.subject(), where) << error.what(); }));
}

TEST(EpochTableRead, EmptyOrMissingFile) {
  TempDir dir;
  write_file(dir.path() / "empty.txt", "# nothing\n\n");
  EXPECT_LCSTORE_ERROR(EpochTable::read(dir.path() / "empty.txt"), kBadInput);
  EXPECT_LCSTORE_ERROR(EpochTable::read(dir.path() / "missing.txt"), kIo);
  EXPECT_LCSTORE_ERROR(EpochTable::from_keys({"r1", "r2", "r1"}), kBadInput);
}

// --- Small pieces of the API ---------------------------------------------------------------------------

TEST(Strategies, NamesRoundTrip) {
  for (Strategy strategy : kStrategies)
    EXPECT_EQ(lightcurve::parse_strategy(lightcurve::to_string(strategy)), strategy);
  for (Strategy strategy : kStrategies)
    EXPECT_EQ(lightcurve::parse_strategy(lightcurve::original_name(strategy)), strategy);
  EXPECT_STREQ(lightcurve::to_string(Strategy::kScatter), "scatter");
  EXPECT_STREQ(lightcurve::original_name(Strategy::kScatter), "v2");
  EXPECT_LCSTORE_ERROR(lightcurve::parse_strategy("v3"), kInvalidArgument);
}

TEST(CatalogContentId, FollowsTheContentNotTheName) {
  TempDir dir;
  write_file(dir.path() / "a.cat", "1 2 3\n");
  write_file(dir.path() / "b.cat", "1 2 3\n");
  write_file(dir.path() / "c.cat", "1 2 4\n");
  const std::string a = lightcurve::catalog_content_id(dir.path() / "a.cat");
  EXPECT_TRUE(a.starts_with("xxh3-128:")) << a;
  EXPECT_EQ(a.size(), std::string("xxh3-128:").size() + 32) << a;
  EXPECT_EQ(a, lightcurve::catalog_content_id(dir.path() / "b.cat"));
  EXPECT_NE(a, lightcurve::catalog_content_id(dir.path() / "c.cat"));
  EXPECT_LCSTORE_ERROR(lightcurve::catalog_content_id(dir.path() / "missing.cat"), kIo);
}

}  // namespace
}  // namespace lcstore::testing
