// `lcstore create | populate | rechunk | info | lightcurve | epoch | region |
// cone`: the light-curve store from the command line.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

using nlohmann::json;
using namespace lcstore::lightcurve;

namespace {

unsigned default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

LightCurveStore open_store(const std::string& path) {
  if (!std::filesystem::is_directory(path)) throw Error(ErrorKind::kNotFound, path, "no such directory");
  return LightCurveStore::open(std::make_shared<DirectoryStore>(path));
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Byte counts such as 512MiB, 1GiB, 100000.
uint64_t parse_size(const std::string& text) {
  static const std::regex pattern(R"(\s*(\d+)\s*(|k|K|KiB|M|MiB|G|GiB)\s*)");
  std::smatch match;
  if (!std::regex_match(text, match, pattern)) {
    throw Error(ErrorKind::kInvalidArgument, "--memory", fmt::format("\"{}\" is not a size like 512MiB or 2GiB", text));
  }
  const std::string unit = match[2];
  const uint64_t scale = unit.empty() ? 1 : unit[0] == 'G' ? 1ull << 30 : unit[0] == 'M' ? 1ull << 20 : 1ull << 10;
  return std::stoull(match[1]) * scale;
}

// ---- create ---------------------------------------------------------------

// How catalog columns name the store's measurements and objects, as create
// and populate both take them.
struct CatalogKeys {
  std::string table_key;
  std::string object_key_column;
  std::string object_key_prefix;
};

void add_catalog_key_options(CLI::App* command, CatalogKeys& keys) {
  command->add_option("--table-key", keys.table_key, "Prefix of the measurement names (ch1_sci -> ch1_sci-auto)");
  command->add_option("--object-key", keys.object_key_column, "Column identifying objects (default NUMBER, else id)");
  command->add_option("--object-prefix", keys.object_key_prefix, "Prefix of the object keys (I -> I123)");
}

struct CreateArguments {
  std::string store;
  std::string objects_catalog;
  std::string epochs;
  std::string epochs_file;
  std::string measurements;
  std::string values = "mag,mag_err";
  uint64_t object_chunk = 1000;
  std::vector<std::string> codecs;
  CatalogKeys keys;
  std::string description = "lcstore light curves";
  bool json_output = false;
};

void create(const CreateArguments& arguments) {
  CreateOptions options;
  options.values.clear();
  for (const std::string& name : split_list(arguments.values)) options.values.push_back(catalog::parse_value(name));
  if (options.values.empty()) throw Error(ErrorKind::kInvalidArgument, "--values", "names no value");
  catalog::Catalog coadd = catalog::read_catalog(arguments.objects_catalog);
  catalog::ColumnMapping mapping(coadd.table, {.values = options.values,
                                               .table_key = arguments.keys.table_key,
                                               .object_key_column = arguments.keys.object_key_column,
                                               .object_key_prefix = arguments.keys.object_key_prefix});
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

// ---- populate -------------------------------------------------------------

struct PopulateArguments {
  std::string store;
  std::string epoch;
  std::string epoch_from_name;
  std::vector<std::string> catalogs;
  std::string strategy = "v0";
  CatalogKeys keys;
  bool invalid_to_nan = false;
  bool skip_unknown_objects = false;
  bool skip_incomplete = false;
  bool force = false;
  unsigned threads = default_threads();
  bool json_output = false;
  bool quiet = false;
};

// Set by the first SIGINT/SIGTERM during populate: workers finish the
// catalog in hand (so it is journaled) and take no more. A second signal
// kills at once, which is safe too: chunks are replaced atomically and an
// unfinished catalog is not journaled, so a rerun redoes it.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_interrupt(int signal) {
  interrupted = true;
  std::signal(signal, SIG_DFL);
}

// The epoch key of each catalog: --epoch for a single catalog, or the first
// group of --epoch-from-name matched against the file name.
std::vector<std::string> epochs_of(const PopulateArguments& arguments) {
  if (!arguments.epoch.empty()) {
    if (arguments.catalogs.size() != 1) {
      throw Error(ErrorKind::kInvalidArgument, "--epoch",
                  "takes exactly one catalog; use --epoch-from-name for several");
    }
    return {arguments.epoch};
  }
  if (arguments.epoch_from_name.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "populate", "give --epoch KEY or --epoch-from-name REGEX");
  }
  std::regex pattern;
  try {
    pattern = std::regex(arguments.epoch_from_name);
  } catch (const std::regex_error& error) {
    throw Error(ErrorKind::kInvalidArgument, "--epoch-from-name", error.what());
  }
  std::vector<std::string> epochs;
  for (const std::string& path : arguments.catalogs) {
    const std::string name = std::filesystem::path(path).filename().string();
    std::smatch match;
    if (!std::regex_search(name, match, pattern) || match.size() < 2 || !match[1].matched) {
      throw Error(
          ErrorKind::kInvalidArgument, path,
          fmt::format("the file name does not match --epoch-from-name \"{}\" with a group", arguments.epoch_from_name));
    }
    epochs.push_back(match[1]);
  }
  return epochs;
}

json populate_one(LightCurveStore& store, const std::string& epoch, const std::string& path,
                  const PopulateArguments& arguments) {
  json report = {{"catalog", path}, {"epoch", epoch}};
  try {
    catalog::Catalog catalog = catalog::read_catalog(path, {.invalid_to_nan = arguments.invalid_to_nan});
    PopulateOptions options{
        .strategy = parse_strategy(arguments.strategy),
        .table_key = arguments.keys.table_key,
        .object_key_column = arguments.keys.object_key_column,
        .object_key_prefix = arguments.keys.object_key_prefix,
        .skip_unknown_objects = arguments.skip_unknown_objects,
        .skip_incomplete = arguments.skip_incomplete,
        .journal_id = catalog_content_id(path) + (arguments.invalid_to_nan ? " invalid_to_nan" : ""),
        .force = arguments.force};
    PopulateResult result = store.populate(epoch, catalog.table, options);
    report["status"] = result.already_done ? "already_done" : "written";
    report["format"] = catalog::to_string(catalog.format);
    report["values_written"] = result.values_written;
    report["objects_written"] = result.objects_written;
    report["unknown_objects_skipped"] = result.unknown_objects_skipped;
    report["incomplete_measurements_skipped"] = result.incomplete_measurements_skipped;
    report["measurements_ignored"] = result.measurements_ignored;
  } catch (const Error& error) {
    report["status"] = "failed";
    report["error"] = fmt::format("{}: {}", to_string(error.kind()), error.what());
  }
  return report;
}

std::string describe_report(const json& report) {
  const std::string head =
      fmt::format("epoch {} <- {}", report["epoch"].get<std::string>(), report["catalog"].get<std::string>());
  const std::string status = report["status"];
  if (status == "failed")
    return fmt::format("{}: FAILED, nothing written: {}", head, report["error"].get<std::string>());
  if (status == "already_done")
    return fmt::format("{}: already populated from this catalog, skipped (--force rewrites)", head);
  std::string line = fmt::format("{}: {} values of {} objects ({})", head, report["values_written"].get<uint64_t>(),
                                 report["objects_written"].get<uint64_t>(), report["format"].get<std::string>());
  if (report["unknown_objects_skipped"] != 0)
    line += fmt::format("; skipped {} unknown objects", report["unknown_objects_skipped"].get<uint64_t>());
  if (!report["incomplete_measurements_skipped"].empty()) {
    line += fmt::format("; skipped incomplete measurements {}",
                        fmt::join(report["incomplete_measurements_skipped"].get<std::vector<std::string>>(), ", "));
  }
  return line;
}

int populate(const PopulateArguments& arguments) {
  const std::vector<std::string> epochs = epochs_of(arguments);
  parse_strategy(arguments.strategy);
  LightCurveStore store = open_store(arguments.store);
  std::vector<json> reports(arguments.catalogs.size());
  std::atomic<size_t> next{0};
  Progress progress("populate", arguments.catalogs.size(), !arguments.quiet && !arguments.json_output);
  interrupted = false;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  auto work = [&] {
    for (size_t i = next++; i < arguments.catalogs.size() && !interrupted; i = next++) {
      reports[i] = populate_one(store, epochs[i], arguments.catalogs[i], arguments);
      if (reports[i]["status"] == "failed" && !arguments.json_output) {
        std::cerr << "lcstore: " << describe_report(reports[i]) << "\n";
      } else if (!arguments.quiet && !arguments.json_output) {
        progress.print_line(describe_report(reports[i]));
      }
      progress.advance();
    }
  };
  std::vector<std::thread> workers;
  const size_t threads = std::min<size_t>(std::max(1u, arguments.threads), arguments.catalogs.size());
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  progress.finish();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  size_t failed = 0, skipped = 0, not_started = 0;
  uint64_t values = 0;
  for (json& report : reports) {
    if (report.is_null()) {
      ++not_started;
      continue;
    }
    failed += report["status"] == "failed";
    skipped += report["status"] == "already_done";
    values += report.value("values_written", uint64_t{0});
  }
  std::erase_if(reports, [](const json& report) { return report.is_null(); });
  if (arguments.json_output) {
    std::cout << json{{"catalogs", reports},        {"failed", failed},
                      {"already_done", skipped},    {"interrupted", interrupted.load()},
                      {"not_started", not_started}, {"values_written", values}}
                     .dump(1)
              << "\n";
  } else if (arguments.catalogs.size() > 1 && !arguments.quiet) {
    std::cout << fmt::format("{} catalogs: {} written, {} already done, {} failed; {} values\n", reports.size(),
                             reports.size() - failed - skipped, skipped, failed, values);
  }
  if (interrupted) {
    std::cerr << fmt::format(
        "lcstore: interrupted: {} of {} catalogs done and journaled, {} not started; "
        "run the same command again to continue\n",
        reports.size(), arguments.catalogs.size(), not_started);
    return 130;
  }
  return failed == 0 ? 0 : 1;
}

// ---- rechunk and info -----------------------------------------------------

struct RechunkArguments {
  std::string store;
  uint64_t object_chunk = 256;
  std::string memory = "1GiB";
  unsigned threads = default_threads();
  bool json_output = false;
  bool quiet = false;
};

void rechunk(const RechunkArguments& arguments) {
  LightCurveStore store = open_store(arguments.store);
  const auto start = std::chrono::steady_clock::now();
  const uint64_t budget = parse_size(arguments.memory);
  Progress progress("rechunk (objects)", store.objects().size(), !arguments.quiet && !arguments.json_output);
  store.rechunk({.object_chunk = arguments.object_chunk,
                 .memory_budget = budget,
                 .threads = arguments.threads,
                 .progress = [&](uint64_t done, uint64_t) { progress.set(done); }});
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const zarr::Shape& shape = store.write_layout().shape();
  const uint64_t shard_objects = std::min(arguments.object_chunk, shape[0]);
  const uint64_t shards = (shape[0] + shard_objects - 1) / shard_objects;
  if (arguments.json_output) {
    std::cout << json{{"store", arguments.store},       {"shards", shards},
                      {"shard_objects", shard_objects}, {"memory_budget", budget},
                      {"threads", arguments.threads},   {"seconds", seconds}}
                     .dump(1)
              << "\n";
  } else if (!arguments.quiet) {
    std::cout << fmt::format("rechunked {}: read layout of {} shards of {} objects in {:.2f} s\n", arguments.store,
                             shards, shard_objects, seconds);
  }
}

void print_info(const std::string& path, bool json_output) {
  json info = open_store(path).info();
  if (json_output) {
    std::cout << info.dump(1) << "\n";
    return;
  }
  auto list = [](const json& items) {
    std::vector<std::string> texts;
    for (const json& item : items) texts.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    return fmt::format("{}", fmt::join(texts, ", "));
  };
  auto layout = [&](const json& layout_info) {
    if (!layout_info.contains("shape")) return std::string("absent");
    std::string text =
        fmt::format("{} chunks [{}]", layout_info["array"].get<std::string>(), list(layout_info["chunks"]));
    if (layout_info.contains("shards")) text += fmt::format(" in shards [{}]", list(layout_info["shards"]));
    return text;
  };
  std::cout << fmt::format("store:        {}\n", info["store"].get<std::string>())
            << fmt::format("description:  {} (created {})\n", info["description"].get<std::string>(),
                           info["created"].get<std::string>())
            << fmt::format("shape:        [{}] (object, measurement, value, epoch)\n", list(info["shape"]))
            << fmt::format("objects:      {} (first and last: {})\n", info["n_objects"].get<uint64_t>(),
                           list(info["object_keys"]))
            << fmt::format("measurements: {}\n", list(info["measurements"]))
            << fmt::format("values:       {}\n", list(info["values"]))
            << fmt::format("epochs:       {} ({})\n", info["epochs"].size(), list(info["epochs"]))
            << fmt::format("epoch vars:   {}\n", list(info["epoch_variables"]))
            << fmt::format("ra range:     [{}]\n", list(info["ra_range"]))
            << fmt::format("dec range:    [{}]\n", list(info["dec_range"]))
            << fmt::format("write layout: {}\n", layout(info["write_layout"]))
            << fmt::format("read layout:  {} ({})\n", layout(info["read_layout"]),
                           info["read_layout"]["status"].get<std::string>())
            << fmt::format("queries use:  the {}\n", info["queries_use"].get<std::string>())
            << fmt::format("populated:    {} of {} epochs ({})\n", info["populated_epochs"].size(),
                           info["epochs"].size(), list(info["populated_epochs"]));
}

// ---- queries --------------------------------------------------------------

void warn_if_read_layout_stale(const LightCurveStore& store) {
  if (!store.read_layout_current()) {
    std::cerr << "lcstore: note: the read layout is missing or older than the last populate; reading the write layout "
                 "(slower). Run `lcstore rechunk` to refresh it.\n";
  }
}

Cell epoch_variable_cell(const EpochTable::Variable& variable, size_t epoch) {
  return std::visit([&](const auto& values) { return Cell(values[epoch]); }, variable.values);
}

struct LightCurveArguments {
  std::string store;
  std::vector<std::string> objects;
  std::string objects_file;
  std::string measurement;
  OutputFormat format = OutputFormat::kTable;
};

void print_light_curves(const LightCurveArguments& arguments) {
  LightCurveStore store = open_store(arguments.store);
  std::vector<std::string> objects = arguments.objects;
  if (!arguments.objects_file.empty()) {
    std::ifstream file(arguments.objects_file);
    if (!file) throw Error(ErrorKind::kIo, arguments.objects_file, "cannot be read");
    for (std::string line; std::getline(file, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) objects.push_back(line);
    }
  }
  if (objects.empty()) throw Error(ErrorKind::kInvalidArgument, "lightcurve", "name at least one object");
  warn_if_read_layout_stale(store);
  std::optional<std::string> measurement;
  if (!arguments.measurement.empty()) measurement = arguments.measurement;

  const EpochTable& epochs = store.epochs();
  std::vector<std::string> columns = {"object", "epoch"};
  for (const EpochTable::Variable& variable : epochs.variables) columns.push_back("epoch_" + variable.name);
  columns.push_back("measurement");
  for (const std::string& value : store.values()) columns.push_back(value);
  RecordWriter writer(std::cout, arguments.format, columns);
  const size_t n_epochs = epochs.keys.size();
  const size_t n_values = store.values().size();
  // Light curves of 1,000 epochs take 320 kB each: the objects asked for
  // are read a batch at a time, and printed as they come.
  constexpr uint64_t kBatchBytes = 64 << 20;
  std::vector<Cell> record;
  store.visit_light_curves(objects, measurement, kBatchBytes, [&](const LightCurve& curve) {
    for (size_t m = 0; m < curve.measurements.size(); ++m) {
      for (size_t e = 0; e < n_epochs; ++e) {
        record = {curve.object, epochs.keys[e]};
        for (const EpochTable::Variable& variable : epochs.variables)
          record.push_back(epoch_variable_cell(variable, e));
        record.push_back(curve.measurements[m]);
        for (size_t v = 0; v < n_values; ++v) record.push_back(curve.data[(m * n_values + v) * n_epochs + e]);
        writer.add(record);
      }
    }
  });
  writer.finish();
}

void print_epoch(const std::string& path, const std::string& key, OutputFormat format) {
  LightCurveStore store = open_store(path);
  EpochSlice slice = store.epoch(key);
  std::vector<std::string> columns = {"object", "measurement"};
  for (const std::string& value : store.values()) columns.push_back(value);
  RecordWriter writer(std::cout, format, columns);
  std::vector<Cell> record;
  const size_t n_measurements = store.measurements().size();
  const size_t n_values = store.values().size();
  for (size_t o = 0; o < store.objects().size(); ++o) {
    for (size_t m = 0; m < n_measurements; ++m) {
      record = {store.objects()[o], store.measurements()[m]};
      for (size_t v = 0; v < n_values; ++v) record.push_back(slice.data[(o * n_measurements + m) * n_values + v]);
      writer.add(record);
    }
  }
  writer.finish();
}

void print_matches(const LightCurveStore& store, const std::vector<ObjectMatch>& matches, bool with_separation,
                   OutputFormat format) {
  std::vector<std::string> columns = {"object", "ra", "dec", "x_image", "y_image"};
  if (with_separation) columns.push_back("separation_arcsec");
  RecordWriter writer(std::cout, format, columns);
  const ObjectTable& objects = store.object_table();
  std::vector<Cell> record;
  for (const ObjectMatch& match : matches) {
    record = {objects.keys[match.index], objects.ra[match.index], objects.dec[match.index], objects.x[match.index],
              objects.y[match.index]};
    if (with_separation) record.push_back(match.separation_arcsec);
    writer.add(record);
  }
  writer.finish();
}

}  // namespace

void add_lightcurve_commands(CLI::App& app, int& exit_code) {
  auto create_arguments = std::make_shared<CreateArguments>();
  CLI::App* create_command =
      app.add_subcommand("create", "Create a light-curve store from the detection catalog and the epoch list");
  create_command->footer(
      "Example:\n  lcstore create field.lcs --objects coadd.cat --epochs-file epochs.csv --object-chunk 1000\n"
      "  (epochs.csv: a header 'epoch,mjd,aorkey' and one row per epoch, or one epoch key per line)");
  create_command->add_option("STORE", create_arguments->store, "Directory of the new store")->required();
  create_command
      ->add_option("--objects", create_arguments->objects_catalog, "Detection (coadd) catalog defining the objects")
      ->required();
  auto* epochs = create_command->add_option("--epochs", create_arguments->epochs, "Comma-separated epoch keys");
  auto* epochs_file =
      create_command->add_option("--epochs-file", create_arguments->epochs_file,
                                 "Epoch table: keys one per line, or CSV with columns epoch,<variables>...");
  epochs->excludes(epochs_file);
  create_command->add_option("--measurements", create_arguments->measurements,
                             "Comma-separated measurements (default: every complete one of the catalog)");
  create_command->add_option("--values", create_arguments->values, "Comma-separated values: mag,mag_err,flux,flux_err")
      ->capture_default_str();
  create_command->add_option("--object-chunk", create_arguments->object_chunk, "Objects per chunk of the write layout")
      ->capture_default_str();
  create_command->add_option("--codec", create_arguments->codecs,
                             "Compressor of the chunks (repeatable): zstd[:L], blosc:lz4[:L], ...");
  add_catalog_key_options(create_command, create_arguments->keys);
  create_command->add_option("--description", create_arguments->description, "The store's description attribute");
  create_command->add_flag("--json", create_arguments->json_output, "Print the result as JSON");
  create_command->callback([create_arguments] {
    if (create_arguments->epochs.empty() && create_arguments->epochs_file.empty()) {
      throw Error(ErrorKind::kInvalidArgument, "create", "give --epochs K1,K2,... or --epochs-file FILE");
    }
    create(*create_arguments);
  });

  auto populate_arguments = std::make_shared<PopulateArguments>();
  CLI::App* populate_command =
      app.add_subcommand("populate", "Write epoch catalogs into a store (safe with concurrent writers)");
  populate_command->footer(
      "Examples:\n  lcstore populate field.lcs --epoch r1234 epoch_r1234.cat\n"
      "  lcstore populate field.lcs --epoch-from-name 'epoch_(r[0-9]+)' catalogs/*.cat -j 4");
  populate_command->add_option("STORE", populate_arguments->store, "Store directory")->required();
  populate_command->add_option("CATALOG", populate_arguments->catalogs, "Epoch catalogs (any supported format)")
      ->required();
  auto* epoch = populate_command->add_option("--epoch", populate_arguments->epoch, "Epoch key of the one catalog");
  auto* from_name =
      populate_command->add_option("--epoch-from-name", populate_arguments->epoch_from_name,
                                   "Regular expression whose first group, found in each file name, is its epoch key");
  epoch->excludes(from_name);
  populate_command
      ->add_option("--strategy", populate_arguments->strategy,
                   "v0 (masked slab), v1 (region transaction) or v2 (scatter)")
      ->capture_default_str();
  add_catalog_key_options(populate_command, populate_arguments->keys);
  populate_command->add_flag(
      "--invalid-to-nan", populate_arguments->invalid_to_nan,
      "Store NaN for magnitudes outside 0 < mag < 50 or errors outside 0 < err < 10 (SExtractor's 99)");
  populate_command->add_flag("--skip-unknown-objects", populate_arguments->skip_unknown_objects,
                             "Skip catalog objects not in the store");
  populate_command->add_flag("--skip-incomplete", populate_arguments->skip_incomplete,
                             "Skip measurements lacking a value column instead of failing");
  populate_command->add_flag("--force", populate_arguments->force,
                             "Rewrite epochs already populated from the same catalog");
  populate_command->add_option("-j,--jobs", populate_arguments->threads, "Catalogs populated at once (default: cores)");
  populate_command->add_flag("--json", populate_arguments->json_output, "Print the results as JSON");
  populate_command->add_flag("-q,--quiet", populate_arguments->quiet, "Print only errors");
  populate_command->callback([populate_arguments, &exit_code] { exit_code = populate(*populate_arguments); });

  auto rechunk_arguments = std::make_shared<RechunkArguments>();
  CLI::App* rechunk_command = app.add_subcommand("rechunk", "Build the read layout (all epochs of an object together)");
  rechunk_command->footer("Example:\n  lcstore rechunk field.lcs --object-chunk 256 --memory 2GiB -j 4");
  rechunk_command->add_option("STORE", rechunk_arguments->store, "Store directory")->required();
  rechunk_command->add_option("--object-chunk", rechunk_arguments->object_chunk, "Objects per shard of the read layout")
      ->capture_default_str();
  rechunk_command->add_option("--memory", rechunk_arguments->memory, "Memory budget for staged data")
      ->capture_default_str();
  rechunk_command->add_option("-j,--jobs", rechunk_arguments->threads, "Threads (default: cores)");
  rechunk_command->add_flag("--json", rechunk_arguments->json_output, "Print the result as JSON");
  rechunk_command->add_flag("-q,--quiet", rechunk_arguments->quiet, "Print only errors");
  rechunk_command->callback([rechunk_arguments] { rechunk(*rechunk_arguments); });

  auto info_arguments = std::make_shared<std::pair<std::string, bool>>();
  CLI::App* info_command =
      app.add_subcommand("info", "Summarise a store: shape, layouts, coordinates, populated epochs");
  info_command->footer("Example:\n  lcstore info field.lcs --json");
  info_command->add_option("STORE", info_arguments->first, "Store directory")->required();
  info_command->add_flag("--json", info_arguments->second, "Print as JSON");
  info_command->callback([info_arguments] { print_info(info_arguments->first, info_arguments->second); });

  auto curve_arguments = std::make_shared<LightCurveArguments>();
  CLI::App* curve_command = app.add_subcommand("lightcurve", "Print the light curves of objects");
  curve_command->footer(
      "Examples:\n  lcstore lightcurve field.lcs 42 --measurement auto\n"
      "  lcstore lightcurve field.lcs --objects-file ids.txt --format csv > curves.csv");
  curve_command->add_option("STORE", curve_arguments->store, "Store directory")->required();
  curve_command->add_option("OBJECT", curve_arguments->objects, "Object keys");
  curve_command->add_option("--objects-file", curve_arguments->objects_file, "File of object keys, one per line");
  curve_command->add_option("--measurement", curve_arguments->measurement, "Only this measurement");
  add_format_options(curve_command, curve_arguments->format);
  curve_command->callback([curve_arguments] { print_light_curves(*curve_arguments); });

  struct EpochArguments {
    std::string store, key;
    OutputFormat format = OutputFormat::kTable;
  };
  auto epoch_arguments = std::make_shared<EpochArguments>();
  CLI::App* epoch_command = app.add_subcommand("epoch", "Print every object's values at one epoch");
  epoch_command->footer("Example:\n  lcstore epoch field.lcs r58520832 --format csv > epoch.csv");
  epoch_command->add_option("STORE", epoch_arguments->store, "Store directory")->required();
  epoch_command->add_option("KEY", epoch_arguments->key, "Epoch key")->required();
  add_format_options(epoch_command, epoch_arguments->format);
  epoch_command->callback(
      [epoch_arguments] { print_epoch(epoch_arguments->store, epoch_arguments->key, epoch_arguments->format); });

  struct RegionArguments {
    std::string store;
    std::vector<double> ra, dec;
    OutputFormat format = OutputFormat::kTable;
  };
  auto region_arguments = std::make_shared<RegionArguments>();
  CLI::App* region_command = app.add_subcommand("region", "List the objects in an RA/Dec box (RA may wrap through 0)");
  region_command->footer("Example:\n  lcstore region field.lcs --ra 359.5 0.5 --dec -1 1   (wraps through RA 0)");
  region_command->add_option("STORE", region_arguments->store, "Store directory")->required();
  region_command->add_option("--ra", region_arguments->ra, "RA_MIN RA_MAX in degrees; RA_MIN > RA_MAX wraps")
      ->expected(2)
      ->required();
  region_command->add_option("--dec", region_arguments->dec, "DEC_MIN DEC_MAX in degrees")->expected(2)->required();
  add_format_options(region_command, region_arguments->format);
  region_command->callback([region_arguments] {
    LightCurveStore store = open_store(region_arguments->store);
    const auto& a = *region_arguments;
    print_matches(store, store.region(a.ra[0], a.ra[1], a.dec[0], a.dec[1]), false, a.format);
  });

  struct ConeArguments {
    std::string store;
    double ra = 0, dec = 0, radius = 0;
    OutputFormat format = OutputFormat::kTable;
  };
  auto cone_arguments = std::make_shared<ConeArguments>();
  CLI::App* cone_command = app.add_subcommand("cone", "List the objects within a radius of a position, nearest first");
  cone_command->footer("Example:\n  lcstore cone field.lcs --ra 265.05 --dec 65.55 --radius 30");
  cone_command->add_option("STORE", cone_arguments->store, "Store directory")->required();
  cone_command->add_option("--ra", cone_arguments->ra, "RA in degrees")->required();
  cone_command->add_option("--dec", cone_arguments->dec, "Dec in degrees")->required()->check(CLI::Range(-90.0, 90.0));
  cone_command->add_option("--radius", cone_arguments->radius, "Radius in arcseconds")
      ->required()
      ->check(CLI::PositiveNumber);
  add_format_options(cone_command, cone_arguments->format);
  cone_command->callback([cone_arguments] {
    LightCurveStore store = open_store(cone_arguments->store);
    const auto& a = *cone_arguments;
    print_matches(store, store.cone(a.ra, a.dec, a.radius), true, a.format);
  });
}

}  // namespace lcstore::cli
