// `lcstore zarr ...`: inspect and convert any Zarr v3 node on disk.
#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>

#include "cli/commands.h"
#include "lcstore/error.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/array.h"
#include "lcstore/zarr/codec_specs.h"
#include "lcstore/zarr/group.h"

namespace lcstore::cli {

using nlohmann::json;
using namespace lcstore::zarr;

namespace {

std::shared_ptr<Store> open_directory(const std::string& path) {
  if (!std::filesystem::is_directory(path)) throw Error(ErrorKind::kNotFound, path, "no such directory");
  return std::make_shared<DirectoryStore>(path);
}

// Splits "a:b:c" (or "a,b,c") at `separator`.
std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

Shape parse_extents(const std::string& text, const char* option) {
  Shape extents;
  for (const std::string& part : split(text, ',')) {
    try {
      size_t used = 0;
      unsigned long long extent = std::stoull(part, &used);
      if (used != part.size() || extent == 0) throw std::invalid_argument(part);
      extents.push_back(extent);
    } catch (const std::exception&) {
      throw Error(ErrorKind::kInvalidArgument, option, "\"" + text + "\" is not a list of positive integers");
    }
  }
  return extents;
}

json array_summary(const Array& array) {
  const ArrayMetadata& metadata = array.metadata();
  json summary = {{"node_type", "array"},
                  {"shape", metadata.shape},
                  {"data_type", name_of(metadata.data_type)},
                  {"fill_value", metadata.fill_value.to_json(metadata.data_type)},
                  {"codecs", metadata.codecs},
                  {"attributes", metadata.attributes}};
  const json& first = metadata.codecs.at(0);
  if (first.is_object() && first.value("name", "") == "sharding_indexed") {
    summary["chunks"] = first["configuration"]["chunk_shape"];
    summary["shards"] = metadata.chunk_shape;
  } else {
    summary["chunks"] = metadata.chunk_shape;
    summary["shards"] = nullptr;
  }
  summary["dimension_names"] = metadata.to_json().value("dimension_names", json(nullptr));
  return summary;
}

void info(const std::string& path) {
  auto store = open_directory(path);
  json summary;
  if (node_type_at(*store, "") == NodeType::kArray) {
    summary = array_summary(Array::open(store, ""));
  } else {
    Group group = Group::open(store, "");
    json children = json::array();
    for (const auto& child : group.children()) {
      children.push_back({{"name", child.name}, {"node_type", child.type == NodeType::kArray ? "array" : "group"}});
    }
    json consolidated = nullptr;
    if (group.metadata().consolidated == GroupMetadata::Consolidated::kInline) {
      consolidated = json::array();
      for (const auto& [node_path, document] : group.metadata().consolidated_nodes) consolidated.push_back(node_path);
    }
    summary = {{"node_type", "group"},
               {"attributes", group.attributes()},
               {"children", children},
               {"consolidated_nodes", consolidated}};
  }
  std::cout << summary.dump(2) << "\n";
}

template <typename Out>
std::vector<Out> convert_all(const Array& array) {
  Selection all = select_all(array.shape());
  auto convert = [&]<typename T>(T) {
    std::vector<T> values = array.read<T>(all);
    return std::vector<Out>(values.begin(), values.end());
  };
  switch (array.data_type()) {
    case DataType::kBool: {
      std::vector<uint8_t> raw(element_count(array.shape()));
      array.read_into(all, std::as_writable_bytes(std::span(raw)));
      return std::vector<Out>(raw.begin(), raw.end());
    }
    case DataType::kInt8:
      return convert(int8_t{});
    case DataType::kInt16:
      return convert(int16_t{});
    case DataType::kInt32:
      return convert(int32_t{});
    case DataType::kInt64:
      return convert(int64_t{});
    case DataType::kUint8:
      return convert(uint8_t{});
    case DataType::kUint16:
      return convert(uint16_t{});
    case DataType::kUint32:
      return convert(uint32_t{});
    case DataType::kUint64:
      return convert(uint64_t{});
    case DataType::kFloat32:
      return convert(float{});
    case DataType::kFloat64:
      return convert(double{});
    case DataType::kString:
      break;
  }
  throw Error(ErrorKind::kInvalidArgument, array.path(), "a string array dumps only --as json");
}

// The memory this process may allocate: the machine's, or less under a limit.
uint64_t usable_memory() {
  uint64_t memory = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    memory = std::min<uint64_t>(memory, limit.rlim_cur);
  return memory;
}

// dump holds the whole array in memory, read and converted: an array that
// cannot fit is refused up front rather than failing on an allocation.
void check_dump_fits_in_memory(const Array& array, const std::string& format, const std::string& path) {
  const uint64_t read = array.data_type() == DataType::kString ? sizeof(std::string) : item_size(array.data_type());
  const uint64_t converted = format == "json" ? sizeof(json) + sizeof(double) : sizeof(double);
  const std::optional<uint64_t> bytes = checked_byte_count(array.shape(), read + converted);
  const uint64_t memory = usable_memory();
  if (!bytes || *bytes > memory) {
    throw Error(ErrorKind::kInvalidArgument, path,
                fmt::format("the array's {} elements need {} bytes of memory to dump, more than the {} bytes this "
                            "process may use",
                            element_count(array.shape()), bytes ? std::to_string(*bytes) : "over 2^64", memory));
  }
}

void dump(const std::string& path, const std::string& format) {
  Array array = Array::open(open_directory(path), "");
  check_dump_fits_in_memory(array, format, path);
  auto write_binary = [](const auto& values) { std::fwrite(values.data(), sizeof(values[0]), values.size(), stdout); };
  if (format == "f64") {
    write_binary(convert_all<double>(array));
  } else if (format == "i64") {
    // Converting NaN or an out-of-range float to an integer is undefined.
    if (array.data_type() == DataType::kFloat32 || array.data_type() == DataType::kFloat64) {
      throw Error(ErrorKind::kInvalidArgument, path, "a floating-point array dumps only --as f64 or json");
    }
    write_binary(convert_all<int64_t>(array));
  } else if (array.data_type() == DataType::kString) {
    std::cout << json(array.read_strings(select_all(array.shape()))).dump() << "\n";
  } else {
    json list = json::array();
    for (double value : convert_all<double>(array)) list.push_back(std::isfinite(value) ? json(value) : json(nullptr));
    std::cout << list.dump() << "\n";
  }
}

// Copies every cell of `source` into `target` (same shape and type), one
// target chunk at a time so memory stays bounded by a chunk.
void copy_array(const Array& source, Array& target) {
  const Shape& chunks = target.metadata().chunk_shape;
  for_each_index(target.chunk_grid_shape(), [&](const Shape& chunk) {
    Selection box;
    for (size_t d = 0; d < chunk.size(); ++d) {
      box.push_back(DimSelection::range(chunk[d] * chunks[d], std::min(source.shape()[d], (chunk[d] + 1) * chunks[d])));
    }
    if (source.data_type() == DataType::kString) {
      target.write_strings(box, source.read_strings(box));
      return;
    }
    Bytes buffer(element_count(selection_shape(box)) * item_size(source.data_type()));
    source.read_into(box, buffer);
    target.write(box, buffer);
  });
}

struct ReencodeOptions {
  std::string source, target;
  std::string chunks, shards;
  std::vector<std::string> codecs;
  bool json_output = false;
};

void reencode(const ReencodeOptions& options) {
  Array source = Array::open(open_directory(options.source), "");
  ArrayMetadata metadata = source.metadata();
  const json& first = metadata.codecs.at(0);
  const bool source_sharded = first.is_object() && first.value("name", "") == "sharding_indexed";
  Shape chunks = options.chunks.empty()
                     ? (source_sharded ? first["configuration"]["chunk_shape"].get<Shape>() : metadata.chunk_shape)
                     : parse_extents(options.chunks, "--chunks");
  if (chunks.size() != metadata.shape.size()) {
    throw Error(ErrorKind::kInvalidArgument, "--chunks", "needs one extent per dimension of the array");
  }
  std::optional<Shape> inner;
  metadata.chunk_shape = chunks;
  if (!options.shards.empty()) {
    metadata.chunk_shape = parse_extents(options.shards, "--shards");
    inner = chunks;
  }
  metadata.codecs = codec_chain_from_specs(metadata.data_type, options.codecs, inner);
  // Rewriting chunks while later ones are still to be read in the old
  // encoding would destroy the array.
  std::error_code not_there;
  if (std::filesystem::equivalent(options.source, options.target, not_there)) {
    throw Error(ErrorKind::kInvalidArgument, options.target,
                "is the source array itself; reencode into another directory");
  }
  std::filesystem::create_directories(options.target);
  Array target = Array::create(std::make_shared<DirectoryStore>(options.target), "", metadata);
  copy_array(source, target);
  json summary = array_summary(target);
  summary["source"] = options.source;
  summary["target"] = options.target;
  if (options.json_output) {
    std::cout << summary.dump(1) << "\n";
  } else {
    std::cout << fmt::format("reencoded {} -> {}: chunks {}{}\n", options.source, options.target,
                             summary["chunks"].dump(),
                             summary["shards"].is_null() ? "" : " in shards " + summary["shards"].dump());
  }
}

// Light-curve-like float32 values: magnitudes around 18 with small scatter,
// an error column, and NaN where an object was not measured.
std::vector<float> demo_values(const Shape& shape) {
  std::mt19937 random(42);
  std::normal_distribution<float> scatter(0.0f, 0.05f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> values(element_count(shape));
  for (size_t i = 0; i < values.size(); ++i) {
    bool is_error = (i / shape[3]) % 2 == 1;
    float base = 15.0f + static_cast<float>((i / (shape[1] * shape[2] * shape[3])) % 60) * 0.1f;
    values[i] = uniform(random) < 0.05f ? NAN : is_error ? 0.02f + std::abs(scatter(random)) : base + scatter(random);
  }
  return values;
}

uint64_t stored_bytes(const std::filesystem::path& directory) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

// The demo's object labels, a string array "object"; returns whether they
// read back as written.
bool write_demo_labels(const std::shared_ptr<DirectoryStore>& store, uint64_t count) {
  ArrayMetadata labels;
  labels.shape = {count};
  labels.data_type = DataType::kString;
  labels.chunk_shape = {64};
  labels.fill_value = FillValue::of_string("");
  labels.codecs = codec_chain_from_specs(DataType::kString, {"zstd:3"}, {});
  std::vector<std::string> names;
  for (uint64_t i = 0; i < count; ++i) names.push_back(fmt::format("I{}", i + 1));
  Array object = Array::create(store, "object", labels);
  object.write_strings(select_all(labels.shape), names);
  return object.read_strings(select_all(labels.shape)) == names;
}

// Writes the group and checks every array; prints a table, or with
// `json_output` one JSON document with a record per array.
void demo(const std::string& directory, bool json_output) {
  std::filesystem::create_directories(directory);
  auto store = std::make_shared<DirectoryStore>(directory);
  Group root = Group::create(store, "", {{"description", "lcstore codec demo: one array per codec chain"}});
  const Shape shape{200, 8, 2, 30};
  const std::vector<float> values = demo_values(shape);
  struct Case {
    std::string name;
    std::vector<std::string> codecs;
    std::optional<Shape> inner;
  };
  const std::vector<Case> cases = {
      {"raw", {}, {}},
      {"gzip", {"gzip:5"}, {}},
      {"zstd", {"zstd:3"}, {}},
      {"blosc_lz4_shuffle", {"blosc:lz4:5:shuffle"}, {}},
      {"blosc_zstd_bitshuffle", {"blosc:zstd:3:bitshuffle"}, {}},
      {"crc32c", {"crc32c"}, {}},
      {"zstd_crc32c", {"zstd:3", "crc32c"}, {}},
      {"sharded_zstd", {"zstd:3"}, Shape{25, 8, 2, 10}},
  };
  json records = json::array();
  auto report = [&](const std::string& name, uint64_t bytes, std::optional<double> ratio,
                    std::optional<double> write_ms, std::optional<double> read_ms, bool same) {
    if (json_output) {
      json record = {{"array", name}, {"stored_bytes", bytes}, {"round_trip", same ? "ok" : "mismatch"}};
      if (ratio) record["ratio"] = *ratio;
      if (write_ms) record["write_ms"] = *write_ms;
      if (read_ms) record["read_ms"] = *read_ms;
      records.push_back(record);
      return;
    }
    auto number = [](std::optional<double> value) { return value ? fmt::format("{:.2f}", *value) : std::string(); };
    fmt::print("{:<24} {:>12} {:>7} {:>10} {:>10}  {}\n", name, bytes, number(ratio), number(write_ms), number(read_ms),
               same ? "ok" : "MISMATCH");
  };
  if (!json_output) {
    fmt::print("{:<24} {:>12} {:>7} {:>10} {:>10}  {}\n", "array", "stored bytes", "ratio", "write ms", "read ms",
               "round trip");
  }
  const double raw_bytes = static_cast<double>(values.size() * sizeof(float));
  for (const Case& c : cases) {
    ArrayMetadata metadata;
    metadata.shape = shape;
    metadata.data_type = DataType::kFloat32;
    metadata.chunk_shape = c.inner ? Shape{100, 8, 2, 30} : Shape{50, 8, 2, 10};
    metadata.fill_value = FillValue::of(NAN);
    metadata.codecs = codec_chain_from_specs(DataType::kFloat32, c.codecs, c.inner);
    metadata.dimension_names = std::vector<std::optional<std::string>>{"object", "measurement", "value", "epoch"};
    auto start = std::chrono::steady_clock::now();
    Array array = Array::create(store, c.name, metadata);
    array.write<float>(select_all(shape), values);
    auto written = std::chrono::steady_clock::now();
    std::vector<float> back = array.read<float>(select_all(shape));
    auto read = std::chrono::steady_clock::now();
    bool same = std::memcmp(back.data(), values.data(), values.size() * sizeof(float)) == 0;
    uint64_t bytes = stored_bytes(std::filesystem::path(directory) / c.name);
    report(c.name, bytes, raw_bytes / static_cast<double>(bytes),
           std::chrono::duration<double, std::milli>(written - start).count(),
           std::chrono::duration<double, std::milli>(read - written).count(), same);
    if (!same) throw Error(ErrorKind::kCorruptData, c.name, "values read back differ from those written");
  }
  const bool labels_same = write_demo_labels(store, shape[0]);
  report("object (strings)", stored_bytes(std::filesystem::path(directory) / "object"), {}, {}, {}, labels_same);
  root.consolidate();
  if (json_output) {
    fmt::print("{}\n", json{{"group", directory}, {"arrays", records}}.dump(2));
  } else {
    fmt::print("wrote {} (a Zarr v3 group with consolidated metadata)\n", directory);
  }
}

}  // namespace

void add_zarr_commands(CLI::App& app) {
  CLI::App* zarr = app.add_subcommand("zarr", "Inspect and convert Zarr v3 arrays and groups");
  zarr->require_subcommand(1);

  static std::string info_path;
  CLI::App* info_command = zarr->add_subcommand("info", "Print a node's metadata summary as JSON");
  info_command->add_option("PATH", info_path, "Directory of the array or group")->required();
  info_command->footer("Example:\n  lcstore zarr info field.lcs/lightcurves");
  info_command->callback([] { info(info_path); });

  static std::string dump_path, dump_format = "f64";
  CLI::App* dump_command = zarr->add_subcommand("dump", "Write a whole array to stdout in C order");
  dump_command->add_option("PATH", dump_path, "Directory of the array")->required();
  dump_command
      ->add_option("--as", dump_format,
                   "f64 (little-endian float64), i64 (little-endian int64; not for float arrays) or json")
      ->check(CLI::IsMember({"f64", "i64", "json"}));
  dump_command->footer("Example:\n  lcstore zarr dump field.lcs/epoch --as json");
  dump_command->callback([] { dump(dump_path, dump_format); });

  static ReencodeOptions reencode_options;
  CLI::App* reencode_command = zarr->add_subcommand("reencode", "Copy an array with another chunking and codec chain");
  reencode_command->add_option("SRC", reencode_options.source, "Source array directory")->required();
  reencode_command->add_option("DST", reencode_options.target, "Target array directory (replaced)")->required();
  reencode_command->add_option("--chunks", reencode_options.chunks,
                               "Chunk shape, e.g. 100,8,2,10 (inner chunks when sharded)");
  reencode_command->add_option("--shards", reencode_options.shards, "Shard shape: enables sharding_indexed");
  reencode_command->add_option("--codec", reencode_options.codecs,
                               "none | zstd[:L] | gzip[:L] | blosc:CNAME[:L][:shuffle|bitshuffle|noshuffle] | crc32c; "
                               "repeatable, applied in order");
  reencode_command->add_flag("--json", reencode_options.json_output, "Print the new array's summary as JSON");
  reencode_command->footer(
      "Example:\n  lcstore zarr reencode lc.zarr/lightcurves lc-sharded --chunks 1,40,2,1000 --shards 256,40,2,1000 "
      "--codec zstd:3");
  reencode_command->callback([] { reencode(reencode_options); });

  static std::string demo_directory;
  static bool demo_json = false;
  CLI::App* demo_command =
      zarr->add_subcommand("demo", "Write a small light-curve-like array with each codec and check it");
  demo_command->add_option("DIR", demo_directory, "Directory of the group to create")->required();
  demo_command->add_flag("--json", demo_json, "Print one JSON document with a record per array");
  demo_command->footer("Example:\n  lcstore zarr demo /tmp/codecs.zarr");
  demo_command->callback([] { demo(demo_directory, demo_json); });
}

}  // namespace lcstore::cli
