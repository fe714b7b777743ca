// Growing a store along its epochs.
//
// The order of a growth, all under the layout and derived-variable locks
// (so no rechunk, calibration, feature run or other growth runs beside it):
//  1. the new cells of the one-dimensional epoch arrays (the `epoch`
//     coordinate, every `epoch_<name>` variable) are written with the grown
//     shape into chunks beyond the published shape, where no reader of that
//     shape looks: the chunk shape never changes, so an edge chunk that gains
//     cells still decodes for the old shape;
//  2. the journal generation is bumped: the read layout goes stale;
//  3. one atomic write of the root zarr.json publishes the grown document of
//     every array with an epoch dimension in its consolidated metadata, the
//     snapshot that lcstore and zarr-python (xarray) readers open;
//  4. each array's own zarr.json is given its grown shape (complete_growth).
// No chunk of the light-curve arrays is written: their new cells are absent
// chunks, read as the fill value. A writer killed before 3 leaves the store
// as it was (the cells written beyond the shape are overwritten by the next
// growth); one killed after 3 leaves it grown, and the next holder of the
// layout lock (add_epochs, rechunk) finishes 4.
#include "lightcurve/grow.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <unordered_set>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/zarr/group.h"
#include "lightcurve/journal.h"
#include "lightcurve/layout.h"

namespace lcstore::lightcurve {

using nlohmann::json;
using zarr::Array;
using zarr::ArrayMetadata;
using zarr::DataType;
using zarr::DimSelection;
using zarr::Shape;

namespace {

constexpr const char* kEpochVariablePrefix = "epoch_";

std::optional<size_t> epoch_dimension(const json& document) {
  if (!document.contains("dimension_names") || !document["dimension_names"].is_array()) return std::nullopt;
  const json& names = document["dimension_names"];
  for (size_t d = 0; d < names.size(); ++d) {
    if (names[d] == "epoch") return d;
  }
  return std::nullopt;
}

// The arrays with an epoch dimension that the root's consolidated metadata records.
std::vector<std::string> epoch_arrays(const zarr::Group& root) {
  std::vector<std::string> paths;
  for (const auto& [path, document] : root.metadata().consolidated_nodes) {
    if (document.contains("node_type") && document["node_type"] == "array" && epoch_dimension(document))
      paths.push_back(path);
  }
  return paths;
}

// Whether `grown` is `shape` longer along dimension `d` only.
bool longer_along(const Shape& shape, const Shape& grown, size_t d) {
  if (shape.size() != grown.size() || grown[d] <= shape[d]) return false;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k != d && shape[k] != grown[k]) return false;
  }
  return true;
}

// The requested epochs whose keys `known` lacks, each once.
EpochTable unknown_epochs(const EpochTable& requested, const std::vector<std::string>& known) {
  std::unordered_set<std::string> seen(known.begin(), known.end());
  std::vector<size_t> rows;
  for (size_t row = 0; row < requested.keys.size(); ++row) {
    if (seen.insert(requested.keys[row]).second) rows.push_back(row);
  }
  EpochTable added;
  for (size_t row : rows) added.keys.push_back(requested.keys[row]);
  for (const EpochTable::Variable& variable : requested.variables) {
    EpochTable::Variable picked{variable.name, {}};
    std::visit(
        [&](const auto& values) {
          std::decay_t<decltype(values)> kept;
          for (size_t row : rows) kept.push_back(values[row]);
          picked.values = std::move(kept);
        },
        variable.values);
    added.variables.push_back(std::move(picked));
  }
  return added;
}

// Every variable requested must be one of the store's, of the same kind.
void check_variables(const EpochTable& requested, const EpochTable& store_epochs) {
  for (const EpochTable::Variable& variable : requested.variables) {
    auto same_name = [&](const EpochTable::Variable& other) { return other.name == variable.name; };
    auto found = std::find_if(store_epochs.variables.begin(), store_epochs.variables.end(), same_name);
    if (found == store_epochs.variables.end()) {
      throw Error(ErrorKind::kBadInput, "epoch variable " + variable.name,
                  "the store has no such epoch variable; new epochs can only give values of the store's variables");
    }
    if (found->values.index() != variable.values.index()) {
      throw Error(ErrorKind::kBadInput, "epoch variable " + variable.name,
                  "is numeric in one of the store and the epoch table and text in the other");
    }
  }
}

// Writes the new epochs' cells [first, first + keys) of a one-dimensional
// epoch array: their keys, their variable's values, or the fill value.
void write_new_cells(const Array& grown, uint64_t first, const EpochTable& added) {
  Array array = grown;
  const zarr::Selection cells = {DimSelection::range(first, first + added.keys.size())};
  if (array.path() == "epoch") {
    array.write_strings(cells, added.keys);
    return;
  }
  if (!array.path().starts_with(kEpochVariablePrefix)) return;  // holds no value of a new epoch yet
  const std::string name = array.path().substr(std::string(kEpochVariablePrefix).size());
  auto same_name = [&](const EpochTable::Variable& variable) { return variable.name == name; };
  auto given = std::find_if(added.variables.begin(), added.variables.end(), same_name);
  if (array.data_type() == DataType::kString) {
    array.write_strings(cells, given == added.variables.end() ? std::vector<std::string>(added.keys.size())
                                                              : std::get<std::vector<std::string>>(given->values));
  } else {
    const std::vector<double> fill(added.keys.size(), std::numeric_limits<double>::quiet_NaN());
    array.write(cells, std::span<const double>(
                           given == added.variables.end() ? fill : std::get<std::vector<double>>(given->values)));
  }
}

}  // namespace

namespace {

// The arrays whose own zarr.json is shorter along epochs than the root's
// consolidated metadata records, with the metadata they should have.
std::vector<std::pair<std::string, ArrayMetadata>> unfinished_growth(const std::shared_ptr<Store>& store) {
  const zarr::Group root = zarr::Group::open(store, "");
  std::vector<std::pair<std::string, ArrayMetadata>> behind;
  for (const std::string& path : epoch_arrays(root)) {
    const json& recorded = root.metadata().consolidated_nodes.at(path);
    if (!store->get(path + "/zarr.json")) continue;  // removed since (a read layout being rebuilt)
    const Array own = Array::open(store, path);
    const Shape grown = recorded["shape"].get<Shape>();
    if (!longer_along(own.shape(), grown, *epoch_dimension(recorded))) continue;
    behind.emplace_back(path, own.metadata());
    behind.back().second.shape = grown;
  }
  return behind;
}

}  // namespace

void complete_growth(const std::shared_ptr<Store>& store) {
  for (const auto& [path, metadata] : unfinished_growth(store)) Array::create(store, path, metadata);
}

uint64_t LightCurveStore::add_epochs(const EpochTable& epochs) {
  epochs.check();
  // Epochs are never removed: what this object knows is there still, and
  // unless a killed growth is to be finished the locks need not be waited for.
  if (unknown_epochs(epochs, epochs_.keys).keys.empty() && unfinished_growth(store_).empty()) {
    check_variables(epochs, epochs_);
    return 0;
  }
  auto layouts = store_->lock(".lcstore", layout::kLayoutLockSlot);
  auto derived = store_->lock(".lcstore", layout::kDerivedLockSlot);
  zarr::Group root = zarr::Group::open(store_, "");
  if (root.metadata().consolidated != zarr::GroupMetadata::Consolidated::kInline) root.consolidate();
  complete_growth(store_);
  *this = open(store_);
  check_variables(epochs, epochs_);
  const EpochTable added = unknown_epochs(epochs, epochs_.keys);
  if (added.keys.empty()) return 0;

  const uint64_t before = epochs_.keys.size(), after = before + added.keys.size();
  std::map<std::string, json> grown;
  std::vector<std::string> removed;  // recorded, but gone since (a rechunk killed while rebuilding)
  for (const std::string& path : epoch_arrays(root)) {
    if (!store_->get(path + "/zarr.json")) {
      removed.push_back(path);
      continue;
    }
    ArrayMetadata metadata = Array::open(store_, path).metadata();
    const size_t d = *epoch_dimension(metadata.to_json());
    if (metadata.shape[d] != before) {
      throw Error(ErrorKind::kInvalidMetadata, store_->describe(path),
                  "has " + std::to_string(metadata.shape[d]) + " epochs where the epoch coordinate has " +
                      std::to_string(before));
    }
    metadata.shape[d] = after;
    const Array array = Array::from_metadata(store_, path, metadata);
    if (metadata.shape.size() == 1) write_new_cells(array, before, added);
    grown[path] = array.metadata().to_json();
  }
  Journal(*store_).advance();
  root.update_metadata([&](zarr::GroupMetadata& metadata) {
    for (const auto& [path, document] : grown) metadata.consolidated_nodes[path] = document;
    for (const std::string& path : removed) metadata.consolidated_nodes.erase(path);
    metadata.attributes["n_epochs"] = after;
  });
  complete_growth(store_);
  *this = open(store_);
  return added.keys.size();
}

}  // namespace lcstore::lightcurve
