// Creating and opening a light-curve store, and its queries.
#include "lcstore/lightcurve/light_curve_store.h"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <mutex>
#include <numbers>

#include "lcstore/closest_names.h"
#include "lcstore/error.h"
#include "lcstore/zarr/codec_specs.h"
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
using zarr::Selection;
using zarr::Shape;

namespace layout {

ArrayMetadata light_curve_array(const Shape& shape, const Shape& chunk_shape, json codecs,
                                const std::string& coordinates) {
  ArrayMetadata metadata;
  metadata.shape = shape;
  metadata.data_type = DataType::kFloat32;
  metadata.chunk_shape = chunk_shape;
  metadata.fill_value = zarr::FillValue::of(std::numeric_limits<float>::quiet_NaN());
  metadata.codecs = std::move(codecs);
  metadata.dimension_names = {{"object", "measurement", "value", "epoch"}};
  metadata.attributes = {{"_FillValue", kNanFillValueAttribute}, {"coordinates", coordinates}};
  return metadata;
}

}  // namespace layout

namespace {

constexpr const char* kVersion = "0.1.0";

// Per-object coordinates are chunked so that a query of a few objects reads
// a few chunks of them; 8192 keeps a store of 10^6 objects at 123 chunks
// per array.
constexpr uint64_t kObjectCoordinateChunk = 8192;

// A one-dimensional coordinate array along `dimension`: in one chunk, or in
// chunks of kObjectCoordinateChunk along `object`.
ArrayMetadata coordinate_array(DataType type, uint64_t length, const std::string& dimension) {
  ArrayMetadata metadata;
  metadata.shape = {length};
  metadata.data_type = type;
  const uint64_t chunk = dimension == "object" ? std::min(length, kObjectCoordinateChunk) : length;
  metadata.chunk_shape = {std::max<uint64_t>(chunk, 1)};
  metadata.codecs = zarr::codec_chain_from_specs(type, {"zstd:3"});
  metadata.dimension_names = {{dimension}};
  if (type == DataType::kString) {
    metadata.fill_value = zarr::FillValue::of_string("");
  } else {
    metadata.fill_value = type == DataType::kFloat32 ? zarr::FillValue::of(std::numeric_limits<float>::quiet_NaN())
                                                     : zarr::FillValue::of(std::numeric_limits<double>::quiet_NaN());
    metadata.attributes = {{"_FillValue", layout::kNanFillValueAttribute}};
  }
  return metadata;
}

void write_labels(const std::shared_ptr<Store>& store, const std::string& name, const std::vector<std::string>& labels,
                  const std::string& dimension) {
  Array array = Array::create(store, name, coordinate_array(DataType::kString, labels.size(), dimension));
  array.write_strings(zarr::select_all(array.shape()), labels);
}

template <typename T>
Array write_numbers(const std::shared_ptr<Store>& store, const std::string& name, const std::vector<T>& numbers,
                    const std::string& dimension) {
  Array array = Array::create(store, name, coordinate_array(zarr::data_type_of<T>(), numbers.size(), dimension));
  array.write(zarr::select_all(array.shape()), std::span<const T>(numbers));
  return array;
}

template <typename T>
std::vector<T> read_all(const Array& array) {
  return array.read<T>(zarr::select_all(array.shape()));
}

std::vector<std::string> read_all_strings(const Array& array) {
  return array.read_strings(zarr::select_all(array.shape()));
}

std::string epoch_variable_name(const std::string& name) { return "epoch_" + name; }

// xarray's `coordinates` attribute: the non-dimension coordinates, sorted.
std::string coordinates_attribute(const EpochTable& epochs) {
  std::vector<std::string> names = {"ra", "dec", "x_image", "y_image"};
  for (const EpochTable::Variable& variable : epochs.variables) names.push_back(epoch_variable_name(variable.name));
  std::sort(names.begin(), names.end());
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : " ") + name;
  return joined;
}

void check_create_options(const CreateOptions& options) {
  if (options.objects.keys.empty()) throw Error(ErrorKind::kBadInput, "objects", "the object catalog has no rows");
  if (options.epochs.keys.empty()) throw Error(ErrorKind::kBadInput, "epochs", "no epochs given");
  if (options.measurements.empty()) throw Error(ErrorKind::kBadInput, "measurements", "no measurements given");
  if (options.values.empty()) throw Error(ErrorKind::kBadInput, "values", "no values given");
  if (options.object_chunk == 0) throw Error(ErrorKind::kInvalidArgument, "object_chunk", "must be positive");
  options.epochs.check();
}

// The array as the root's consolidated metadata records it. Opening every
// array from that one document gives a snapshot in which they all agree on
// the number of epochs while the store grows (grow.cpp); an array made since
// the last consolidation is opened from its own zarr.json.
Array snapshot_array(const std::shared_ptr<Store>& store, const zarr::Group& root, const std::string& name) {
  const auto& recorded = root.metadata().consolidated_nodes;
  auto found = recorded.find(name);
  if (found == recorded.end()) return root.open_array(name);
  return Array::from_metadata(store, name, ArrayMetadata::from_json(found->second, store->describe(name)));
}

void check_xarray_light_curves(const Array& light_curves, const std::string& subject) {
  const ArrayMetadata& metadata = light_curves.metadata();
  const std::vector<std::optional<std::string>> dimensions = {"object", "measurement", "value", "epoch"};
  if (metadata.data_type != DataType::kFloat32 || metadata.dimension_names != dimensions) {
    throw Error(ErrorKind::kInvalidMetadata, subject,
                "is not a float32 light-curve array with dimensions (object, measurement, value, epoch)");
  }
}

// The number a key spells when it is an integer written as std::to_string
// writes it (SExtractor's NUMBER: no sign, leading zero or blank).
std::optional<int64_t> integer_key(const std::string& key) {
  int64_t number = 0;
  const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), number);
  if (error != std::errc() || end != key.data() + key.size() || std::to_string(number) != key) return std::nullopt;
  return number;
}

double normalized_ra(double ra) {
  double wrapped = std::fmod(ra, 360.0);
  return wrapped < 0 ? wrapped + 360.0 : wrapped;
}

}  // namespace

void EpochTable::check() const {
  for (const std::string& key : keys) {
    if (key.empty()) throw Error(ErrorKind::kBadInput, "epochs", "an epoch key is empty");
  }
  for (const Variable& variable : variables) {
    size_t length = std::visit([](const auto& values) { return values.size(); }, variable.values);
    if (length != keys.size()) {
      throw Error(ErrorKind::kBadInput, "epoch variable " + variable.name,
                  "has a value count other than the epoch count");
    }
  }
}

// Haversine: exact for small angles.
double separation_degrees(double ra1, double dec1, double ra2, double dec2) {
  constexpr double kRadians = std::numbers::pi / 180.0;
  double sin_ddec = std::sin((dec2 - dec1) * kRadians / 2);
  double sin_dra = std::sin((ra2 - ra1) * kRadians / 2);
  double h = sin_ddec * sin_ddec + std::cos(dec1 * kRadians) * std::cos(dec2 * kRadians) * sin_dra * sin_dra;
  return 2 * std::asin(std::min(1.0, std::sqrt(h))) / kRadians;
}

LightCurveStore LightCurveStore::create(std::shared_ptr<Store> store, const CreateOptions& options) {
  check_create_options(options);
  if (store->get("zarr.json")) {
    throw Error(ErrorKind::kInvalidArgument, store->describe(""),
                "already holds a Zarr node; create a store in a new directory");
  }
  std::vector<std::string> value_names;
  for (catalog::Value value : options.values) value_names.push_back(catalog::to_string(value));
  const ObjectTable& objects = options.objects;
  write_labels(store, "object", objects.keys, "object");
  write_labels(store, "measurement", options.measurements, "measurement");
  write_labels(store, "value", value_names, "value");
  write_labels(store, "epoch", options.epochs.keys, "epoch");
  write_numbers(store, "ra", objects.ra, "object");
  const Array dec = write_numbers(store, "dec", objects.dec, "object");
  write_numbers(store, "x_image", objects.x, "object");
  write_numbers(store, "y_image", objects.y, "object");
  for (const EpochTable::Variable& variable : options.epochs.variables) {
    std::visit(
        [&](const auto& values) {
          if constexpr (std::is_same_v<std::decay_t<decltype(values)>, std::vector<std::string>>) {
            write_labels(store, epoch_variable_name(variable.name), values, "epoch");
          } else {
            write_numbers(store, epoch_variable_name(variable.name), values, "epoch");
          }
        },
        variable.values);
  }
  const Shape shape = {objects.keys.size(), options.measurements.size(), value_names.size(),
                       options.epochs.keys.size()};
  const Shape chunks = {std::min<uint64_t>(options.object_chunk, shape[0]), shape[1], shape[2], 1};
  Array::create(
      store, layout::kWriteLayout,
      layout::light_curve_array(shape, chunks, zarr::codec_chain_from_specs(DataType::kFloat32, options.codecs),
                                coordinates_attribute(options.epochs)));
  DeclinationIndex::build(objects.ra, objects.dec, DeclinationIndex::stamp_of(*store, dec)).save(*store);
  // The group document comes last: a create killed before it leaves no store.
  json attributes = {{"description", options.description},
                     {"created", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)))},
                     {"n_objects", shape[0]},
                     {"n_measurements", shape[1]},
                     {"n_values", shape[2]},
                     {"n_epochs", shape[3]},
                     {"lcstore_version", kVersion},
                     {layout::kFormatAttribute, layout::kFormatVersion}};
  zarr::Group::create(store, "", attributes).consolidate();
  // A store whose creation a crash could undo would make its first populates
  // journal cells of arrays the disk never got.
  store->sync();
  return open(std::move(store));
}

LightCurveStore LightCurveStore::open(std::shared_ptr<Store> store) {
  zarr::Group root = zarr::Group::open(store, "");
  const bool made_by_lcstore = root.attributes().contains(layout::kFormatAttribute);
  if (!made_by_lcstore && !store->get(std::string(layout::kWriteLayout) + "/zarr.json")) {
    throw Error(ErrorKind::kInvalidMetadata, store->describe("zarr.json"),
                "is a Zarr group but not a light-curve store (no lcstore_format attribute, no lightcurves array)");
  }
  LightCurveStore opened(store, snapshot_array(store, root, layout::kWriteLayout));
  // A store the original Python pipeline wrote (xarray's to_zarr of the same
  // Dataset) has no lcstore attributes, journal or declination index; the
  // labels and the index are derived from its arrays as for any store, so
  // only its light-curve array's form needs checking.
  if (!made_by_lcstore) check_xarray_light_curves(opened.write_layout_, store->describe(layout::kWriteLayout));
  for (const zarr::Group::Child& child : root.children()) {
    if (child.name == layout::kReadLayout) opened.read_layout_ = snapshot_array(store, root, child.name);
  }
  opened.load_labels(root);
  return opened;
}

// The object arrays as the store was opened, and what has been read of
// them: each part once, by the first thread that needs it.
struct LightCurveStore::Objects {
  Array keys, ra, dec, x, y;
  std::once_flag table_once, lookup_once, index_once;
  std::atomic<bool> table_read = false;
  ObjectTable table;
  ObjectLookup lookup;
  std::optional<DeclinationIndex> index;
};

LightCurveStore::LightCurveStore(std::shared_ptr<Store> store, Array write_layout)
    : store_(std::move(store)), write_layout_(std::move(write_layout)) {}

void LightCurveStore::load_labels(const zarr::Group& root) {
  auto array = [&](const std::string& name) { return snapshot_array(store_, root, name); };
  objects_ = std::shared_ptr<Objects>(
      new Objects{array("object"), array("ra"), array("dec"), array("x_image"), array("y_image")});
  measurements_ = read_all_strings(array("measurement"));
  values_ = read_all_strings(array("value"));
  epochs_.keys = read_all_strings(array("epoch"));
  for (const zarr::Group::Child& child : root.children()) {
    if (child.type != zarr::NodeType::kArray || !child.name.starts_with("epoch_")) continue;
    Array variable = array(child.name);
    std::string name = child.name.substr(std::string("epoch_").size());
    if (variable.data_type() == DataType::kString) {
      epochs_.variables.push_back({name, read_all_strings(variable)});
    } else {
      epochs_.variables.push_back({name, read_all<double>(variable)});
    }
  }
  const uint64_t n_objects = objects_->keys.shape().at(0);
  const Shape expected = {n_objects, measurements_.size(), values_.size(), epochs_.keys.size()};
  if (write_layout_.shape() != expected) {
    throw Error(ErrorKind::kInvalidMetadata, store_->describe(layout::kWriteLayout),
                "shape does not match the object, measurement, value and epoch coordinates");
  }
  for (const Array* per_object : {&objects_->ra, &objects_->dec, &objects_->x, &objects_->y}) {
    if (per_object->shape() != Shape{n_objects}) {
      throw Error(
          ErrorKind::kInvalidMetadata, store_->describe(per_object->path()),
          fmt::format("has shape {}, not the {} objects of the store", json(per_object->shape()).dump(), n_objects));
    }
  }
  for (uint64_t row = 0; row < epochs_.keys.size(); ++row) epoch_rows_.emplace(epochs_.keys[row], row);
}

const ObjectTable& LightCurveStore::object_table() const {
  Objects& objects = *objects_;
  std::call_once(objects.table_once, [&] {
    objects.table.keys = read_all_strings(objects.keys);
    objects.table.ra = read_all<double>(objects.ra);
    objects.table.dec = read_all<double>(objects.dec);
    objects.table.x = read_all<float>(objects.x);
    objects.table.y = read_all<float>(objects.y);
    objects.table_read.store(true, std::memory_order_release);
  });
  return objects.table;
}

ObjectTable LightCurveStore::objects_at(std::span<const uint64_t> rows) const {
  // Past a sixteenth of the objects, reading them all costs little more.
  if (objects_->table_read.load(std::memory_order_acquire) || rows.size() > n_objects() / 16) {
    const ObjectTable& all = object_table();
    ObjectTable picked;
    for (uint64_t row : rows) {
      picked.keys.push_back(all.keys.at(row));
      picked.ra.push_back(all.ra[row]);
      picked.dec.push_back(all.dec[row]);
      picked.x.push_back(all.x[row]);
      picked.y.push_back(all.y[row]);
    }
    return picked;
  }
  if (rows.empty()) return {};
  const Selection selection = {DimSelection::indices(std::vector<uint64_t>(rows.begin(), rows.end()))};
  return ObjectTable{.keys = objects_->keys.read_strings(selection),
                     .ra = objects_->ra.read<double>(selection),
                     .dec = objects_->dec.read<double>(selection),
                     .x = objects_->x.read<float>(selection),
                     .y = objects_->y.read<float>(selection)};
}

const LightCurveStore::ObjectLookup& LightCurveStore::object_lookup() const {
  std::call_once(objects_->lookup_once, [&] {
    const std::vector<std::string>& keys = objects();
    ObjectLookup& lookup = objects_->lookup;
    lookup.rows.reserve(keys.size());
    for (uint64_t row = 0; row < keys.size(); ++row) lookup.rows.emplace(keys[row], row);
    for (const std::string& key : keys) {
      const std::optional<int64_t> number = integer_key(key);
      if (!number) {
        lookup.integer_keys.clear();
        break;
      }
      lookup.integer_keys.push_back(*number);
    }
  });
  return objects_->lookup;
}

const DeclinationIndex& LightCurveStore::declination_index() const {
  std::call_once(objects_->index_once, [&] {
    const uint64_t stamp = DeclinationIndex::stamp_of(*store_, objects_->dec);
    objects_->index = DeclinationIndex::load(*store_, stamp);
    if (!objects_->index) {
      const ObjectTable& all = object_table();
      objects_->index = DeclinationIndex::build(all.ra, all.dec, stamp);
    }
  });
  return *objects_->index;
}

namespace {

// Row N - 1 for a key N in [1, n_objects].
std::optional<uint64_t> numbered_row(const std::string& key, uint64_t n_objects) {
  const std::optional<int64_t> number = integer_key(key);
  if (!number || *number < 1 || static_cast<uint64_t>(*number) > n_objects) return std::nullopt;
  return static_cast<uint64_t>(*number - 1);
}

}  // namespace

std::vector<uint64_t> LightCurveStore::object_rows(const std::vector<std::string>& keys) const {
  // A few SExtractor numbers: the keys stored at the rows they name are read
  // to confirm them, instead of every key to look them up.
  constexpr size_t kFewKeys = 64;
  if (!keys.empty() && keys.size() <= kFewKeys && !objects_->table_read.load(std::memory_order_acquire)) {
    std::vector<uint64_t> rows;
    for (const std::string& key : keys) {
      const std::optional<uint64_t> row = numbered_row(key, n_objects());
      if (!row) break;
      rows.push_back(*row);
    }
    if (rows.size() == keys.size() && objects_->keys.read_strings({DimSelection::indices(rows)}) == keys) return rows;
  }
  const ObjectLookup& lookup = object_lookup();
  std::vector<uint64_t> rows;
  rows.reserve(keys.size());
  for (const std::string& key : keys) {
    auto found = lookup.rows.find(key);
    if (found == lookup.rows.end()) {
      throw Error(ErrorKind::kNotFound, key,
                  "no such object in the store (" + did_you_mean(key, objects(), "objects") + ")");
    }
    rows.push_back(found->second);
  }
  return rows;
}

uint64_t LightCurveStore::object_index(const std::string& key) const { return object_rows({key}).front(); }

uint64_t LightCurveStore::epoch_index(const std::string& key) const {
  auto found = epoch_rows_.find(key);
  if (found == epoch_rows_.end()) {
    throw Error(ErrorKind::kNotFound, key,
                "no such epoch in the store (" + did_you_mean(key, epochs_.keys, "epochs") + ")");
  }
  return found->second;
}

namespace {

bool made_at(const Array& read_layout, uint64_t generation) {
  const json& attributes = read_layout.metadata().attributes;
  auto made = attributes.find(layout::kGenerationAttribute);
  return made != attributes.end() && made->is_number_unsigned() && made->get<uint64_t>() == generation;
}

}  // namespace

std::optional<Array> LightCurveStore::read_layout_at(uint64_t generation) const {
  if (read_layout_ && made_at(*read_layout_, generation)) return read_layout_;
  // Another process may have rechunked since this store was opened.
  try {
    Array latest = Array::open(store_, layout::kReadLayout);
    if (made_at(latest, generation)) return latest;
  } catch (const Error& error) {
    if (error.kind() != ErrorKind::kNotFound) throw;
  }
  return std::nullopt;
}

bool LightCurveStore::read_layout_current() const { return read_layout_at(Journal(*store_).generation()).has_value(); }

std::vector<LightCurve> LightCurveStore::light_curves(const std::vector<std::string>& objects,
                                                      const std::optional<std::string>& measurement) const {
  std::vector<uint64_t> measurement_rows;
  if (measurement) {
    auto found = std::find(measurements_.begin(), measurements_.end(), *measurement);
    if (found == measurements_.end())
      throw Error(
          ErrorKind::kNotFound, *measurement,
          "no such measurement in the store (" + did_you_mean(*measurement, measurements_, "measurements") + ")");
    measurement_rows.push_back(static_cast<uint64_t>(found - measurements_.begin()));
  } else {
    for (uint64_t m = 0; m < measurements_.size(); ++m) measurement_rows.push_back(m);
  }
  const std::vector<uint64_t> rows = object_rows(objects);
  std::vector<std::pair<uint64_t, size_t>> order;  // (store row, position in the answer)
  for (size_t i = 0; i < objects.size(); ++i) order.emplace_back(rows[i], i);
  std::sort(order.begin(), order.end());
  std::vector<LightCurve> curves(objects.size());
  // A rechunk bumps the generation before it deletes the old read layout, so
  // an unchanged generation after the reads proves they saw whole data;
  // otherwise they are redone (from the write layout while it runs).
  const Journal journal(*store_);
  for (uint64_t generation = journal.generation();;) {
    std::optional<Array> read_layout = read_layout_at(generation);
    try {
      read_curves(read_layout ? *read_layout : write_layout_, order, measurement_rows, curves);
    } catch (const Error&) {
      // Shards replaced under the read by another geometry fail to decode.
      if (!read_layout || journal.generation() == generation) throw;
    }
    const uint64_t after = journal.generation();
    if (!read_layout || after == generation) return curves;
    generation = after;
  }
}

void LightCurveStore::read_curves(const Array& array, const std::vector<std::pair<uint64_t, size_t>>& order,
                                  const std::vector<uint64_t>& measurement_rows,
                                  std::vector<LightCurve>& curves) const {
  // The curves go into blocks in storage order, so that each run of
  // consecutive objects within one chunk (shard) is read with one selection
  // straight into its place (a read per object cost more than its bytes).
  // Blocks of 16 MiB come from the heap, which keeps them: one block for
  // all the curves would be mapped anew by every call and fault its pages in.
  constexpr uint64_t kBlockBytes = 16 << 20;
  const uint64_t curve_values = measurement_rows.size() * values_.size() * epochs_.keys.size();
  const size_t block_curves = std::max<uint64_t>(1, kBlockBytes / (curve_values * sizeof(float)));
  const uint64_t chunk_objects = array.metadata().chunk_shape[0];
  std::vector<std::string> selected_measurements;
  for (uint64_t m : measurement_rows) selected_measurements.push_back(measurements_[m]);
  for (size_t block_begin = 0; block_begin < order.size(); block_begin += block_curves) {
    const size_t block_end = std::min(order.size(), block_begin + block_curves);
    const std::shared_ptr<float[]> block =
        std::make_shared_for_overwrite<float[]>((block_end - block_begin) * curve_values);
    auto curve_data = [&](size_t k) { return block.get() + (k - block_begin) * curve_values; };
    for (size_t begin = block_begin; begin < block_end;) {
      const uint64_t first_row = order[begin].first;
      size_t end = begin + 1;
      while (end < block_end && order[end].first == order[end - 1].first + 1 &&
             order[end].first / chunk_objects == first_row / chunk_objects)
        ++end;
      Selection selection = {DimSelection::range(first_row, first_row + (end - begin)),
                             DimSelection::indices(measurement_rows), DimSelection::all(values_.size()),
                             DimSelection::all(epochs_.keys.size())};
      array.read_into(selection, std::as_writable_bytes(std::span(curve_data(begin), (end - begin) * curve_values)));
      begin = end;
    }
    std::vector<uint64_t> block_rows;
    for (size_t k = block_begin; k < block_end; ++k) block_rows.push_back(order[k].first);
    ObjectTable block_objects = objects_at(block_rows);
    for (size_t k = block_begin; k < block_end; ++k) {
      const size_t i = k - block_begin;
      LightCurve& curve = curves[order[k].second];
      curve.object = std::move(block_objects.keys[i]);
      curve.ra = block_objects.ra[i];
      curve.dec = block_objects.dec[i];
      curve.x = block_objects.x[i];
      curve.y = block_objects.y[i];
      curve.measurements = selected_measurements;
      curve.values = values_;
      curve.data = std::span<const float>(curve_data(k), curve_values);
      curve.storage = block;
    }
  }
}

void LightCurveStore::visit_light_curves(const std::vector<std::string>& objects,
                                         const std::optional<std::string>& measurement, uint64_t batch_bytes,
                                         const std::function<void(const LightCurve&)>& visit) const {
  object_rows(objects);
  const uint64_t curve_bytes =
      (measurement ? 1 : measurements_.size()) * values_.size() * epochs_.keys.size() * sizeof(float);
  const size_t batch_objects = std::max<uint64_t>(1, batch_bytes / std::max<uint64_t>(1, curve_bytes));
  for (size_t first = 0; first < objects.size(); first += batch_objects) {
    const auto begin = objects.begin() + static_cast<ptrdiff_t>(first);
    const std::vector<std::string> batch(
        begin, begin + static_cast<ptrdiff_t>(std::min(batch_objects, objects.size() - first)));
    for (const LightCurve& curve : light_curves(batch, measurement)) visit(curve);
  }
}

LightCurve LightCurveStore::light_curve(const std::string& object,
                                        const std::optional<std::string>& measurement) const {
  return std::move(light_curves({object}, measurement).front());
}

EpochSlice LightCurveStore::epoch(const std::string& key) const {
  uint64_t e = epoch_index(key);
  // The write layout holds an epoch in contiguous chunks: always the cheaper one here.
  Selection selection = {DimSelection::all(n_objects()), DimSelection::all(measurements_.size()),
                         DimSelection::all(values_.size()), DimSelection::range(e, e + 1)};
  return EpochSlice{key, write_layout_.read<float>(selection)};
}

std::vector<ObjectMatch> LightCurveStore::region(double ra_min, double ra_max, double dec_min, double dec_max) const {
  // A box 360 degrees wide holds every RA; normalizing [0, 360] would leave [0, 0].
  const bool every_ra = ra_max - ra_min >= 360.0;
  ra_min = normalized_ra(ra_min);
  ra_max = normalized_ra(ra_max);
  const bool wraps = ra_min > ra_max;
  std::vector<ObjectMatch> matches;
  declination_index().for_each_in_band(dec_min, dec_max, [&](uint64_t row, double object_ra, double) {
    double ra = normalized_ra(object_ra);
    bool in_ra = every_ra || (wraps ? (ra >= ra_min || ra <= ra_max) : (ra >= ra_min && ra <= ra_max));
    if (in_ra) matches.push_back({row, 0.0});
  });
  std::sort(matches.begin(), matches.end(),
            [](const ObjectMatch& a, const ObjectMatch& b) { return a.index < b.index; });
  return matches;
}

std::vector<ObjectMatch> LightCurveStore::cone(double ra, double dec, double radius_arcsec) const {
  std::vector<ObjectMatch> matches;
  declination_index().for_each_within(ra, dec, radius_arcsec / 3600.0, [&](uint64_t row, double separation) {
    matches.push_back({row, separation * 3600.0});
  });
  std::sort(matches.begin(), matches.end(),
            [](const ObjectMatch& a, const ObjectMatch& b) { return a.separation_arcsec < b.separation_arcsec; });
  return matches;
}

namespace {

LayoutInfo layout_info(const Array& array, LayoutInfo::Status status) {
  const ArrayMetadata& metadata = array.metadata();
  LayoutInfo info{.array = array.path(), .status = status, .shape = metadata.shape, .codecs = metadata.codecs};
  const json& first = metadata.codecs.at(0);
  if (first.value("name", "") == "sharding_indexed") {
    info.shards = metadata.chunk_shape;
    info.chunks = first["configuration"]["chunk_shape"].get<Shape>();
  } else {
    info.chunks = metadata.chunk_shape;
  }
  return info;
}

template <class Number>
std::optional<std::pair<double, double>> finite_range(const std::vector<Number>& numbers) {
  double low = INFINITY, high = -INFINITY;
  for (Number n : numbers) {
    if (!std::isfinite(n)) continue;
    low = std::min<double>(low, n);
    high = std::max<double>(high, n);
  }
  if (low > high) return std::nullopt;
  return std::pair(low, high);
}

}  // namespace

StoreInfo LightCurveStore::info() const {
  const JournalState journal = Journal(*store_).read();
  const zarr::Group root = zarr::Group::open(store_, "");
  // The original pipeline described its stores on the light-curve array.
  const std::string array_description = write_layout_.metadata().attributes.value("description", "");
  StoreInfo info{.store = store_->describe(""),
                 .description = root.attributes().value("description", array_description),
                 .created = root.attributes().value("created", ""),
                 .shape = write_layout_.shape(),
                 .measurements = measurements_,
                 .values = values_,
                 .epochs = epochs_.keys,
                 .n_objects = n_objects(),
                 .ra_range = finite_range(object_table().ra),
                 .dec_range = finite_range(object_table().dec),
                 .write_layout = layout_info(write_layout_, LayoutInfo::Status::kCurrent),
                 .journal_generation = journal.generation};
  for (const EpochTable::Variable& variable : epochs_.variables)
    info.epoch_variables.push_back(epoch_variable_name(variable.name));
  if (n_objects() > 0) info.first_and_last_object = {objects().front(), objects().back()};
  for (const std::string& key : epochs_.keys) {
    auto found = journal.epochs.find(key);
    if (found == journal.epochs.end()) continue;
    StoreInfo::EpochCatalogs written{.epoch = key};
    for (const PopulateRecord& record : found->second) {
      (record.completed ? written.catalogs : written.incomplete)
          .push_back(record.details.value("catalog", record.entry));
    }
    if (written.catalogs.empty() && written.incomplete.empty()) continue;
    if (!written.catalogs.empty()) info.populated_epochs.push_back(key);
    info.epoch_catalogs.push_back(std::move(written));
  }
  if (std::optional<Array> current = read_layout_at(info.journal_generation)) {
    info.read_layout = layout_info(*current, LayoutInfo::Status::kCurrent);
  } else if (store_->get(std::string(layout::kReadLayout) + "/zarr.json")) {
    info.read_layout = layout_info(Array::open(store_, layout::kReadLayout), LayoutInfo::Status::kStale);
  } else {
    info.read_layout.array = layout::kReadLayout;
  }
  return info;
}

}  // namespace lcstore::lightcurve
