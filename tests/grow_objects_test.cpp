// A store that grows along its objects (LightCurveStore::add_objects and
// `lcstore add-objects`):
//  * new objects get their keys and positions, every array with an object
//    dimension grows together, the values already written stay, the new
//    cells are NaN until populated; cone searches and key lookups see them;
//  * adding an object that exists is a no-op; bad input changes nothing;
//  * a store opened before the growth that populates an edge chunk keeps
//    the cells a writer of the grown store put beyond its old shape;
//  * a growth killed after its publication is finished by the next, and a
//    writer SIGKILLed at random leaves the store before or after each growth;
//  * threads and processes adding objects (some the same) and populating them beside
//    populates of existing epochs, while a reader loops: every value exact,
//    each object once, and the reader always sees every array agree.
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "growth_support.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/group.h"
#include "lightcurve_scenarios.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using lightcurve::ObjectTable;
using nlohmann::json;

constexpr uint64_t kInitialObjects = 100;  // chunks of 64: the second is an edge chunk
constexpr uint64_t kEpochs = 3;

std::vector<uint64_t> objects_from(uint64_t first, uint64_t last) {
  std::vector<uint64_t> objects;
  for (uint64_t o = first; o < last; ++o) objects.push_back(o);
  return objects;
}

std::set<uint64_t> objects_from_set(uint64_t first, uint64_t last) {
  const std::vector<uint64_t> objects = objects_from(first, last);
  return {objects.begin(), objects.end()};
}

ObjectTable object_table(uint64_t first, uint64_t last) {
  const catalog::Table detections = synthetic_catalog(objects_from(first, last), -1);
  return ObjectTable::from_catalog(detections, catalog::ColumnMapping(detections, {}));
}

lightcurve::CreateOptions create_options() {
  lightcurve::CreateOptions options;
  options.objects = object_table(0, kInitialObjects);
  std::vector<std::string> keys;
  for (uint64_t e = 0; e < kEpochs; ++e) keys.push_back(epoch_key(e));
  options.epochs = lightcurve::EpochTable::from_keys(keys);
  options.measurements = kStoreMeasurements;
  options.object_chunk = 64;
  options.codecs = {"zstd:1"};
  return options;
}

void populate(LightCurveStore& store, uint64_t epoch, uint64_t first, uint64_t last) {
  store.populate(epoch_key(epoch), synthetic_catalog(objects_from(first, last), static_cast<int64_t>(epoch)), {});
}

// Which objects (by number) were populated at each epoch.
using Populated = std::vector<std::set<uint64_t>>;

// Every cell of the write layout: populated (object, epoch) pairs hold
// their catalog's values, the others NaN; rows are objects in key order.
void expect_cells(const LightCurveStore& store, const Populated& populated) {
  const zarr::Array& layout = store.write_layout();
  const std::vector<float> cells = layout.read<float>(zarr::select_all(layout.shape()));
  const ObjectTable& objects = store.object_table();
  const uint64_t n_measurements = store.measurements().size();
  uint64_t wrong = 0;
  for (uint64_t row = 0; row < objects.keys.size(); ++row) {
    const uint64_t o = std::stoull(objects.keys[row]) - 1;
    for (uint64_t m = 0; m < n_measurements; ++m) {
      for (uint64_t v = 0; v < kValues; ++v) {
        for (uint64_t e = 0; e < kEpochs; ++e) {
          const float got = cells[((row * n_measurements + m) * kValues + v) * kEpochs + e];
          const bool written = populated[e].contains(o) && m < kCatalogMeasurements;
          const float want = written ? static_cast<float>(catalog_value(o, m, v, e)) : NAN;
          wrong += std::isnan(want) ? !std::isnan(got) : got != want;
        }
      }
    }
  }
  EXPECT_EQ(wrong, 0u);
}

// Every array with an object dimension has `objects` along it (by default,
// the root's n_objects), as the root's consolidated metadata records it
// and, with `own_documents`, as its own zarr.json does; throws otherwise.
void check_object_lengths(const std::shared_ptr<Store>& store, std::optional<uint64_t> objects,
                          bool own_documents = true) {
  const zarr::Group root = zarr::Group::open(store, "");
  const uint64_t recorded = root.attributes()["n_objects"].get<uint64_t>();
  if (objects && *objects != recorded) throw std::runtime_error(fmt::format("n_objects is {}", recorded));
  int arrays = 0;
  for (const auto& [path, document] : root.metadata().consolidated_nodes) {
    const json names = document.value("dimension_names", json::array());
    for (size_t d = 0; d < names.size(); ++d) {
      if (names[d] != "object") continue;
      ++arrays;
      if (document["shape"][d] != recorded || (own_documents && zarr::Array::open(store, path).shape()[d] != recorded))
        throw std::runtime_error(fmt::format("{} does not have the {} objects of n_objects", path, recorded));
    }
  }
  if (arrays < 6) throw std::runtime_error("fewer arrays along objects than lightcurves, object, ra, dec, x, y");
}

// What a reader of a growing store sees: one snapshot (the root document)
// in which every array agrees; opening the store checks its arrays agree.
void check_consistent(const std::shared_ptr<Store>& store) {
  LightCurveStore::open(store);
  check_object_lengths(store, std::nullopt, false);
}

class GrowObjects : public ::testing::TestWithParam<StoreKind> {};

TEST_P(GrowObjects, AppendsObjectsWithTheirPositionsAndKeepsTheValues) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  populate(store, 0, 0, kInitialObjects);
  // Objects 50..149: the first 50 are there already.
  EXPECT_EQ(store.add_objects(object_table(50, 150)), 50u);
  EXPECT_EQ(store.n_objects(), 150u);
  check_object_lengths(scratch.store(), 150);
  const ObjectTable& objects = store.object_table();
  EXPECT_EQ(objects.keys.front(), "1");
  EXPECT_EQ(objects.keys.back(), "150");
  EXPECT_EQ(objects.ra[120], 150.0 + 0.001 * 120);
  EXPECT_EQ(objects.dec[120], 2.0 + 0.0005 * 120);
  EXPECT_EQ(store.object_index("121"), 120u);
  expect_cells(store, {objects_from_set(0, kInitialObjects), {}, {}});

  // The new objects are found by position and populated like the others.
  const std::vector<lightcurve::ObjectMatch> near = store.cone(150.0 + 0.001 * 130, 2.0 + 0.0005 * 130, 0.5);
  ASSERT_EQ(near.size(), 1u);
  EXPECT_EQ(near[0].index, 130u);
  populate(store, 1, 0, 150);
  const LightCurveStore reopened = LightCurveStore::open(scratch.store());
  expect_cells(reopened, {objects_from_set(0, kInitialObjects), objects_from_set(0, 150), {}});
  EXPECT_EQ(reopened.light_curve("140", "auto").data[1], static_cast<float>(catalog_value(139, 0, 0, 1)));
}

TEST_P(GrowObjects, KnownObjectsAreANoOpAndBadInputChangesNothing) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  const std::vector<std::string> keys_before = scratch.store()->list("");
  EXPECT_EQ(store.add_objects(object_table(10, 20)), 0u);
  ObjectTable uneven = object_table(200, 203);
  uneven.ra.pop_back();
  EXPECT_THROW(store.add_objects(uneven), Error);
  ObjectTable unnamed = object_table(200, 203);
  unnamed.keys[1].clear();
  EXPECT_THROW(store.add_objects(unnamed), Error);
  // A key repeated in the table is added once, with its first position.
  ObjectTable repeated = object_table(200, 202);
  repeated.keys[1] = repeated.keys[0];
  EXPECT_EQ(LightCurveStore::open(scratch.store()).n_objects(), kInitialObjects);
  check_object_lengths(scratch.store(), kInitialObjects);
  EXPECT_EQ(scratch.store()->list(""), keys_before);
  EXPECT_EQ(store.add_objects(repeated), 1u);
  EXPECT_EQ(store.n_objects(), kInitialObjects + 1);
  EXPECT_EQ(store.object_table().ra.back(), 150.0 + 0.001 * 200);
}

// A populate through a store opened before the growth covers every cell of
// the edge chunk it knows of (the store has only the catalog's
// measurements); the new objects' cells beyond, written through the grown
// store, stay.
TEST_P(GrowObjects, AStoreOpenedBeforeTheGrowthKeepsTheNewObjectsCells) {
  ScratchStore scratch(GetParam());
  lightcurve::CreateOptions options = create_options();
  options.measurements.resize(kCatalogMeasurements);
  LightCurveStore::create(scratch.store(), options);
  LightCurveStore before = LightCurveStore::open(scratch.store());
  LightCurveStore grower = LightCurveStore::open(scratch.store());
  EXPECT_EQ(grower.add_objects(object_table(kInitialObjects, 120)), 20u);
  populate(grower, 1, kInitialObjects, 120);
  populate(before, 1, 0, kInitialObjects);
  expect_cells(LightCurveStore::open(scratch.store()), {{}, objects_from_set(0, 120), {}});
}

TEST_P(GrowObjects, TheReadLayoutGrowsStaleAndRechunkBringsItBack) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  populate(store, 0, 0, kInitialObjects);
  store.rechunk({.object_chunk = 32});
  ASSERT_TRUE(store.read_layout_current());
  store.add_objects(object_table(kInitialObjects, 130));
  EXPECT_FALSE(store.read_layout_current());
  populate(store, 2, 0, 130);
  store.rechunk({.object_chunk = 32});
  EXPECT_TRUE(store.read_layout_current());
  const lightcurve::LightCurve curve = store.light_curve("125", "aper");
  ASSERT_EQ(curve.data.size(), kValues * kEpochs);
  EXPECT_TRUE(std::isnan(curve.data[0]));
  EXPECT_EQ(curve.data[2], static_cast<float>(catalog_value(124, 1, 0, 2)));
  check_object_lengths(scratch.store(), 130);
}

// A writer killed after publishing the root document but before every
// array's own zarr.json: readers see the grown store, and the next growth
// brings the arrays' documents along.
TEST_P(GrowObjects, AGrowthKilledAfterPublishingIsFinishedByTheNext) {
  ScratchStore scratch(GetParam());
  LightCurveStore store = LightCurveStore::create(scratch.store(), create_options());
  populate(store, 0, 0, kInitialObjects);
  std::vector<std::pair<std::string, Bytes>> documents;
  for (const char* path : {"lightcurves/zarr.json", "object/zarr.json", "dec/zarr.json"})
    documents.emplace_back(path, *scratch.store()->get(path));
  store.add_objects(object_table(kInitialObjects, 110));
  for (const auto& [path, document] : documents) scratch.store()->set(path, document);
  LightCurveStore reader = LightCurveStore::open(scratch.store());
  EXPECT_EQ(reader.n_objects(), 110u);
  EXPECT_EQ(reader.add_objects(object_table(0, 110)), 0u);
  check_object_lengths(scratch.store(), 110);
  expect_cells(reader, {objects_from_set(0, kInitialObjects), {}, {}});
}

INSTANTIATE_TEST_SUITE_P(Stores, GrowObjects, ::testing::ValuesIn({StoreKind::kMemory, StoreKind::kDirectory}),
                         [](const ::testing::TestParamInfo<StoreKind>& kind) { return name_of(kind.param); });

// --- Concurrency -------------------------------------------------------------

constexpr int kGrowers = 3;
const uint64_t kObjectsPerGrower = static_cast<uint64_t>(stress_repetitions(10));

// Grower g adds objects one at a time, then populates them at epoch 1; every
// grower also adds the shared object 999 halfway.
constexpr uint64_t kSharedObject = 999;
uint64_t grower_object(int grower, uint64_t i) { return 1000 + static_cast<uint64_t>(grower) * 1000 + i; }

void grow_and_populate(LightCurveStore& store, int grower) {
  for (uint64_t i = 0; i < kObjectsPerGrower; ++i) {
    const uint64_t o = grower_object(grower, i);
    store.add_objects(object_table(o, o + 1));
    populate(store, 1, o, o + 1);
    if (i == kObjectsPerGrower / 2) store.add_objects(object_table(kSharedObject, kSharedObject + 1));
  }
}

// Epoch `epoch` of the initial objects in five populates, through a store
// opened before any growth.
void populate_initial_objects(LightCurveStore& store, uint64_t epoch) {
  for (uint64_t first = 0; first < kInitialObjects; first += 20) populate(store, epoch, first, first + 20);
}

void expect_final_store(const std::shared_ptr<Store>& store) {
  const LightCurveStore final_store = LightCurveStore::open(store);
  const std::vector<std::string>& keys = final_store.object_table().keys;
  EXPECT_EQ(keys.size(), kInitialObjects + kGrowers * kObjectsPerGrower + 1);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size()) << "an object appears twice";
  Populated populated = {objects_from_set(0, kInitialObjects), {}, objects_from_set(0, kInitialObjects)};
  for (int g = 0; g < kGrowers; ++g) {
    for (uint64_t i = 0; i < kObjectsPerGrower; ++i) populated[1].insert(grower_object(g, i));
  }
  expect_cells(final_store, populated);
  check_object_lengths(store, keys.size());
}

// Growers, then populators of epochs 0 and 2 of the initial objects through
// stores opened before any growth.
std::vector<StoreWriter> growers_and_populators() {
  std::vector<StoreWriter> writers;
  for (int g = 0; g < kGrowers; ++g) writers.push_back([g](LightCurveStore& store) { grow_and_populate(store, g); });
  for (uint64_t epoch : {0, 2})
    writers.push_back([epoch](LightCurveStore& store) { populate_initial_objects(store, epoch); });
  return writers;
}

TEST(GrowObjectsConcurrently, ThreadsAddAndPopulateBesideOtherPopulatesAndAReader) {
  TempDir directory;
  LightCurveStore::create(std::make_shared<DirectoryStore>(directory.path()), create_options());
  run_threads_beside_a_reader(directory.path(), growers_and_populators(), check_consistent);
  expect_final_store(std::make_shared<DirectoryStore>(directory.path()));
}

TEST(GrowObjectsConcurrently, ProcessesAddAndPopulateBesideOtherPopulatesAndAReader) {
  TempDir directory;
  LightCurveStore::create(std::make_shared<DirectoryStore>(directory.path()), create_options());
  run_processes_beside_a_reader(directory.path(), growers_and_populators(), check_consistent);
  expect_final_store(std::make_shared<DirectoryStore>(directory.path()));
}

// One growth after another, each of one object: 500, 501, ...
constexpr uint64_t kKillObjects = 40;
void grow_one_by_one(const fs::path& path) {
  LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(path));
  for (uint64_t o = 500; o < 500 + kKillObjects; ++o) store.add_objects(object_table(o, o + 1));
}

// The store holds the initial objects, then 500, 501, ... up to some object,
// each with its position, and finds the last by position: each growth
// happened whole or not at all.
void expect_grown_prefix(const std::shared_ptr<Store>& store, uint64_t at_least) {
  check_consistent(store);
  const LightCurveStore opened = LightCurveStore::open(store);
  const ObjectTable& objects = opened.object_table();
  ASSERT_GE(objects.keys.size(), kInitialObjects + at_least);
  for (uint64_t row = kInitialObjects; row < objects.keys.size(); ++row) {
    const uint64_t o = 500 + row - kInitialObjects;
    EXPECT_EQ(objects.keys[row], std::to_string(object_number(o)));
    EXPECT_EQ(objects.ra[row], 150.0 + 0.001 * static_cast<double>(o)) << objects.keys[row];
  }
  const std::vector<lightcurve::ObjectMatch> last = opened.cone(objects.ra.back(), objects.dec.back(), 0.1);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].index, objects.keys.size() - 1);
}

TEST(GrowObjectsKilled, AWriterKilledDuringAddObjectsLeavesTheStoreBeforeOrAfterAndARerunCompletes) {
  kill_growth_and_rerun(
      stress_repetitions(8), 2027,
      [](const fs::path& path) { LightCurveStore::create(std::make_shared<DirectoryStore>(path), create_options()); },
      grow_one_by_one,
      [](const std::shared_ptr<Store>& store, bool finished) {
        expect_grown_prefix(store, finished ? kKillObjects : 0);
        if (finished) check_object_lengths(store, kInitialObjects + kKillObjects);
      });
}

}  // namespace
}  // namespace lcstore::testing
