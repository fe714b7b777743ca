// The original Python system's concurrency scenarios for populate(), shared
// by the light-curve thread and process tests: which worker populates which
// objects of which epochs, the synthetic catalogs it populates from, and the
// check of every cell (and of the journal) afterwards.
//
// The original lost values in every concurrent scenario
// (seed/concurrent_writing_test_results.md); here none may be lost.
#pragma once

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "concurrency_support.h"
#include "lcstore/catalog/column_mapping.h"
#include "lcstore/catalog/table.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"
#include "lightcurve/journal.h"
#include "lightcurve/layout.h"
#include "test_support.h"

namespace lcstore::testing {

using lightcurve::LightCurveStore;
using lightcurve::Strategy;

inline const Strategy kStrategies[] = {Strategy::kMaskedSlab, Strategy::kReadModifyWrite, Strategy::kScatter};

// Who populates what: `workers` writers split the store's objects into
// contiguous partitions, or its epochs round robin.
struct PopulateScenario {
  enum class Split { kObjects, kEpochs };
  const char* name;
  uint64_t objects;
  uint64_t epochs;
  uint64_t object_chunk;  // objects per chunk of the write layout
  int workers;
  Split split;

  // Test parameters print as the scenario's name rather than as an address.
  friend void PrintTo(const PopulateScenario* scenario, std::ostream* out) { *out << scenario->name; }
};

// (a) One writer populates every epoch.
inline const PopulateScenario kSequential{"Sequential", 100, 3, 64, 1, PopulateScenario::Split::kObjects};
// (b) Four writers own 100 objects each. 64-object chunks straddle the
// partition boundaries at 100, 200 and 300, so neighbouring writers share
// chunks [64, 128), [192, 256) and [256, 320) of every epoch.
inline const PopulateScenario kObjectPartitions{"ObjectPartitions", 400, 5, 64, 4, PopulateScenario::Split::kObjects};
// (c) Four writers own 2 of 8 epochs each: no chunk is shared, the journal is.
inline const PopulateScenario kEpochPartitions{"EpochPartitions", 400, 8, 64, 4, PopulateScenario::Split::kEpochs};

inline const PopulateScenario* const kScenarios[] = {&kSequential, &kObjectPartitions, &kEpochPartitions};

// The store has a third measurement no catalog provides, so that a strategy
// writing back more than the catalog's cells (v0, v1 stage whole epoch slabs)
// would show up as stray values there.
inline const std::vector<std::string> kStoreMeasurements = {"auto", "aper", "iso"};
constexpr uint64_t kCatalogMeasurements = 2;  // auto, aper
constexpr uint64_t kValues = 2;               // mag, mag_err

// Whether object `o` is in epoch `e`'s catalog: about one in eleven is not,
// as real epochs miss faint objects, so every populate leaves cells of its
// epoch and partition that must stay NaN.
inline bool detected(uint64_t object, uint64_t epoch) { return (object * 7 + epoch * 3) % 11 != 0; }

// The catalog value of a cell: distinct for every cell and exact in float32
// (all below 2^24), so a value landing in another cell is caught as well as a
// lost one.
inline double catalog_value(uint64_t object, uint64_t measurement, uint64_t value, uint64_t epoch) {
  return static_cast<double>(((object * 4 + measurement) * 2 + value) * 16 + epoch + 1);
}

inline std::string epoch_key(uint64_t epoch) { return fmt::format("e{}", epoch); }
// populate() keys objects by NUMBER, which SExtractor counts from 1.
inline int64_t object_number(uint64_t object) { return static_cast<int64_t>(object) + 1; }

// A SExtractor-like catalog of `objects` at `epoch`, rows in reverse order
// (populate must not depend on catalog order); epoch < 0 gives the detection
// catalog the store's objects come from, in order.
inline catalog::Table synthetic_catalog(const std::vector<uint64_t>& objects, int64_t epoch) {
  const size_t rows = objects.size();
  std::vector<int64_t> number(rows);
  std::vector<double> ra(rows), dec(rows), x(rows), y(rows);
  std::vector<std::vector<double>> values(kCatalogMeasurements * kValues, std::vector<double>(rows));
  for (size_t row = 0; row < rows; ++row) {
    const uint64_t o = objects[epoch < 0 ? row : rows - 1 - row];
    number[row] = object_number(o);
    ra[row] = 150.0 + 0.001 * static_cast<double>(o);
    dec[row] = 2.0 + 0.0005 * static_cast<double>(o);
    x[row] = 10.0 + static_cast<double>(o % 20) * 50.0;
    y[row] = 10.0 + static_cast<double>(o / 20) * 50.0;
    for (uint64_t m = 0; m < kCatalogMeasurements; ++m) {
      for (uint64_t v = 0; v < kValues; ++v) {
        values[m * kValues + v][row] = epoch < 0 ? 20.0 : catalog_value(o, m, v, static_cast<uint64_t>(epoch));
      }
    }
  }
  catalog::Table table(epoch < 0 ? "detections" : fmt::format("synthetic catalog of {}", epoch_key(epoch)));
  table.add_column(catalog::Column("NUMBER", std::move(number)));
  table.add_column(catalog::Column("ALPHA_J2000", std::move(ra)));
  table.add_column(catalog::Column("DELTA_J2000", std::move(dec)));
  table.add_column(catalog::Column("X_IMAGE", std::move(x)));
  table.add_column(catalog::Column("Y_IMAGE", std::move(y)));
  // Measurement m of kStoreMeasurements, value v of {mag, mag_err}.
  const char* names[kCatalogMeasurements][kValues] = {{"MAG_AUTO", "MAGERR_AUTO"}, {"MAG_APER", "MAGERR_APER"}};
  for (uint64_t m = 0; m < kCatalogMeasurements; ++m) {
    for (uint64_t v = 0; v < kValues; ++v)
      table.add_column(catalog::Column(names[m][v], std::move(values[m * kValues + v])));
  }
  return table;
}

// One populate() call of a worker.
struct PlannedPopulate {
  std::string epoch;
  catalog::Table catalog;
  uint64_t values;  // cells it writes
  // Unique per call, so that the journal records every populate (two writers
  // of one epoch with one id would make the second a journaled no-op).
  std::string journal_id;
};

// Everything a scenario writes and what the store must hold afterwards,
// computed once and shared (read-only) by all workers and repetitions.
struct PopulatePlan {
  explicit PopulatePlan(const PopulateScenario& s) : scenario(s) {
    std::vector<uint64_t> all(s.objects);
    for (uint64_t o = 0; o < s.objects; ++o) all[o] = o;
    catalog::Table detections = synthetic_catalog(all, -1);
    create_options.objects = lightcurve::ObjectTable::from_catalog(detections, catalog::ColumnMapping(detections, {}));
    std::vector<std::string> epochs;
    for (uint64_t e = 0; e < s.epochs; ++e) epochs.push_back(epoch_key(e));
    create_options.epochs = lightcurve::EpochTable::from_keys(epochs);
    create_options.measurements = kStoreMeasurements;
    create_options.object_chunk = s.object_chunk;
    // Compressed chunks: a torn chunk would fail to decode rather than pass
    // as plausible floats.
    create_options.codecs = {"zstd:1"};

    expected.assign(cell_count(), NAN);
    journal_entries.assign(s.epochs, 0);
    const uint64_t chunks_per_epoch = (s.objects + s.object_chunk - 1) / s.object_chunk;
    std::vector<std::vector<int>> chunk_writers(s.epochs * chunks_per_epoch);  // workers, by (epoch, chunk)
    const auto workers = static_cast<uint64_t>(s.workers);
    work.resize(workers);
    for (uint64_t w = 0; w < workers; ++w) {
      const bool by_objects = s.split == PopulateScenario::Split::kObjects;
      const uint64_t first = by_objects ? w * s.objects / workers : 0;
      const uint64_t end = by_objects ? (w + 1) * s.objects / workers : s.objects;
      for (uint64_t e = by_objects ? 0 : w; e < s.epochs; e += by_objects ? 1 : workers) {
        std::vector<uint64_t> objects;
        for (uint64_t o = first; o < end; ++o) {
          if (!detected(o, e)) continue;
          objects.push_back(o);
          for (uint64_t m = 0; m < kCatalogMeasurements; ++m) {
            for (uint64_t v = 0; v < kValues; ++v)
              expected[index(o, m, v, e)] = static_cast<float>(catalog_value(o, m, v, e));
          }
          std::vector<int>& writers = chunk_writers[e * chunks_per_epoch + o / s.object_chunk];
          if (writers.empty() || writers.back() != static_cast<int>(w)) writers.push_back(static_cast<int>(w));
        }
        const uint64_t values = objects.size() * kCatalogMeasurements * kValues;
        work[w].push_back({epoch_key(e), synthetic_catalog(objects, static_cast<int64_t>(e)), values,
                           fmt::format("worker {} {}", w, epoch_key(e))});
        ++journal_entries[e];
        ++populates;
      }
    }
    for (const std::vector<int>& writers : chunk_writers) shared_chunks += writers.size() > 1;
    // Object partitions that share no chunk would not test what they are for.
    if (s.split == PopulateScenario::Split::kObjects && s.workers > 1 && shared_chunks == 0) {
      throw std::logic_error(fmt::format("{}: no chunk is shared by two partitions", s.name));
    }
  }

  uint64_t cell_count() const { return scenario.objects * kStoreMeasurements.size() * kValues * scenario.epochs; }
  // Position of a cell in the C-order write layout [object, measurement, value, epoch].
  uint64_t index(uint64_t o, uint64_t m, uint64_t v, uint64_t e) const {
    return ((o * kStoreMeasurements.size() + m) * kValues + v) * scenario.epochs + e;
  }

  const PopulateScenario& scenario;
  lightcurve::CreateOptions create_options;
  std::vector<std::vector<PlannedPopulate>> work;  // by worker
  std::vector<float> expected;                     // the final write layout; NaN where nothing is written
  std::vector<uint64_t> journal_entries;           // completed populates by epoch
  uint64_t populates = 0;
  uint64_t shared_chunks = 0;  // write-layout chunks that more than one worker writes
};

inline LightCurveStore create_store(const std::filesystem::path& directory, const PopulatePlan& plan) {
  return LightCurveStore::create(std::make_shared<DirectoryStore>(directory), plan.create_options);
}

// Runs worker `worker`'s populates. Throws when a populate reports other
// counts than planned: in a child process, only the exit status reaches the
// test.
inline void run_populates(LightCurveStore& store, const PopulatePlan& plan, int worker, Strategy strategy) {
  for (const PlannedPopulate& planned : plan.work.at(static_cast<size_t>(worker))) {
    lightcurve::PopulateResult result =
        store.populate(planned.epoch, planned.catalog, {.strategy = strategy, .journal_id = planned.journal_id});
    if (result.already_done || result.values_written != planned.values || result.unknown_objects_skipped != 0) {
      throw std::runtime_error(fmt::format("worker {} populating {}: {} values written, {} planned{}", worker,
                                           planned.epoch, result.values_written, planned.values,
                                           result.already_done ? " (skipped as already done)" : ""));
    }
  }
}

// What a run did wrong, counted over every cell of the write layout.
struct Damage {
  uint64_t lost = 0;     // written cells that read NaN
  uint64_t wrong = 0;    // written cells that hold another value
  uint64_t stray = 0;    // cells nothing wrote that are not NaN
  uint64_t journal = 0;  // populates missing from the journal (entries or generation bumps)
  uint64_t runs = 0;
  uint64_t damaged_runs = 0;

  uint64_t values() const { return lost + wrong + stray; }
  bool clean() const { return values() + journal == 0; }
  Damage& operator+=(const Damage& other) {
    lost += other.lost;
    wrong += other.wrong;
    stray += other.stray;
    journal += other.journal;
    runs += other.runs;
    damaged_runs += other.damaged_runs;
    return *this;
  }
};

inline std::ostream& operator<<(std::ostream& out, const Damage& damage) {
  return out << damage.lost << " lost, " << damage.wrong << " wrong and " << damage.stray << " stray values, "
             << damage.journal << " journal entries missing; " << damage.damaged_runs << " of " << damage.runs
             << " runs damaged";
}

// Opens the store in `directory` afresh (another process's view) and checks
// every cell of the write layout against the plan, and that the journal
// recorded every populate: two generation bumps and one entry each.
inline Damage check_store(const std::filesystem::path& directory, const PopulatePlan& plan) {
  auto store = std::make_shared<DirectoryStore>(directory);
  const LightCurveStore opened = LightCurveStore::open(store);
  const zarr::Array& layout = opened.write_layout();
  const std::vector<float> cells = layout.read<float>(zarr::select_all(layout.shape()));
  Damage damage;
  damage.runs = 1;
  for (uint64_t i = 0; i < cells.size(); ++i) {
    const float want = plan.expected[i], got = cells[i];
    if (std::isnan(want)) {
      damage.stray += !std::isnan(got);
    } else if (std::isnan(got)) {
      ++damage.lost;
    } else {
      damage.wrong += got != want;
    }
  }
  const lightcurve::JournalState journal = lightcurve::Journal(*store).read();
  const uint64_t generation = journal.generation;
  damage.journal += generation < 2 * plan.populates ? (2 * plan.populates - generation + 1) / 2 : 0;
  for (uint64_t e = 0; e < plan.scenario.epochs; ++e) {
    auto history = journal.epochs.find(epoch_key(e));
    const auto recorded =
        history == journal.epochs.end()
            ? 0
            : static_cast<uint64_t>(std::count_if(history->second.begin(), history->second.end(),
                                                  [](const auto& record) { return record.completed; }));
    damage.journal += recorded < plan.journal_entries[e] ? plan.journal_entries[e] - recorded : 0;
  }
  damage.damaged_runs = damage.clean() ? 0 : 1;
  return damage;
}

// Empties a populated store again: without the write layout's chunks every
// value reads as the fill value (NaN), and without the journal the
// generation is 0, which is exactly the state create() leaves. Verified, as a
// value left over from the previous run would hide a lost one.
inline void reset_store(const std::filesystem::path& directory) {
  auto store = std::make_shared<DirectoryStore>(directory);
  for (const std::string& key : store->list(std::string(lightcurve::layout::kWriteLayout) + "/")) {
    if (!key.ends_with("zarr.json")) store->erase(key);
  }
  for (const std::string& key : store->list(".lcstore/")) store->erase(key);
  const zarr::Array layout = LightCurveStore::open(store).write_layout();
  for (float value : layout.read<float>(zarr::select_all(layout.shape()))) {
    if (!std::isnan(value)) throw std::runtime_error("the store still holds values after the reset");
  }
  if (lightcurve::Journal(*store).generation() != 0) throw std::runtime_error("the journal survived the reset");
}

// Repeats a scenario: `run_workers(directory)` populates an empty store, then
// every cell is checked. Returns the damage over all repetitions.
//
// The repetitions share one store, emptied in between, rather than create a
// store each: where creating a file gets slower the more files were deleted
// in the last half minute (ext4 without a journal steps over each recently
// freed inode, as on the development machine), creating and removing a whole
// store per repetition made these tests several times slower.
template <typename RunWorkers>
Damage repeat_scenario(const PopulatePlan& plan, int repetitions, RunWorkers&& run_workers) {
  Damage damage;
  TempDir directory;
  create_store(directory.path(), plan);
  for (int repetition = 0; repetition < repetitions; ++repetition) {
    if (repetition > 0) reset_store(directory.path());
    run_workers(directory.path());
    damage += check_store(directory.path(), plan);
  }
  return damage;
}

// Test names: "ObjectPartitions_v1".
inline std::string scenario_name(const PopulateScenario& scenario, Strategy strategy) {
  return fmt::format("{}_{}", scenario.name, lightcurve::to_string(strategy));
}

}  // namespace lcstore::testing

namespace lcstore::lightcurve {
// Test parameters print as "v1" rather than as raw bytes.
inline void PrintTo(Strategy strategy, std::ostream* out) { *out << to_string(strategy); }
}  // namespace lcstore::lightcurve
