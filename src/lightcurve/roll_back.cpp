// Putting back what a killed populate's cells held (see journal.h for what
// a running populate keeps for this).
#include <fmt/core.h>

#include <charconv>
#include <cstring>
#include <set>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lightcurve/journal.h"
#include "lightcurve/layout.h"

namespace lcstore::lightcurve {

using zarr::DimSelection;
using zarr::Selection;

namespace {

// An unfinished populate with its record and the values to put back.
struct Found {
  UnfinishedPopulate populate;
  PopulateRecord record;
  std::optional<Bytes> undo;
};

// Why a killed populate `history[i]` cannot be rolled back, or "" if it can.
std::string obstacle(const std::vector<PopulateRecord>& history, size_t i, const std::optional<Bytes>& undo,
                     uint64_t n_values) {
  const PopulateRecord& record = history[i];
  if (record.cells.every_cell) return "its record does not say which cells it wrote (an older lcstore began it)";
  if (std::optional<size_t> other = overlapping_since(history, i)) {
    return fmt::format("the populate from {} (began at generation {}) wrote some of its cells since it began",
                       history[*other].details.value("catalog", history[*other].entry), history[*other].began);
  }
  const uint64_t cells = record.cells.object_rows().size() * record.cells.measurements.size() * n_values;
  if (undo && !undo->empty() && undo->size() != cells * sizeof(float)) {
    return fmt::format("its undo record {} holds {} bytes, not the {} of its {} cells", undo_key(record.began),
                       undo->size(), cells * sizeof(float), cells);
  }
  return "";
}

// Puts `undo` (see undo_key) back into the cells at `epoch`.
void put_back(zarr::Array& write_layout, uint64_t n_values, uint64_t epoch, const CellRanges& cells,
              const Bytes& undo) {
  std::vector<uint64_t> rows = cells.object_rows();
  std::vector<float> before(rows.size() * cells.measurements.size() * n_values,
                            layout::float32_fill_value(write_layout.metadata()));
  // An empty record: every cell held the fill value.
  if (!undo.empty()) std::memcpy(before.data(), undo.data(), undo.size());
  const Selection selection = {DimSelection::indices(std::move(rows)), DimSelection::indices(cells.measurements),
                               DimSelection::all(n_values), DimSelection::range(epoch, epoch + 1)};
  write_layout.write(selection, std::span<const float>(before));
}

std::vector<Found> find_unfinished(Store& store, const JournalState& journal, uint64_t n_values) {
  std::vector<Found> found;
  for (const auto& [epoch, history] : journal.epochs) {
    for (size_t i = 0; i < history.size(); ++i) {
      const PopulateRecord& record = history[i];
      if (record.completed) continue;
      Found unfinished{
          .populate = {.epoch = epoch, .catalog = record.details.value("catalog", record.entry), .began = record.began},
          .record = record};
      UnfinishedPopulate& populate = unfinished.populate;
      const nlohmann::json running_lock = record.details.value("running_lock", nlohmann::json());
      if (!running_lock.is_number_unsigned()) {
        populate.reason = "its record does not say whether it still runs (an older lcstore began it)";
      } else if (!store.try_lock(kRunningPopulates, running_lock.get<uint64_t>())) {
        populate.state = UnfinishedPopulate::State::kRunning;
      } else {
        unfinished.undo = store.get(undo_key(record.began));
        populate.reason = obstacle(history, i, unfinished.undo, n_values);
        if (populate.reason.empty()) populate.state = UnfinishedPopulate::State::kKilled;
      }
      found.push_back(std::move(unfinished));
    }
  }
  return found;
}

}  // namespace

const char* to_string(UnfinishedPopulate::State state) {
  switch (state) {
    case UnfinishedPopulate::State::kRunning:
      return "running";
    case UnfinishedPopulate::State::kKilled:
      return "killed";
    case UnfinishedPopulate::State::kRolledBack:
      return "rolled_back";
    case UnfinishedPopulate::State::kNeedsRerun:
      return "needs_rerun";
  }
  return "?";
}

std::vector<UnfinishedPopulate> LightCurveStore::unfinished_populates() const {
  std::vector<UnfinishedPopulate> populates;
  for (Found& found : find_unfinished(*store_, Journal(*store_).read(), values_.size()))
    populates.push_back(std::move(found.populate));
  return populates;
}

std::vector<UnfinishedPopulate> LightCurveStore::roll_back_killed_populates() {
  Journal journal(*store_);
  std::vector<Found> found = find_unfinished(*store_, journal.read(), values_.size());
  for (const Found& unfinished : found) {
    if (unfinished.populate.state == UnfinishedPopulate::State::kRunning) {
      throw Error(ErrorKind::kInvalidArgument, store_->describe(""),
                  fmt::format("the populate of epoch {} from {} (began at generation {}) is running; roll back only "
                              "while no populate runs",
                              unfinished.populate.epoch, unfinished.populate.catalog, unfinished.populate.began));
    }
  }
  for (Found& unfinished : found) {
    if (unfinished.populate.state != UnfinishedPopulate::State::kKilled) continue;
    // No undo record: killed before its first write.
    if (unfinished.undo) {
      put_back(write_layout_, values_.size(), epoch_index(unfinished.populate.epoch), unfinished.record.cells,
               *unfinished.undo);
      store_->sync();
    }
    journal.abandon(unfinished.populate.epoch, unfinished.populate.began);
    store_->erase(undo_key(unfinished.populate.began));
    unfinished.populate.state = UnfinishedPopulate::State::kRolledBack;
  }
  // Undo records of populates that finished (an erase that failed, or a
  // killed record that a rerun of it replaced).
  std::set<uint64_t> kept;
  for (const Found& unfinished : found) {
    if (unfinished.populate.state != UnfinishedPopulate::State::kRolledBack) kept.insert(unfinished.populate.began);
  }
  for (const std::string& key : store_->list(kUndoPrefix)) {
    const std::string_view name = std::string_view(key).substr(kUndoPrefix.size());
    uint64_t began = 0;
    const auto [end, failure] = std::from_chars(name.data(), name.data() + name.size(), began);
    if (failure != std::errc() || end != name.data() + name.size() || !kept.contains(began)) store_->erase(key);
  }
  std::vector<UnfinishedPopulate> populates;
  for (Found& unfinished : found) populates.push_back(std::move(unfinished.populate));
  return populates;
}

}  // namespace lcstore::lightcurve
