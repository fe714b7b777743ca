#include "lightcurve/journal.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "lcstore/error.h"
#include "lcstore/zarr/metadata.h"

namespace lcstore::lightcurve {

using nlohmann::json;

namespace {

constexpr std::string_view kJournalKey = ".lcstore/journal.json";
constexpr std::string_view kLockSpace = ".lcstore";
// The keys of a record that are not its details.
constexpr std::string_view kRecordKeys[] = {"entry", "began", "completed", "objects", "measurements"};

// Whether two ascending lists of measurement rows share one.
bool share(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
    if (*i == *j) return true;
    *i < *j ? ++i : ++j;
  }
  return false;
}

// The object rows of a list of runs in ascending order, with a jump to the
// first row at or after a given one.
class RowCursor {
 public:
  explicit RowCursor(const std::vector<CellRanges::Run>& runs) : runs_(runs) {}
  bool done() const { return run_ == runs_.size(); }
  uint64_t row() const { return runs_[run_].first + index_ * runs_[run_].step; }
  void skip_to(uint64_t target) {
    while (!done() && runs_[run_].last() < target) ++run_, index_ = 0;
    if (done() || target <= runs_[run_].first) return;
    const CellRanges::Run& run = runs_[run_];
    index_ = std::max(index_, (target - run.first + run.step - 1) / run.step);
  }

 private:
  const std::vector<CellRanges::Run>& runs_;
  size_t run_ = 0;
  uint64_t index_ = 0;
};

void check_runs(const std::vector<CellRanges::Run>& runs) {
  const bool valid = std::all_of(runs.begin(), runs.end(), [](const auto& run) {
    return run.count >= 1 && run.step >= 1 && run.count - 1 <= (UINT64_MAX - run.first) / run.step;
  });
  const bool ascending = std::adjacent_find(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
                           return b.first <= a.last();
                         }) == runs.end();
  if (!valid || !ascending) throw Error(ErrorKind::kCorruptData, "objects", "not ascending runs of rows");
}

PopulateRecord parse_record(const json& record) {
  PopulateRecord out{.entry = record.at("entry").get<std::string>(), .began = record.at("began").get<uint64_t>()};
  if (record.contains("completed")) out.completed = record["completed"].get<uint64_t>();
  if (record.contains("objects")) {
    for (const auto& [first, count, step] : record.at("objects").get<std::vector<std::array<uint64_t, 3>>>())
      out.cells.objects.push_back({first, count, step});
    check_runs(out.cells.objects);
    out.cells.measurements = record.at("measurements").get<std::vector<uint64_t>>();
    if (!std::is_sorted(out.cells.measurements.begin(), out.cells.measurements.end()))
      throw Error(ErrorKind::kCorruptData, "measurements", "not ascending");
  } else {
    out.cells.every_cell = true;
  }
  out.details = record;
  for (std::string_view key : kRecordKeys) out.details.erase(std::string(key));
  return out;
}

json record_json(const PopulateRecord& record) {
  json out = record.details;
  out["entry"] = record.entry;
  out["began"] = record.began;
  if (record.completed) out["completed"] = *record.completed;
  if (!record.cells.every_cell) {
    json& runs = out["objects"] = json::array();
    for (const CellRanges::Run& run : record.cells.objects) runs.push_back({run.first, run.count, run.step});
    out["measurements"] = record.cells.measurements;
  }
  return out;
}

// An epoch as an lcstore journaled it before it kept histories: completed
// entries without their cells or order, so none holds its cells but a lone one.
std::vector<PopulateRecord> parse_entries_without_history(const json& entries) {
  std::vector<PopulateRecord> history;
  for (const auto& [entry, details] : entries.items()) {
    history.push_back({.entry = entry,
                       .completed = 0,
                       .cells = {.every_cell = true},
                       .details = details.is_object() ? details : json::object()});
  }
  return history;
}

JournalState parse_state(const json& document) {
  if (!document.at("generation").is_number_unsigned())
    throw Error(ErrorKind::kCorruptData, "generation", "not a count");
  if (!document.at("epochs").is_object()) throw Error(ErrorKind::kCorruptData, "epochs", "not an object");
  JournalState state{.generation = document.at("generation").get<uint64_t>()};
  for (const auto& [epoch, history] : document.at("epochs").items()) {
    if (history.is_object()) {
      state.epochs[epoch] = parse_entries_without_history(history);
      continue;
    }
    for (const json& record : history.get_ref<const json::array_t&>())
      state.epochs[epoch].push_back(parse_record(record));
  }
  return state;
}

std::vector<PopulateRecord>::iterator find_record(std::vector<PopulateRecord>& history, uint64_t began) {
  return std::find_if(history.begin(), history.end(), [&](const PopulateRecord& r) { return r.began == began; });
}

}  // namespace

CellRanges CellRanges::of(const std::vector<uint64_t>& object_rows, std::vector<uint64_t> measurements) {
  CellRanges cells{.measurements = std::move(measurements)};
  for (uint64_t row : object_rows) {
    if (!cells.objects.empty()) {
      Run& run = cells.objects.back();
      if (run.count == 1 && row > run.first) run.step = row - run.first;
      if (row == run.last() + run.step) {
        ++run.count;
        continue;
      }
    }
    cells.objects.push_back({.first = row});
  }
  return cells;
}

bool CellRanges::overlaps(const CellRanges& other) const {
  if (every_cell || other.every_cell) return true;
  if (!share(measurements, other.measurements)) return false;
  RowCursor a(objects), b(other.objects);
  while (!a.done() && !b.done()) {
    if (a.row() == b.row()) return true;
    a.row() < b.row() ? a.skip_to(b.row()) : b.skip_to(a.row());
  }
  return false;
}

std::vector<uint64_t> CellRanges::object_rows() const {
  std::vector<uint64_t> rows;
  for (const Run& run : objects)
    for (uint64_t i = 0; i < run.count; ++i) rows.push_back(run.first + i * run.step);
  return rows;
}

std::optional<size_t> overlapping_since(const std::vector<PopulateRecord>& history, size_t i) {
  const PopulateRecord& record = history[i];
  for (size_t j = 0; j < history.size(); ++j) {
    const PopulateRecord& other = history[j];
    if (j == i || !other.cells.overlaps(record.cells)) continue;
    if (!other.completed || *other.completed >= record.began) return j;
  }
  return std::nullopt;
}

bool holds_its_cells(const std::vector<PopulateRecord>& history, size_t i) {
  return history[i].completed && !overlapping_since(history, i);
}

std::string undo_key(uint64_t began) { return std::string(kUndoPrefix) + std::to_string(began); }

JournalState Journal::read() const {
  std::optional<Bytes> bytes = store_.get(kJournalKey);
  if (!bytes) return {};
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  try {
    return parse_state(zarr::parse_json_document(text, store_.describe(kJournalKey)));
  } catch (const Error&) {
    // not valid JSON, nested too deep, or cells out of order: refused below
  } catch (const json::exception&) {
    // a field missing or of the wrong type
  }
  throw Error(ErrorKind::kCorruptData, store_.describe(kJournalKey), "is not an lcstore journal");
}

uint64_t Journal::generation() const { return read().generation; }

bool Journal::current(const std::string& epoch, const std::string& entry_id) const {
  const JournalState state = read();
  auto found = state.epochs.find(epoch);
  if (found == state.epochs.end()) return false;
  const std::vector<PopulateRecord>& history = found->second;
  for (size_t i = 0; i < history.size(); ++i) {
    if (history[i].entry == entry_id && holds_its_cells(history, i)) return true;
  }
  return false;
}

uint64_t Journal::advance() {
  uint64_t generation = 0;
  change([&](JournalState& state) { generation = ++state.generation; });
  return generation;
}

uint64_t Journal::begin(const std::string& epoch, const std::string& entry_id, const CellRanges& cells, json details) {
  uint64_t generation = 0;
  change([&](JournalState& state) {
    generation = ++state.generation;
    state.epochs[epoch].push_back(
        {.entry = entry_id, .began = generation, .cells = cells, .details = std::move(details)});
  });
  return generation;
}

bool Journal::completed(const std::string& epoch, uint64_t began) const {
  const JournalState state = read();
  auto found = state.epochs.find(epoch);
  if (found == state.epochs.end()) return false;
  return std::any_of(found->second.begin(), found->second.end(),
                     [&](const PopulateRecord& record) { return record.began == began && record.completed; });
}

std::vector<uint64_t> Journal::complete(const std::string& epoch, uint64_t began, json details) {
  // The populate's chunks reach the disk before the journal records it, and
  // the record before the populate returns: after a machine crash the journal
  // never claims cells the disk lacks, so a rerun is skipped only when it may be.
  store_.sync();
  std::vector<uint64_t> dropped;
  change([&](JournalState& state) {
    dropped.clear();
    ++state.generation;
    std::vector<PopulateRecord>& history = state.epochs[epoch];
    auto mine = find_record(history, began);
    // Gone: a populate of the same entry that began later completed first.
    if (mine == history.end()) return;
    mine->completed = state.generation;
    mine->details = std::move(details);
    const PopulateRecord done = *mine;
    // Earlier populates of the same entry and cells wrote the same values:
    // completed, killed midway, or still running.
    std::erase_if(history, [&](const PopulateRecord& r) {
      const bool same = r.began < done.began && !done.entry.empty() && r.entry == done.entry && r.cells == done.cells;
      if (same) dropped.push_back(r.began);
      return same;
    });
  });
  store_.sync();
  return dropped;
}

void Journal::abandon(const std::string& epoch, uint64_t began) {
  change([&](JournalState& state) {
    std::vector<PopulateRecord>& history = state.epochs[epoch];
    if (auto mine = find_record(history, began); mine != history.end()) history.erase(mine);
    if (history.empty()) state.epochs.erase(epoch);
    if (state.generation == began) --state.generation;
  });
}

void Journal::change(const std::function<void(JournalState&)>& edit) {
  auto held = store_.lock(kLockSpace, 0);
  JournalState state = read();
  edit(state);
  json epochs = json::object();
  for (const auto& [epoch, history] : state.epochs) {
    json& records = epochs[epoch] = json::array();
    for (const PopulateRecord& record : history) records.push_back(record_json(record));
  }
  const std::string text = json{{"generation", state.generation}, {"epochs", std::move(epochs)}}.dump(1);
  store_.set(kJournalKey, std::as_bytes(std::span(text)));
}

}  // namespace lcstore::lightcurve
