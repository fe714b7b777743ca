// Growing a store along its epochs or its objects.
//
// The order of a growth along a dimension (`epoch` or `object`), all under
// the layout and derived-variable locks (so no rechunk, calibration, feature
// run or other growth runs beside it):
//  1. the new cells of the one-dimensional arrays along it (its coordinate:
//     `epoch` or `object`; the `epoch_<name>` variables or the object
//     positions) are written with the grown shape into chunks beyond the
//     published shape, where no reader of that shape looks: the chunk shape
//     never changes, so an edge chunk that gains cells still decodes for the
//     old shape;
//  2. the journal generation is bumped: the read layout and the features go
//     stale;
//  3. one atomic write of the root zarr.json publishes the grown document of
//     every array with that dimension in its consolidated metadata, the
//     snapshot that lcstore and zarr-python (xarray) readers open;
//  4. each array's own zarr.json is given its grown shape (complete_growth).
// No chunk of the light-curve arrays is written: their new cells are absent
// chunks, or the cells beyond the old shape of an edge chunk, which hold the
// fill value (a write of an edge chunk keeps what it holds beyond the shape:
// zarr/array.cpp). A writer killed before 3 leaves the store as it was (the
// cells written beyond the shape are overwritten by the next growth); one
// killed after 3 leaves it grown, and the next holder of the layout lock
// (add_epochs, add_objects, rechunk) finishes 4. Growing the objects then
// saves the declination index of the grown store; until it is saved, the
// stale index is rebuilt in memory when a query needs it.
#include "lightcurve/grow.h"

#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <unordered_set>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/zarr/group.h"
#include "lightcurve/declination_index.h"
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
constexpr const char* kEpochDimension = "epoch";
constexpr const char* kObjectDimension = "object";

std::optional<size_t> dimension_of(const json& document, std::string_view dimension) {
  if (!document.contains("dimension_names") || !document["dimension_names"].is_array()) return std::nullopt;
  const json& names = document["dimension_names"];
  for (size_t d = 0; d < names.size(); ++d) {
    if (names[d] == dimension) return d;
  }
  return std::nullopt;
}

bool is_array(const json& document) { return document.contains("node_type") && document["node_type"] == "array"; }

// The arrays along `dimension` that the root's consolidated metadata records.
std::vector<std::string> arrays_along(const zarr::Group& root, std::string_view dimension) {
  std::vector<std::string> paths;
  for (const auto& [path, document] : root.metadata().consolidated_nodes) {
    if (is_array(document) && dimension_of(document, dimension)) paths.push_back(path);
  }
  return paths;
}

// Whether `grown` is `shape` longer along an epoch or object dimension and
// the same along every other.
bool longer(const Shape& shape, const Shape& grown, const json& document) {
  if (shape.size() != grown.size() || shape == grown) return false;
  for (size_t d = 0; d < shape.size(); ++d) {
    const bool growable = dimension_of(document, kEpochDimension) == d || dimension_of(document, kObjectDimension) == d;
    if (grown[d] < shape[d] || (grown[d] > shape[d] && !growable)) return false;
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

// The arrays whose own zarr.json is shorter along epochs or objects than the
// root's consolidated metadata records, with the metadata they should have.
std::vector<std::pair<std::string, ArrayMetadata>> unfinished_growth(const std::shared_ptr<Store>& store) {
  const zarr::Group root = zarr::Group::open(store, "");
  std::vector<std::pair<std::string, ArrayMetadata>> behind;
  for (const auto& [path, recorded] : root.metadata().consolidated_nodes) {
    if (!is_array(recorded)) continue;
    if (!store->get(path + "/zarr.json")) continue;  // removed since (a read layout being rebuilt)
    const Array own = Array::open(store, path);
    const Shape grown = recorded["shape"].get<Shape>();
    if (!longer(own.shape(), grown, recorded)) continue;
    behind.emplace_back(path, own.metadata());
    behind.back().second.shape = grown;
  }
  return behind;
}

// Steps 1-4 of a growth along `dimension` from `before` to `after` cells
// (see the top of this file); `write_new_cells(array, before)` writes the
// new cells of each one-dimensional array along it. The caller holds the
// locks and has finished any earlier growth.
void grow_along(const std::shared_ptr<Store>& store, zarr::Group& root, std::string_view dimension, uint64_t before,
                uint64_t after, const std::function<void(const Array&, uint64_t)>& write_new_cells) {
  std::map<std::string, json> grown;
  std::vector<std::string> removed;  // recorded, but gone since (a rechunk killed while rebuilding)
  for (const std::string& path : arrays_along(root, dimension)) {
    if (!store->get(path + "/zarr.json")) {
      removed.push_back(path);
      continue;
    }
    ArrayMetadata metadata = Array::open(store, path).metadata();
    const size_t d = *dimension_of(metadata.to_json(), dimension);
    if (metadata.shape[d] != before) {
      throw Error(ErrorKind::kInvalidMetadata, store->describe(path),
                  fmt::format("has {} cells along {} where the {} coordinate has {}", metadata.shape[d], dimension,
                              dimension, before));
    }
    metadata.shape[d] = after;
    const Array array = Array::from_metadata(store, path, metadata);
    if (metadata.shape.size() == 1) write_new_cells(array, before);
    grown[path] = array.metadata().to_json();
  }
  Journal(*store).advance();
  root.update_metadata([&](zarr::GroupMetadata& metadata) {
    for (const auto& [path, document] : grown) metadata.consolidated_nodes[path] = document;
    for (const std::string& path : removed) metadata.consolidated_nodes.erase(path);
    metadata.attributes[fmt::format("n_{}s", dimension)] = after;
  });
  complete_growth(store);
}

// The requested objects whose keys `known` lacks, each once.
ObjectTable unknown_objects(const ObjectTable& requested, const std::vector<std::string>& known) {
  std::unordered_set<std::string> seen(known.begin(), known.end());
  std::vector<size_t> rows;
  for (size_t row = 0; row < requested.keys.size(); ++row) {
    if (seen.insert(requested.keys[row]).second) rows.push_back(row);
  }
  return requested.rows(rows);
}

void check_object_table(const ObjectTable& objects) {
  const size_t n = objects.keys.size();
  if (objects.ra.size() != n || objects.dec.size() != n || objects.x.size() != n || objects.y.size() != n) {
    throw Error(ErrorKind::kInvalidArgument, "objects",
                fmt::format("{} keys but {} ra, {} dec, {} x and {} y", n, objects.ra.size(), objects.dec.size(),
                            objects.x.size(), objects.y.size()));
  }
  for (const std::string& key : objects.keys) {
    if (key.empty()) throw Error(ErrorKind::kBadInput, "objects", "an object key is empty");
  }
}

// Writes the new objects' cells [first, first + keys) of a one-dimensional
// object array: their keys or positions. Other arrays along objects hold no
// value of a new object yet.
void write_new_object_cells(const Array& grown, uint64_t first, const ObjectTable& added) {
  Array array = grown;
  const zarr::Selection cells = {DimSelection::range(first, first + added.keys.size())};
  if (array.path() == "object") {
    array.write_strings(cells, added.keys);
  } else if (array.path() == "ra" || array.path() == "dec") {
    array.write(cells, std::span<const double>(array.path() == "ra" ? added.ra : added.dec));
  } else if (array.path() == "x_image" || array.path() == "y_image") {
    array.write(cells, std::span<const float>(array.path() == "x_image" ? added.x : added.y));
  }
}

}  // namespace

void complete_growth(const std::shared_ptr<Store>& store) {
  for (const auto& [path, metadata] : unfinished_growth(store)) Array::create(store, path, metadata);
}

std::pair<std::unique_ptr<Lock>, std::unique_ptr<Lock>> LightCurveStore::lock_for_growth() {
  std::pair<std::unique_ptr<Lock>, std::unique_ptr<Lock>> held(store_->lock(".lcstore", layout::kLayoutLockSlot),
                                                               store_->lock(".lcstore", layout::kDerivedLockSlot));
  zarr::Group root = zarr::Group::open(store_, "");
  if (root.metadata().consolidated != zarr::GroupMetadata::Consolidated::kInline) root.consolidate();
  complete_growth(store_);
  *this = open(store_);
  return held;
}

uint64_t LightCurveStore::add_epochs(const EpochTable& epochs) {
  epochs.check();
  // Epochs are never removed: what this object knows is there still, and
  // unless a killed growth is to be finished the locks need not be waited for.
  if (unknown_epochs(epochs, epochs_.keys).keys.empty() && unfinished_growth(store_).empty()) {
    check_variables(epochs, epochs_);
    return 0;
  }
  const auto held = lock_for_growth();
  check_variables(epochs, epochs_);
  const EpochTable added = unknown_epochs(epochs, epochs_.keys);
  if (added.keys.empty()) return 0;
  zarr::Group root = zarr::Group::open(store_, "");
  const uint64_t before = epochs_.keys.size();
  grow_along(store_, root, kEpochDimension, before, before + added.keys.size(),
             [&](const Array& array, uint64_t first) { write_new_cells(array, first, added); });
  *this = open(store_);
  return added.keys.size();
}

uint64_t LightCurveStore::add_objects(const ObjectTable& objects) {
  check_object_table(objects);
  if (unknown_objects(objects, object_table().keys).keys.empty() && unfinished_growth(store_).empty()) return 0;
  const auto held = lock_for_growth();
  return append_objects(objects);
}

uint64_t LightCurveStore::append_objects(const ObjectTable& objects) {
  const ObjectTable added = unknown_objects(objects, object_table().keys);
  if (added.keys.empty()) return 0;
  zarr::Group root = zarr::Group::open(store_, "");
  const uint64_t before = n_objects();
  grow_along(store_, root, kObjectDimension, before, before + added.keys.size(),
             [&](const Array& array, uint64_t first) { write_new_object_cells(array, first, added); });
  *this = open(store_);
  declination_index().save(*store_);
  return added.keys.size();
}

}  // namespace lcstore::lightcurve
