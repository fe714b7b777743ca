// `lcstore create | rechunk | info | add-epochs | add-objects`: making a store, its read
// layout, what it holds, and growing it.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/info_json.h"
#include "lcstore/lightcurve/store_features.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

using nlohmann::json;
using namespace lcstore::lightcurve;

namespace {

struct CreateArguments {
  std::string store;
  std::string objects_catalog;
  std::string epochs;
  std::string epochs_file;
  std::string measurements;
  std::string values = "mag,mag_err";
  uint64_t object_chunk = 1000;
  std::vector<std::string> codecs;
  catalog::CatalogKeys keys;
  std::string description = "lcstore light curves";
  bool json_output = false;
};

CreateOptions create_options(const CreateArguments& arguments) {
  CreateOptions options;
  options.values.clear();
  for (const std::string& name : split_list(arguments.values)) options.values.push_back(catalog::parse_value(name));
  if (options.values.empty()) throw Error(ErrorKind::kInvalidArgument, "--values", "names no value");
  catalog::Catalog coadd = catalog::read_catalog(arguments.objects_catalog);
  catalog::ColumnMapping mapping(coadd.table, {.values = options.values, .keys = arguments.keys});
  options.objects = ObjectTable::from_catalog(coadd.table, mapping);
  options.epochs = arguments.epochs_file.empty() ? EpochTable::from_keys(split_list(arguments.epochs))
                                                 : EpochTable::read(arguments.epochs_file);
  if (arguments.measurements.empty()) {
    for (const catalog::Measurement& measurement : mapping.measurements()) {
      if (measurement.complete()) options.measurements.push_back(measurement.name);
    }
  } else {
    options.measurements = split_list(arguments.measurements);
  }
  if (options.measurements.empty()) {
    throw Error(ErrorKind::kBadInput, arguments.objects_catalog,
                "has no measurement with every requested value column; name them with --measurements");
  }
  options.object_chunk = arguments.object_chunk;
  options.codecs = arguments.codecs;
  options.description = arguments.description;
  return options;
}

void create(const CreateArguments& arguments) {
  if (arguments.epochs.empty() && arguments.epochs_file.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "create", "give --epochs K1,K2,... or --epochs-file FILE");
  }
  const CreateOptions options = create_options(arguments);
  std::filesystem::create_directories(arguments.store);
  LightCurveStore store = LightCurveStore::create(std::make_shared<DirectoryStore>(arguments.store), options);
  const zarr::Shape& shape = store.write_layout().shape();
  if (arguments.json_output) {
    std::cout << json{{"store", arguments.store},
                      {"shape", shape},
                      {"measurements", store.measurements()},
                      {"values", store.values()},
                      {"epochs", store.epochs().keys}}
                     .dump(1)
              << "\n";
    return;
  }
  std::cout << fmt::format("created {}: {} objects x {} measurements x {} values x {} epochs\n", arguments.store,
                           shape[0], shape[1], shape[2], shape[3]);
}

void add_create_command(CLI::App& app) {
  auto arguments = std::make_shared<CreateArguments>();
  CLI::App* command =
      app.add_subcommand("create", "Create a light-curve store from the detection catalog and the epoch list");
  command->footer(
      "Example:\n  lcstore create field.lcs --objects coadd.cat --epochs-file epochs.csv --object-chunk 1000\n"
      "  (epochs.csv: a header 'epoch,mjd,aorkey' and one row per epoch, or one epoch key per line)");
  command->add_option("STORE", arguments->store, "Directory of the new store")->required();
  command->add_option("--objects", arguments->objects_catalog, "Detection (coadd) catalog defining the objects")
      ->required();
  auto* epochs = command->add_option("--epochs", arguments->epochs, "Comma-separated epoch keys");
  auto* epochs_file = command->add_option("--epochs-file", arguments->epochs_file,
                                          "Epoch table: keys one per line, or CSV with columns epoch,<variables>...");
  epochs->excludes(epochs_file);
  command->add_option("--measurements", arguments->measurements,
                      "Comma-separated measurements (default: every complete one of the catalog)");
  command->add_option("--values", arguments->values, "Comma-separated values: mag,mag_err,flux,flux_err")
      ->capture_default_str();
  command->add_option("--object-chunk", arguments->object_chunk, "Objects per chunk of the write layout")
      ->capture_default_str();
  command->add_option("--codec", arguments->codecs,
                      "Compressor of the chunks (repeatable): zstd[:L], blosc:lz4[:L], ...");
  add_catalog_key_options(command, arguments->keys);
  command->add_option("--description", arguments->description, "The store's description attribute");
  command->add_flag("--json", arguments->json_output, "Print the result as JSON");
  command->callback([arguments] { create(*arguments); });
}

struct RechunkArguments {
  std::string store;
  uint64_t object_chunk = 256;
  uint64_t memory = 1ull << 30;
  unsigned threads = default_threads();
  bool json_output = false;
  bool quiet = false;
};

void rechunk(const RechunkArguments& arguments) {
  LightCurveStore store = open_store(arguments.store);
  const auto start = std::chrono::steady_clock::now();
  Progress progress("rechunk (objects)", store.n_objects(), !arguments.quiet && !arguments.json_output);
  store.rechunk({.object_chunk = arguments.object_chunk,
                 .memory_budget = arguments.memory,
                 .threads = arguments.threads,
                 .progress = [&](uint64_t done, uint64_t) { progress.set(done); }});
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const zarr::Shape& shape = store.write_layout().shape();
  const uint64_t shard_objects = std::min(arguments.object_chunk, shape[0]);
  const uint64_t shards = (shape[0] + shard_objects - 1) / shard_objects;
  if (arguments.json_output) {
    std::cout << json{{"store", arguments.store},       {"shards", shards},
                      {"shard_objects", shard_objects}, {"memory_budget", arguments.memory},
                      {"threads", arguments.threads},   {"seconds", seconds}}
                     .dump(1)
              << "\n";
  } else if (!arguments.quiet) {
    std::cout << fmt::format("rechunked {}: read layout of {} shards of {} objects in {:.2f} s\n", arguments.store,
                             shards, shard_objects, seconds);
  }
}

void add_rechunk_command(CLI::App& app) {
  auto arguments = std::make_shared<RechunkArguments>();
  CLI::App* command = app.add_subcommand("rechunk", "Build the read layout (all epochs of an object together)");
  command->footer("Example:\n  lcstore rechunk field.lcs --object-chunk 256 --memory 2GiB -j 4");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("--object-chunk", arguments->object_chunk, "Objects per shard of the read layout")
      ->capture_default_str();
  add_size_option(command, "--memory", arguments->memory, "Memory budget for staged data (512MiB, 2GiB, ...)")
      ->default_str("1GiB");
  command->add_option("-j,--jobs", arguments->threads, "Threads (default: cores)");
  command->add_flag("--json", arguments->json_output, "Print the result as JSON");
  command->add_flag("-q,--quiet", arguments->quiet, "Print only errors");
  command->callback([arguments] { rechunk(*arguments); });
}

struct AddEpochsArguments {
  std::string store;
  std::string epochs;
  std::string epochs_file;
  bool json_output = false;
};

void add_epochs(const AddEpochsArguments& arguments) {
  if (arguments.epochs.empty() == arguments.epochs_file.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "add-epochs", "give --epochs K1,K2,... or --epochs-file FILE");
  }
  const EpochTable epochs = arguments.epochs_file.empty() ? EpochTable::from_keys(split_list(arguments.epochs))
                                                          : EpochTable::read(arguments.epochs_file);
  if (epochs.keys.empty()) throw Error(ErrorKind::kInvalidArgument, "add-epochs", "names no epoch");
  LightCurveStore store = open_store(arguments.store);
  const uint64_t added = store.add_epochs(epochs);
  const uint64_t total = store.epochs().keys.size();
  if (arguments.json_output) {
    std::cout << json{{"store", arguments.store}, {"added", added}, {"epochs", total}}.dump(1) << "\n";
    return;
  }
  std::cout << fmt::format("added {} epoch(s) to {}: {} epochs, {} already there\n", added, arguments.store, total,
                           epochs.keys.size() - added);
}

void add_add_epochs_command(CLI::App& app) {
  auto arguments = std::make_shared<AddEpochsArguments>();
  CLI::App* command = app.add_subcommand(
      "add-epochs", "Append epochs to a store (epochs it has already are left as they are; safe beside writers)");
  command->footer(
      "Examples:\n  lcstore add-epochs field.lcs --epochs r1240,r1241\n"
      "  lcstore add-epochs field.lcs --epochs-file new_epochs.csv   # header 'epoch,mjd,...' as in create");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  auto* epochs = command->add_option("--epochs", arguments->epochs, "Comma-separated epoch keys");
  auto* epochs_file =
      command->add_option("--epochs-file", arguments->epochs_file,
                          "Epoch table: keys one per line, or CSV with columns epoch,<variables of the store>...");
  epochs->excludes(epochs_file);
  command->add_flag("--json", arguments->json_output, "Print the result as JSON");
  command->callback([arguments] { add_epochs(*arguments); });
}

struct AddObjectsArguments {
  std::string store;
  std::string objects_catalog;
  catalog::CatalogKeys keys;
  bool json_output = false;
};

void add_objects(const AddObjectsArguments& arguments) {
  LightCurveStore store = open_store(arguments.store);
  const catalog::Catalog detections = catalog::read_catalog(arguments.objects_catalog);
  const catalog::ColumnMapping mapping(detections.table, {.keys = arguments.keys});
  const ObjectTable objects = ObjectTable::from_catalog(detections.table, mapping);
  const uint64_t added = store.add_objects(objects);
  const uint64_t total = store.n_objects();
  if (arguments.json_output) {
    std::cout << json{{"store", arguments.store}, {"added", added}, {"objects", total}}.dump(1) << "\n";
    return;
  }
  std::cout << fmt::format("added {} object(s) to {}: {} objects, {} already there\n", added, arguments.store, total,
                           objects.keys.size() - added);
}

void add_add_objects_command(CLI::App& app) {
  auto arguments = std::make_shared<AddObjectsArguments>();
  CLI::App* command = app.add_subcommand(
      "add-objects", "Append objects to a store (keys it has already are left as they are; safe beside writers)");
  command->footer(
      "The new objects' light curves are NaN until populated; the read layout and the features go stale\n"
      "(rechunk, features). Example:\n  lcstore add-objects field.lcs --objects deeper_coadd.cat");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("--objects", arguments->objects_catalog, "Detection catalog holding the objects to add")
      ->required();
  add_catalog_key_options(command, arguments->keys);
  command->add_flag("--json", arguments->json_output, "Print the result as JSON");
  command->callback([arguments] { add_objects(*arguments); });
}

std::string describe_layout(const LayoutInfo& layout) {
  if (layout.status == LayoutInfo::Status::kAbsent) return "absent";
  std::string text = fmt::format("{} chunks [{}]", layout.array, fmt::join(layout.chunks, ", "));
  if (!layout.shards.empty()) text += fmt::format(" in shards [{}]", fmt::join(layout.shards, ", "));
  return text;
}

std::string describe_range(const std::optional<std::pair<double, double>>& range) {
  return range ? fmt::format("{}, {}", range->first, range->second) : "";
}

// The measurements whose features lcstore features stored, and whether
// they still describe the light curves.
std::string describe_features(const std::map<std::string, MeasurementFeatures>& features) {
  std::vector<std::string> stored;
  for (const auto& [measurement, entry] : features) {
    if (entry.status == FeatureStatus::kAbsent) continue;
    stored.push_back(
        fmt::format("{} ({}{})", measurement, to_string(entry.status), entry.calibrated ? ", calibrated" : ""));
  }
  if (stored.empty()) return "none (run lcstore features)";
  return fmt::format("{}; none for {} other measurements", fmt::join(stored, ", "), features.size() - stored.size());
}

void print_info(const std::string& path, bool json_output) {
  const LightCurveStore store = open_store(path);
  const StoreInfo info = store.info();
  const auto features = feature_status(std::make_shared<DirectoryStore>(path), store);
  if (json_output) {
    json document = to_json(info);
    document["features"] = json::object();
    for (const auto& [measurement, entry] : features) {
      document["features"][measurement] = {{"status", to_string(entry.status)}, {"calibrated", entry.calibrated}};
    }
    std::cout << document.dump(1) << "\n";
    return;
  }
  const bool read_layout_current = info.read_layout.status == LayoutInfo::Status::kCurrent;
  std::cout << fmt::format("store:        {}\n", info.store)
            << fmt::format("description:  {} (created {})\n", info.description,
                           info.created.empty() ? "at an unrecorded time" : info.created)
            << fmt::format("shape:        [{}] (object, measurement, value, epoch)\n", fmt::join(info.shape, ", "))
            << fmt::format("objects:      {} (first and last: {})\n", info.n_objects,
                           fmt::join(info.first_and_last_object, ", "))
            << fmt::format("measurements: {}\n", fmt::join(info.measurements, ", "))
            << fmt::format("values:       {}\n", fmt::join(info.values, ", "))
            << fmt::format("epochs:       {} ({})\n", info.epochs.size(), fmt::join(info.epochs, ", "))
            << fmt::format("epoch vars:   {}\n", fmt::join(info.epoch_variables, ", "))
            << fmt::format("ra range:     [{}]\n", describe_range(info.ra_range))
            << fmt::format("dec range:    [{}]\n", describe_range(info.dec_range))
            << fmt::format("write layout: {}\n", describe_layout(info.write_layout))
            << fmt::format("read layout:  {} ({})\n", describe_layout(info.read_layout),
                           to_string(info.read_layout.status))
            << fmt::format("queries use:  the {}\n", read_layout_current ? "read layout" : "write layout")
            << fmt::format("populated:    {} of {} epochs ({})\n", info.populated_epochs.size(), info.epochs.size(),
                           fmt::join(info.populated_epochs, ", "));
  for (const StoreInfo::EpochCatalogs& written : info.epoch_catalogs) {
    if (!written.catalogs.empty())
      std::cout << fmt::format("  {} written by: {}\n", written.epoch, fmt::join(written.catalogs, ", "));
    if (!written.incomplete.empty())
      std::cout << fmt::format("  {} INCOMPLETE (rerun to complete): {}\n", written.epoch,
                               fmt::join(written.incomplete, ", "));
  }
  std::cout << fmt::format("features:     {}\n", describe_features(features));
}

void add_info_command(CLI::App& app) {
  auto arguments = std::make_shared<std::pair<std::string, bool>>();
  CLI::App* command = app.add_subcommand("info", "Summarise a store: shape, layouts, coordinates, populated epochs");
  command->footer("Example:\n  lcstore info field.lcs --json");
  command->add_option("STORE", arguments->first, "Store directory")->required();
  command->add_flag("--json", arguments->second, "Print as JSON");
  command->callback([arguments] { print_info(arguments->first, arguments->second); });
}

}  // namespace

void add_store_commands(CLI::App& app) {
  add_create_command(app);
  add_rechunk_command(app);
  add_info_command(app);
  add_add_epochs_command(app);
  add_add_objects_command(app);
}

}  // namespace lcstore::cli
