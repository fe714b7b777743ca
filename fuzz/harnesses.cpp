#include "harnesses.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "lcstore/catalog/column_mapping.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/memory_store.h"
#include "lcstore/zarr/array.h"
#include "lcstore/zarr/metadata.h"
#include "lightcurve/journal.h"

namespace lcstore::fuzz {

namespace fs = std::filesystem;
using namespace lcstore::zarr;

namespace {

std::string_view as_text(Input input) { return {reinterpret_cast<const char*>(input.data()), input.size()}; }

template <typename Parse>
void refuse_only_with_error(Parse&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
}

// Readers that take a path get each input in one file of this process.
fs::path write_input(Input input, const std::string& harness) {
  const fs::path path = fs::temp_directory_path() / ("lcstore-fuzz-" + harness + "-" + std::to_string(getpid()));
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
  return path;
}

template <typename Metadata>
void round_trip(const nlohmann::json& document) {
  const Metadata metadata = Metadata::from_json(document, "zarr.json");
  const nlohmann::json written = metadata.to_json();
  if (Metadata::from_json(parse_json_document(written.dump(), "written"), "written").to_json() != written) std::abort();
}

// Arrays larger than this are skipped: reading them is slow, not wrong.
constexpr uint64_t kMaxArrayBytes = uint64_t{1} << 20;

void read_array(const Array& array, const Selection& selection) {
  if (array.data_type() == DataType::kString) {
    array.read_strings(selection);
    return;
  }
  Bytes out(element_count(selection_shape(selection)) * item_size(array.data_type()));
  array.read_into(selection, out);
}

using Snapshot = std::map<std::string, Bytes>;

Snapshot snapshot(const Store& store) {
  Snapshot files;
  for (const std::string& key : store.list("")) files[key] = *store.get(key);
  return files;
}

// The store every catalog is populated into: the fixture's coadd objects,
// its complete measurements, two epochs.
const Snapshot& small_store() {
  static const Snapshot files = [] {
    const catalog::Catalog coadd = catalog::read_catalog(LCSTORE_FIXTURES "/sextractor-field-a/coadd.ascii_head.cat");
    lightcurve::CreateOptions options;
    catalog::ColumnMapping mapping(coadd.table, {.values = options.values});
    options.objects = lightcurve::ObjectTable::from_catalog(coadd.table, mapping);
    options.epochs = lightcurve::EpochTable::from_keys({"000", "001"});
    for (const catalog::Measurement& measurement : mapping.measurements()) {
      if (measurement.complete()) options.measurements.push_back(measurement.name);
    }
    options.object_chunk = 100;
    auto store = std::make_shared<MemoryStore>();
    lightcurve::LightCurveStore::create(store, options);
    return snapshot(*store);
  }();
  return files;
}

}  // namespace

void metadata(Input input) {
  refuse_only_with_error([&] {
    const nlohmann::json document = parse_json_document(as_text(input), "zarr.json");
    if (document.is_object() && document.contains("node_type") && document["node_type"] == "group") {
      round_trip<GroupMetadata>(document);
    } else {
      round_trip<ArrayMetadata>(document);
    }
  });
}

void chunk(Input input) {
  const std::string_view text = as_text(input);
  const size_t separator = text.find('\0');
  if (separator == std::string_view::npos) return;
  refuse_only_with_error([&] {
    const std::string document(text.substr(0, separator));
    const ArrayMetadata metadata = ArrayMetadata::from_json(parse_json_document(document, "zarr.json"), "zarr.json");
    const uint64_t width = metadata.data_type == DataType::kString ? 64 : item_size(metadata.data_type);
    const auto array_bytes = checked_byte_count(metadata.shape, width);
    const auto chunk_bytes = checked_byte_count(metadata.chunk_shape, width);
    if (!array_bytes || *array_bytes > kMaxArrayBytes || *chunk_bytes > kMaxArrayBytes) return;

    auto store = std::make_shared<MemoryStore>();
    store->set("zarr.json", std::as_bytes(std::span(document)));
    store->set(metadata.chunk_key_encoding.key(Shape(metadata.shape.size(), 0)),
               std::as_bytes(input.subspan(separator + 1)));
    const Array array = Array::open(store, "");
    read_array(array, select_all(array.shape()));
    // Part of the first chunk: a shard decodes only the inner chunks it touches.
    Selection part;
    for (size_t d = 0; d < metadata.shape.size(); ++d) {
      const uint64_t stop = std::min(metadata.shape[d], metadata.chunk_shape[d]);
      part.push_back(DimSelection::range(stop / 2, stop));
    }
    read_array(array, part);
    array.verify_chunks();
  });
}

void catalog(Input input) {
  const Snapshot& before = small_store();
  const fs::path path = write_input(input, "catalog");
  // The options follow the input's length, so that inputs of every format reach each.
  const size_t size = input.size();
  const bool relaxed = size % 2 == 1;
  refuse_only_with_error([&] {
    const catalog::Catalog read =
        catalog::read_catalog(path, {.invalid_to_nan = size % 4 >= 2, .allow_empty = relaxed});
    auto store = std::make_shared<MemoryStore>();
    for (const auto& [key, value] : before) store->set(key, value);
    lightcurve::LightCurveStore light_curves = lightcurve::LightCurveStore::open(store);
    try {
      light_curves.populate(size % 3 == 0 ? "001" : "000", read.table,
                            {.strategy = static_cast<lightcurve::Strategy>(size % 3),
                             .skip_unknown_objects = relaxed,
                             .skip_incomplete = relaxed});
    } catch (const Error&) {
      if (snapshot(*store) != before) std::abort();  // a failed populate changed the store
      throw;
    }
  });
}

void epoch_file(Input input) {
  const fs::path path = write_input(input, "epoch-file");
  refuse_only_with_error([&] { lightcurve::EpochTable::read(path); });
}

void journal(Input input) {
  MemoryStore store;
  store.set(".lcstore/journal.json", std::as_bytes(input));
  lightcurve::Journal journal(store);
  refuse_only_with_error([&] {
    journal.current("000", "catalog");
    const uint64_t began = journal.begin("000", "catalog", lightcurve::CellRanges::of({0, 1, 5}, {0}));
    journal.complete("000", began, {{"values_written", 1}});
    if (journal.generation() != began + 1) std::abort();
  });
}

void (*harness_named(std::string_view name))(Input) {
  static const std::map<std::string_view, void (*)(Input)> harnesses = {
      {"metadata", metadata}, {"chunk", chunk}, {"catalog", catalog}, {"epoch_file", epoch_file}, {"journal", journal}};
  auto found = harnesses.find(name);
  return found == harnesses.end() ? nullptr : found->second;
}

}  // namespace lcstore::fuzz
