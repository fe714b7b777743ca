// A store that grows along its epochs (LightCurveStore::add_epochs and
// `lcstore add-epochs` / `populate --add-epochs`):
//  * new epochs get their keys and variables, every array with an epoch
//    dimension grows together, the values already written stay;
//  * adding an epoch that exists is a no-op; bad input changes nothing;
//  * a growth killed before or after its publication leaves the store as
//    before or as after, and the next growth or rechunk finishes it;
//  * threads and processes adding epochs and populating them beside
//    populates of existing epochs, while a reader loops: every value exact,
//    each epoch once, and the reader always sees every array agree.
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "growth_support.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/storage/memory_store.h"
#include "lcstore/zarr/group.h"
#include "lightcurve_scenarios.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using lightcurve::EpochTable;
using nlohmann::json;

constexpr uint64_t kObjects = 150;
constexpr uint64_t kInitialEpochs = 4;

std::vector<uint64_t> all_objects() {
  std::vector<uint64_t> objects(kObjects);
  for (uint64_t o = 0; o < kObjects; ++o) objects[o] = o;
  return objects;
}

// Epochs e0..e3 with an `mjd` and a `band` variable; objects in chunks of 64.
lightcurve::CreateOptions create_options() {
  const catalog::Table detections = synthetic_catalog(all_objects(), -1);
  lightcurve::CreateOptions options;
  options.objects = lightcurve::ObjectTable::from_catalog(detections, catalog::ColumnMapping(detections, {}));
  std::vector<std::string> keys;
  std::vector<double> mjd;
  for (uint64_t e = 0; e < kInitialEpochs; ++e) {
    keys.push_back(epoch_key(e));
    mjd.push_back(60000.0 + static_cast<double>(e));
  }
  options.epochs = EpochTable::from_keys(keys);
  options.epochs.variables = {{"mjd", mjd}, {"band", std::vector<std::string>(keys.size(), "I1")}};
  options.measurements = kStoreMeasurements;
  options.object_chunk = 64;
  options.codecs = {"zstd:1"};
  return options;
}

// Epoch number `n` (key "e<n>") with mjd 60000 + n.
EpochTable epochs_with_mjd(const std::vector<uint64_t>& numbers) {
  EpochTable table;
  std::vector<double> mjd;
  for (uint64_t n : numbers) {
    table.keys.push_back(epoch_key(n));
    mjd.push_back(60000.0 + static_cast<double>(n));
  }
  table.variables = {{"mjd", mjd}};
  return table;
}

void populate(LightCurveStore& store, uint64_t n) {
  const catalog::Table catalog = synthetic_catalog(all_objects(), static_cast<int64_t>(n));
  store.populate(epoch_key(n), catalog, {});
}

// Every array with an epoch dimension, as the root's consolidated metadata
// and as its own zarr.json record it, has `epochs` along it.
void expect_epoch_lengths(const std::shared_ptr<Store>& store, uint64_t epochs) {
  const zarr::Group root = zarr::Group::open(store, "");
  int arrays = 0;
  for (const auto& [path, document] : root.metadata().consolidated_nodes) {
    const json names = document.value("dimension_names", json::array());
    for (size_t d = 0; d < names.size(); ++d) {
      if (names[d] != "epoch") continue;
      ++arrays;
      EXPECT_EQ(document["shape"][d], epochs) << path << " (consolidated)";
      EXPECT_EQ(zarr::Array::open(store, path).shape()[d], epochs) << path;
    }
  }
  EXPECT_GE(arrays, 4);  // lightcurves, epoch, epoch_mjd, epoch_band
  EXPECT_EQ(root.attributes()["n_epochs"], epochs);
}

// The value of every cell: epochs populated (by number) hold their catalog's
// values, the others NaN.
void expect_cells(const LightCurveStore& store, const std::set<uint64_t>& populated) {
  const zarr::Array& layout = store.write_layout();
  const std::vector<float> cells = layout.read<float>(zarr::select_all(layout.shape()));
  const uint64_t n_epochs = store.epochs().keys.size();
  uint64_t wrong = 0;
  for (uint64_t e = 0; e < n_epochs; ++e) {
    const uint64_t n = std::stoull(store.epochs().keys[e].substr(1));
    for (uint64_t o = 0; o < kObjects; ++o) {
      for (uint64_t m = 0; m < kStoreMeasurements.size(); ++m) {
        for (uint64_t v = 0; v < kValues; ++v) {
          const float got = cells[((o * kStoreMeasurements.size() + m) * kValues + v) * n_epochs + e];
          const bool written = populated.contains(n) && m < kCatalogMeasurements;
          const float want = written ? static_cast<float>(catalog_value(o, m, v, n)) : NAN;
          wrong += std::isnan(want) ? !std::isnan(got) : got != want;
        }
      }
    }
  }
  EXPECT_EQ(wrong, 0u);
}

class Grow : public ::testing::TestWithParam<StoreKind> {};

TEST_P(Grow, AppendsEpochsWithTheirVariablesAndKeepsTheValues) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  populate(store, 1);
  EXPECT_EQ(store.add_epochs(epochs_with_mjd({7, 5})), 2u);
  EXPECT_THAT(store.epochs().keys, ::testing::ElementsAre("e0", "e1", "e2", "e3", "e7", "e5"));
  EXPECT_EQ(store.write_layout().shape()[3], 6u);
  populate(store, 5);
  for (const LightCurveStore& view : {store, LightCurveStore::open(scratch.store())}) {
    ASSERT_EQ(view.epochs().variables.size(), 2u);
    for (const EpochTable::Variable& variable : view.epochs().variables) {
      if (variable.name == "mjd") {
        EXPECT_THAT(std::get<std::vector<double>>(variable.values),
                    ::testing::ElementsAre(60000, 60001, 60002, 60003, 60007, 60005));
      } else {
        EXPECT_THAT(std::get<std::vector<std::string>>(variable.values),
                    ::testing::ElementsAre("I1", "I1", "I1", "I1", "", ""));
      }
    }
    expect_cells(view, {1, 5});
    const lightcurve::LightCurve curve = view.light_curve("3", "auto");
    EXPECT_EQ(curve.data.size(), 2u * 6u);
  }
  expect_epoch_lengths(scratch.store(), 6);
}

TEST_P(Grow, AnEpochThatExistsIsANoOp) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  const uint64_t generation = lightcurve::Journal(*scratch.store()).generation();
  EXPECT_EQ(store.add_epochs(EpochTable::from_keys({"e0", "e3"})), 0u);
  EXPECT_EQ(lightcurve::Journal(*scratch.store()).generation(), generation);
  EXPECT_EQ(store.add_epochs(EpochTable::from_keys({"e9", "e2"})), 1u);
  EXPECT_THAT(store.epochs().keys, ::testing::ElementsAre("e0", "e1", "e2", "e3", "e9"));
  EXPECT_GT(lightcurve::Journal(*scratch.store()).generation(), generation);
  expect_epoch_lengths(scratch.store(), 5);
}

TEST_P(Grow, BadInputChangesNothing) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  const std::optional<Bytes> root = scratch.store()->get("zarr.json");
  EpochTable unknown_variable = EpochTable::from_keys({"e8"});
  unknown_variable.variables = {{"airmass", std::vector<double>{1.2}}};
  EXPECT_LCSTORE_ERROR(store.add_epochs(unknown_variable), kBadInput);
  EpochTable wrong_kind = EpochTable::from_keys({"e8"});
  wrong_kind.variables = {{"mjd", std::vector<std::string>{"yesterday"}}};
  EXPECT_LCSTORE_ERROR(store.add_epochs(wrong_kind), kBadInput);
  EXPECT_LCSTORE_ERROR(store.add_epochs(EpochTable::from_keys({"e8", ""})), kBadInput);
  EpochTable short_variable = EpochTable::from_keys({"e8", "e9"});
  short_variable.variables = {{"mjd", std::vector<double>{1.0}}};
  EXPECT_LCSTORE_ERROR(store.add_epochs(short_variable), kBadInput);
  EXPECT_EQ(scratch.store()->get("zarr.json"), root);
  EXPECT_EQ(LightCurveStore::open(scratch.store()).epochs().keys.size(), kInitialEpochs);
}

TEST_P(Grow, TheReadLayoutGrowsStaleAndRechunkBringsItBack) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  populate(store, 0);
  store.rechunk({.object_chunk = 32});
  ASSERT_TRUE(store.read_layout_current());
  store.add_epochs(EpochTable::from_keys({"e4"}));
  EXPECT_FALSE(store.read_layout_current());
  EXPECT_EQ(zarr::Array::open(scratch.store(), lightcurve::layout::kReadLayout).shape()[3], kInitialEpochs + 1);
  populate(store, 4);
  // A store opened before the growth rechunks the grown store.
  LightCurveStore before = LightCurveStore::open(scratch.store());
  LightCurveStore other = LightCurveStore::open(scratch.store());
  other.add_epochs(EpochTable::from_keys({"e6"}));
  before.rechunk({.object_chunk = 32});
  EXPECT_TRUE(before.read_layout_current());
  EXPECT_EQ(before.epochs().keys.size(), kInitialEpochs + 2);
  const lightcurve::LightCurve curve = before.light_curve("10", "aper");
  ASSERT_EQ(curve.data.size(), kValues * (kInitialEpochs + 2));
  EXPECT_EQ(curve.data[4], static_cast<float>(catalog_value(9, 1, 0, 4)));  // mag of e4
  EXPECT_TRUE(std::isnan(curve.data[5]));
  expect_epoch_lengths(scratch.store(), kInitialEpochs + 2);
}

// A writer killed after publishing the root document but before every
// array's own zarr.json: readers see the grown store, and the next growth
// (or rechunk) brings the arrays' documents along.
TEST_P(Grow, AGrowthKilledAfterPublishingIsFinishedByTheNext) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  populate(store, 2);
  const std::optional<Bytes> layout_document = scratch.store()->get("lightcurves/zarr.json");
  const std::optional<Bytes> epoch_document = scratch.store()->get("epoch/zarr.json");
  store.add_epochs(EpochTable::from_keys({"e4"}));
  scratch.store()->set("lightcurves/zarr.json", *layout_document);
  scratch.store()->set("epoch/zarr.json", *epoch_document);
  LightCurveStore reader = LightCurveStore::open(scratch.store());
  EXPECT_EQ(reader.epochs().keys.size(), kInitialEpochs + 1);
  EXPECT_EQ(reader.add_epochs(EpochTable::from_keys({"e4"})), 0u);
  expect_epoch_lengths(scratch.store(), kInitialEpochs + 1);
  expect_cells(reader, {2});
}

// A writer killed before publishing, having written the new cells of the
// epoch arrays beyond their shape: the store is as before, and the next
// growth writes its own cells over them.
TEST_P(Grow, AGrowthKilledBeforePublishingLeavesTheStoreAsBefore) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  for (const char* path : {"epoch", "epoch_mjd"}) {
    zarr::ArrayMetadata metadata = zarr::Array::open(scratch.store(), path).metadata();
    metadata.shape[0] += 3;
    zarr::Array grown = zarr::Array::from_metadata(scratch.store(), path, metadata);
    const zarr::Selection beyond = {zarr::DimSelection::range(kInitialEpochs, kInitialEpochs + 3)};
    if (grown.data_type() == zarr::DataType::kString) {
      grown.write_strings(beyond, {"x", "y", "z"});
    } else {
      grown.write(beyond, std::span<const double>(std::vector<double>{1, 2, 3}));
    }
  }
  LightCurveStore reader = LightCurveStore::open(scratch.store());
  EXPECT_EQ(reader.epochs().keys.size(), kInitialEpochs);
  EXPECT_EQ(reader.add_epochs(EpochTable::from_keys({"e5"})), 1u);
  EXPECT_THAT(reader.epochs().keys, ::testing::ElementsAre("e0", "e1", "e2", "e3", "e5"));
  for (const EpochTable::Variable& variable : reader.epochs().variables) {
    if (variable.name == "mjd") {
      EXPECT_TRUE(std::isnan(std::get<std::vector<double>>(variable.values).back()));
    }
  }
  expect_epoch_lengths(scratch.store(), kInitialEpochs + 1);
}

// A rechunk killed after deleting the read layout, before making it anew,
// leaves the consolidated metadata recording an array that is gone: the
// growth drops it from the record rather than fail.
TEST_P(Grow, AReadLayoutGoneSinceConsolidationIsDroppedFromTheRecord) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  populate(store, 0);
  store.rechunk({.object_chunk = 32});
  for (const std::string& key : scratch.store()->list(std::string(lightcurve::layout::kReadLayout) + "/"))
    scratch.store()->erase(key);
  EXPECT_EQ(LightCurveStore::open(scratch.store()).add_epochs(EpochTable::from_keys({"e4"})), 1u);
  EXPECT_FALSE(
      zarr::Group::open(scratch.store(), "").metadata().consolidated_nodes.contains(lightcurve::layout::kReadLayout));
  expect_epoch_lengths(scratch.store(), kInitialEpochs + 1);
  LightCurveStore reopened = LightCurveStore::open(scratch.store());
  reopened.rechunk({.object_chunk = 32});
  EXPECT_TRUE(reopened.read_layout_current());
  expect_cells(reopened, {0});
}

INSTANTIATE_TEST_SUITE_P(Stores, Grow, ::testing::ValuesIn({StoreKind::kMemory, StoreKind::kDirectory}),
                         [](const ::testing::TestParamInfo<StoreKind>& kind) { return name_of(kind.param); });

// --- Concurrency -------------------------------------------------------------

constexpr int kGrowers = 4;
constexpr int kPopulators = 2;
const uint64_t kEpochsPerGrower = static_cast<uint64_t>(stress_repetitions(12));
constexpr uint64_t kSharedEpoch = 999;  // every grower adds it; grower 0 populates it

// Grower g adds epochs 100 + g * 1000 + i: the even ones with add_epochs and
// their mjd, the odd ones by key only, as `populate --add-epochs` does. Each
// is populated right after.
void grow_and_populate(LightCurveStore& store, int grower) {
  for (uint64_t i = 0; i < kEpochsPerGrower; ++i) {
    const uint64_t n = 100 + static_cast<uint64_t>(grower) * 1000 + i;
    store.add_epochs(i % 2 == 0 ? epochs_with_mjd({n}) : EpochTable::from_keys({epoch_key(n)}));
    populate(store, n);
    if (i == kEpochsPerGrower / 2) {
      store.add_epochs(EpochTable::from_keys({epoch_key(kSharedEpoch)}));
      if (grower == 0) populate(store, kSharedEpoch);
    }
  }
}

// Populator p writes the initial epochs p, p + kPopulators, ...
void populate_existing(LightCurveStore& store, int populator) {
  for (uint64_t n = static_cast<uint64_t>(populator); n < kInitialEpochs; n += kPopulators) populate(store, n);
}

// Opens the store and checks that everything agrees on the number of
// epochs; throws otherwise.
void check_consistent(const std::shared_ptr<Store>& store) {
  const LightCurveStore opened = LightCurveStore::open(store);  // checks the write layout against the labels
  const uint64_t epochs = opened.epochs().keys.size();
  for (const EpochTable::Variable& variable : opened.epochs().variables) {
    const size_t length = std::visit([](const auto& values) { return values.size(); }, variable.values);
    if (length != epochs)
      throw std::runtime_error(fmt::format("epoch_{} has {} of {} epochs", variable.name, length, epochs));
  }
  const zarr::Group root = zarr::Group::open(store, "");
  for (const auto& [path, document] : root.metadata().consolidated_nodes) {
    const json names = document.value("dimension_names", json::array());
    for (size_t d = 0; d < names.size(); ++d) {
      if (names[d] == "epoch" && document["shape"][d] != root.attributes()["n_epochs"])
        throw std::runtime_error(path + " disagrees with n_epochs in the consolidated metadata");
    }
  }
}

std::set<uint64_t> populated_epochs() {
  std::set<uint64_t> populated = {kSharedEpoch};
  for (uint64_t n = 0; n < kInitialEpochs; ++n) populated.insert(n);
  for (int g = 0; g < kGrowers; ++g) {
    for (uint64_t i = 0; i < kEpochsPerGrower; ++i) populated.insert(100 + static_cast<uint64_t>(g) * 1000 + i);
  }
  return populated;
}

void expect_final_store(const std::shared_ptr<Store>& store) {
  const LightCurveStore final_store = LightCurveStore::open(store);
  const std::vector<std::string>& keys = final_store.epochs().keys;
  EXPECT_EQ(keys.size(), kInitialEpochs + kGrowers * kEpochsPerGrower + 1);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size()) << "an epoch appears twice";
  expect_cells(final_store, populated_epochs());
  for (const EpochTable::Variable& variable : final_store.epochs().variables) {
    if (variable.name != "mjd") continue;
    const auto& mjd = std::get<std::vector<double>>(variable.values);
    for (size_t e = 0; e < keys.size(); ++e) {
      const uint64_t n = std::stoull(keys[e].substr(1));
      const bool given = n < kInitialEpochs || (n != kSharedEpoch && (n % 1000 - 100) % 2 == 0);
      if (given) {
        EXPECT_EQ(mjd[e], 60000.0 + static_cast<double>(n)) << keys[e];
      } else {
        EXPECT_TRUE(std::isnan(mjd[e])) << keys[e];
      }
    }
  }
  expect_epoch_lengths(store, keys.size());
}

// Growers, then populators of the initial epochs.
std::vector<StoreWriter> growers_and_populators() {
  std::vector<StoreWriter> writers;
  for (int g = 0; g < kGrowers; ++g) writers.push_back([g](LightCurveStore& store) { grow_and_populate(store, g); });
  for (int p = 0; p < kPopulators; ++p) writers.push_back([p](LightCurveStore& store) { populate_existing(store, p); });
  return writers;
}

TEST(GrowConcurrently, ThreadsAddAndPopulateBesideOtherPopulatesAndAReader) {
  TempDir directory;
  LightCurveStore::create(std::make_shared<DirectoryStore>(directory.path()), create_options());
  run_threads_beside_a_reader(directory.path(), growers_and_populators(), check_consistent);
  expect_final_store(std::make_shared<DirectoryStore>(directory.path()));
}

TEST(GrowConcurrently, ProcessesAddAndPopulateBesideOtherPopulatesAndAReader) {
  TempDir directory;
  LightCurveStore::create(std::make_shared<DirectoryStore>(directory.path()), create_options());
  run_processes_beside_a_reader(directory.path(), growers_and_populators(), check_consistent);
  expect_final_store(std::make_shared<DirectoryStore>(directory.path()));
}

// One growth after another, each of one epoch with its mjd: 500, 501, ...
constexpr uint64_t kKillEpochs = 40;
void grow_one_by_one(const fs::path& path) {
  LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(path));
  for (uint64_t n = 500; n < 500 + kKillEpochs; ++n) store.add_epochs(epochs_with_mjd({n}));
}

// The store holds the initial epochs, then 500, 501, ... up to some epoch,
// every one with its mjd: each growth happened whole or not at all.
void expect_grown_prefix(const std::shared_ptr<Store>& store, uint64_t at_least) {
  check_consistent(store);
  const LightCurveStore opened = LightCurveStore::open(store);
  const std::vector<std::string>& keys = opened.epochs().keys;
  ASSERT_GE(keys.size(), kInitialEpochs + at_least);
  const auto mjd_variable = std::find_if(opened.epochs().variables.begin(), opened.epochs().variables.end(),
                                         [](const EpochTable::Variable& variable) { return variable.name == "mjd"; });
  ASSERT_NE(mjd_variable, opened.epochs().variables.end());
  const auto& mjd = std::get<std::vector<double>>(mjd_variable->values);
  for (uint64_t e = kInitialEpochs; e < keys.size(); ++e) {
    const uint64_t n = 500 + e - kInitialEpochs;
    EXPECT_EQ(keys[e], epoch_key(n));
    EXPECT_EQ(mjd[e], 60000.0 + static_cast<double>(n)) << keys[e];
  }
}

TEST(GrowKilled, AWriterKilledDuringAddEpochsLeavesTheStoreBeforeOrAfterAndARerunCompletes) {
  kill_growth_and_rerun(
      stress_repetitions(8), 2026,
      [](const fs::path& path) { LightCurveStore::create(std::make_shared<DirectoryStore>(path), create_options()); },
      grow_one_by_one,
      [](const std::shared_ptr<Store>& store, bool finished) {
        expect_grown_prefix(store, finished ? kKillEpochs : 0);
        if (finished) expect_epoch_lengths(store, kInitialEpochs + kKillEpochs);
      });
}

}  // namespace
}  // namespace lcstore::testing
