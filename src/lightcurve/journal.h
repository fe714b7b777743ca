// The populate journal of a light-curve store: for each epoch, the ordered
// history of the populates that wrote it (the cells each touched, when each
// began and completed), and a generation number that every populate bumps
// when it starts and when it completes, so the read layout can tell whether
// it is still current.
//
// A populate's cells still hold its values when it completed and every other
// populate of its epoch that touched any of the same cells (objects x
// measurements) completed before it began; a rerun of it is then skipped.
// Populates of disjoint objects (writers partitioned by object) all keep
// their cells; two that overlapped in time on shared cells left each cell
// with either's value, so neither holds its cells.
//
// One JSON document beside the zarr nodes (`.lcstore/journal.json`), changed
// only by read-modify-write under the store lock `.lcstore`, slot 0, so any
// number of processes may journal at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lcstore/storage/store.h"

namespace lcstore::lightcurve {

// The cells of one epoch that a populate writes (every value of each).
struct CellRanges {
  // `count` object rows from `first` on, `step` apart: a whole catalog is
  // one run, and so is every n-th object of a writer partitioned by object.
  struct Run {
    uint64_t first = 0, count = 1, step = 1;
    uint64_t last() const { return first + (count - 1) * step; }
    bool operator==(const Run& other) const = default;
  };
  // Ascending: each run starts after the last row of the one before.
  std::vector<Run> objects;
  std::vector<uint64_t> measurements;  // ascending
  // Every cell: a record of an lcstore that did not journal cells.
  bool every_cell = false;

  // From ascending object rows.
  static CellRanges of(const std::vector<uint64_t>& object_rows, std::vector<uint64_t> measurements);
  // The object rows of `objects`, ascending.
  std::vector<uint64_t> object_rows() const;
  bool overlaps(const CellRanges& other) const;
  bool operator==(const CellRanges& other) const = default;
};

// One populate of an epoch.
struct PopulateRecord {
  std::string entry;  // what it wrote (catalog content and mapping); empty: not journaled by content
  uint64_t began = 0;
  std::optional<uint64_t> completed;  // absent while it runs, or if it was killed
  CellRanges cells;
  nlohmann::json details = nlohmann::json::object();  // catalog, strategy, counts
};

struct JournalState {
  uint64_t generation = 0;
  std::map<std::string, std::vector<PopulateRecord>> epochs;  // each in the order the populates began
};

// The first other populate of the history that touched any of history[i]'s
// cells and had not completed when history[i] began (or began later).
std::optional<size_t> overlapping_since(const std::vector<PopulateRecord>& history, size_t i);
// Whether history[i]'s cells still hold its values (see the top of this file):
// it completed and overlapping_since finds none.
bool holds_its_cells(const std::vector<PopulateRecord>& history, size_t i);

// What a running populate keeps so that its cells can be put back if its
// process dies (LightCurveStore::roll_back_killed_populates):
//  * while it runs it holds lock `running_lock` (a detail of its record) of
//    this lock space, so a check can tell it from a killed one;
//  * before its first write it stores what its cells held, as the key
//    undo_key(began): float32 in this machine's byte order, in the order of its cells
//    (objects, measurements, values), or empty when every cell held the
//    fill value. A populate without one has written nothing.
constexpr std::string_view kRunningPopulates = ".lcstore/running";
constexpr std::string_view kUndoPrefix = ".lcstore/undo/";
std::string undo_key(uint64_t began);

class Journal {
 public:
  explicit Journal(Store& store) : store_(store) {}

  // The recorded state; generation 0 and no epochs for a new store. Throws
  // Error(kCorruptData) for a document that is not a journal.
  JournalState read() const;
  uint64_t generation() const;
  // Whether the store holds what a populate of `entry_id` into `epoch` writes.
  bool current(const std::string& epoch, const std::string& entry_id) const;
  // A change of the light curves other than a populate (rechunk) is
  // starting: bumps the generation and returns the new one.
  uint64_t advance();
  // A populate of `cells` is starting: bumps the generation and records the
  // populate as running, with `details` (its catalog) until it completes;
  // returns the generation, which names it below.
  uint64_t begin(const std::string& epoch, const std::string& entry_id, const CellRanges& cells,
                 nlohmann::json details = nlohmann::json::object());
  // Whether the populate `began` is recorded as completed.
  bool completed(const std::string& epoch, uint64_t began) const;
  // The populate `began` completed: bumps the generation and records it with
  // `details`, dropping the earlier records of the same entry and cells
  // (which wrote the same values), completed or not; returns when those began.
  std::vector<uint64_t> complete(const std::string& epoch, uint64_t began, nlohmann::json details);
  // The populate `began` failed, or was killed, and its cells hold again
  // what they held before: its record goes, and so does its bump of the
  // generation unless another change began since.
  void abandon(const std::string& epoch, uint64_t began);

 private:
  void change(const std::function<void(JournalState&)>& edit);

  Store& store_;
};

}  // namespace lcstore::lightcurve
