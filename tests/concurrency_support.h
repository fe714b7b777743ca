// The write scenarios of the concurrency tests, shared by the thread and the
// process variants: several writers own disjoint, interleaved objects of an
// array whose chunks they all share, and each writes its objects for every
// epoch with one of the three populate patterns.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "lcstore/zarr/array.h"

namespace lcstore::testing {

using zarr::DimSelection;
using zarr::Selection;
using zarr::Shape;

// Runs `work` in a child process; returns its pid. The child exits 0 when
// work returns, 1 when it throws.
pid_t start_child(const std::function<void()>& work) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int status = 0;
    try {
      work();
    } catch (const std::exception& error) {
      std::fprintf(stderr, "child %d: %s\n", ::getpid(), error.what());
      status = 1;
    }
    std::_Exit(status);
  }
  return pid;
}

// Waits for a child; returns its wait status.
inline int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// How many times each stress scenario repeats: 200 by default, fewer under
// the sanitizers (LCSTORE_STRESS_REPETITIONS), which run 5-20x slower.
inline int stress_repetitions(int default_count) {
  const char* configured = std::getenv("LCSTORE_STRESS_REPETITIONS");
  return configured ? std::max(1, std::atoi(configured)) : default_count;
}

// The three ways the original Python system populated an epoch.
enum class Pattern {
  kScatter,            // v2: orthogonal write of the writer's own cells
  kRegionTransaction,  // v1: read the epoch slab, modify, write back
  kMaskedSlab,         // v0: stage the whole slab, commit the non-fill cells
};

inline const char* name_of(Pattern pattern) {
  switch (pattern) {
    case Pattern::kScatter:
      return "scatter";
    case Pattern::kRegionTransaction:
      return "region_transaction";
    case Pattern::kMaskedSlab:
      return "masked_slab";
  }
  return "?";
}

// [object, measurement, value, epoch]; one epoch per chunk and all objects in
// one chunk, so every writer touches every chunk.
struct Scenario {
  Shape shape{64, 4, 2, 6};
  Shape chunks{64, 4, 2, 1};
  int writers = 4;
};

inline zarr::ArrayMetadata scenario_metadata(const Scenario& scenario) {
  zarr::ArrayMetadata metadata;
  metadata.shape = scenario.shape;
  metadata.chunk_shape = scenario.chunks;
  metadata.data_type = zarr::DataType::kFloat32;
  metadata.fill_value = zarr::FillValue::of(NAN);
  metadata.codecs = {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                     {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}}};
  return metadata;
}

// One int64 cell, for counters incremented by region transactions.
inline zarr::ArrayMetadata counter_metadata() {
  zarr::ArrayMetadata metadata;
  metadata.shape = {1};
  metadata.chunk_shape = {1};
  metadata.data_type = zarr::DataType::kInt64;
  metadata.fill_value = zarr::FillValue::of<int64_t>(0);
  metadata.codecs = {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}};
  return metadata;
}

// The value every test expects at a cell; distinct for every cell.
inline float cell_value(uint64_t object, uint64_t measurement, uint64_t value, uint64_t epoch) {
  return static_cast<float>(object * 1000 + measurement * 100 + value * 10 + epoch + 1);
}

// Interleaved ownership (0, 4, 8, ... for writer 0 of 4) so that neighbouring
// cells of every chunk belong to different writers.
inline std::vector<uint64_t> objects_of(int writer, const Scenario& scenario) {
  std::vector<uint64_t> objects;
  for (uint64_t object = static_cast<uint64_t>(writer); object < scenario.shape[0];
       object += static_cast<uint64_t>(scenario.writers)) {
    objects.push_back(object);
  }
  return objects;
}

inline Selection epoch_slab(const Scenario& scenario, uint64_t epoch) {
  return {DimSelection::all(scenario.shape[0]), DimSelection::all(scenario.shape[1]),
          DimSelection::all(scenario.shape[2]), DimSelection::range(epoch, epoch + 1)};
}

// Sets the writer's cells of one epoch slab (C order [object, measurement, value, 1]).
inline void fill_own_cells(std::span<float> slab, const std::vector<uint64_t>& objects, const Scenario& scenario,
                           uint64_t epoch) {
  const uint64_t per_object = scenario.shape[1] * scenario.shape[2];
  for (uint64_t object : objects) {
    for (uint64_t m = 0; m < scenario.shape[1]; ++m) {
      for (uint64_t v = 0; v < scenario.shape[2]; ++v) {
        slab[object * per_object + m * scenario.shape[2] + v] = cell_value(object, m, v, epoch);
      }
    }
  }
}

inline void run_writer(zarr::Array& array, Pattern pattern, int writer, const Scenario& scenario) {
  const std::vector<uint64_t> objects = objects_of(writer, scenario);
  const uint64_t slab_cells = scenario.shape[0] * scenario.shape[1] * scenario.shape[2];
  for (uint64_t epoch = 0; epoch < scenario.shape[3]; ++epoch) {
    switch (pattern) {
      case Pattern::kScatter: {
        std::vector<float> values;
        for (uint64_t object : objects) {
          for (uint64_t m = 0; m < scenario.shape[1]; ++m) {
            for (uint64_t v = 0; v < scenario.shape[2]; ++v) values.push_back(cell_value(object, m, v, epoch));
          }
        }
        Selection cells{DimSelection::indices(objects), DimSelection::all(scenario.shape[1]),
                        DimSelection::all(scenario.shape[2]), DimSelection::range(epoch, epoch + 1)};
        array.write<float>(cells, values);
        break;
      }
      case Pattern::kRegionTransaction:
        array.update(epoch_slab(scenario, epoch), [&](std::span<std::byte> slab) {
          fill_own_cells({reinterpret_cast<float*>(slab.data()), slab_cells}, objects, scenario, epoch);
        });
        break;
      case Pattern::kMaskedSlab: {
        std::vector<float> slab(slab_cells, NAN);
        fill_own_cells(slab, objects, scenario, epoch);
        array.write<float>(epoch_slab(scenario, epoch), slab, zarr::WriteFilter{.skip_fill_values = true});
        break;
      }
    }
  }
}

// Number of cells that do not hold cell_value(); every cell is checked.
inline uint64_t count_wrong_cells(const zarr::Array& array, const Scenario& scenario) {
  std::vector<float> all = array.read<float>(zarr::select_all(scenario.shape));
  uint64_t wrong = 0, i = 0;
  for (uint64_t o = 0; o < scenario.shape[0]; ++o) {
    for (uint64_t m = 0; m < scenario.shape[1]; ++m) {
      for (uint64_t v = 0; v < scenario.shape[2]; ++v) {
        for (uint64_t e = 0; e < scenario.shape[3]; ++e) wrong += all[i++] != cell_value(o, m, v, e);
      }
    }
  }
  return wrong;
}

}  // namespace lcstore::testing
