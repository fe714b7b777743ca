// `lcstore populate`: epoch catalogs into a store, several at once.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "cli/option_names.h"
#include "cli/progress.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/populate_catalogs.h"

namespace lcstore::cli {

using nlohmann::json;
using namespace lcstore::lightcurve;

namespace {

struct PopulateArguments {
  std::string store;
  std::string epoch;
  std::string epoch_from_name;
  std::vector<std::string> catalogs;
  std::string strategy = "v0";
  catalog::CatalogKeys keys;
  bool invalid_to_nan = false;
  bool allow_empty = false;
  bool skip_unknown_objects = false;
  bool skip_incomplete = false;
  bool force = false;
  std::string durability = "commit";
  bool no_overwrite = false;
  bool add_epochs = false;
  std::string match = "key";
  bool add_unmatched = false;
  unsigned threads = default_threads();
  bool json_output = false;
  bool quiet = false;
};

// Set by the first SIGINT/SIGTERM during populate: the catalogs in hand
// finish (so they are journaled) and no more start. A second signal kills at
// once, which is safe too: chunks are replaced atomically and an unfinished
// catalog is not journaled, so a rerun redoes it.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_interrupt(int signal) {
  interrupted = true;
  std::signal(signal, SIG_DFL);
}

// Each catalog with its epoch: --epoch for a single catalog, or the first
// group of --epoch-from-name matched against the file name.
std::vector<CatalogFile> catalog_files(const PopulateArguments& arguments) {
  if (!arguments.epoch.empty()) {
    if (arguments.catalogs.size() != 1) {
      throw Error(ErrorKind::kInvalidArgument, "--epoch",
                  "takes exactly one catalog; use --epoch-from-name for several");
    }
    return {{arguments.catalogs[0], arguments.epoch}};
  }
  if (arguments.epoch_from_name.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "populate", "give --epoch KEY or --epoch-from-name REGEX");
  }
  return catalog_files_by_name({arguments.catalogs.begin(), arguments.catalogs.end()}, arguments.epoch_from_name);
}

// `--match`: "key", "position" (1 arcsec) or "position:RADIUS"; the radius
// in arcseconds, or nullopt for matching by key. An error message when the
// text is none of them.
std::variant<std::optional<double>, std::string> parse_match(const std::string& text) {
  if (text == "key") return std::nullopt;
  if (text == "position") return 1.0;
  const std::string prefix = "position:";
  if (text.starts_with(prefix)) {
    const std::string radius = text.substr(prefix.size());
    double value = 0;
    const auto [end, error] = std::from_chars(radius.data(), radius.data() + radius.size(), value);
    if (error == std::errc() && end == radius.data() + radius.size() && value > 0 && std::isfinite(value)) return value;
    return fmt::format("\"{}\" is not a positive radius in arcseconds", radius);
  }
  return fmt::format("\"{}\" is not key, position or position:RADIUS", text);
}

std::string error_text(const Error& error) {
  const Error in_words = in_cli_words(error);
  return fmt::format("{}: {}", to_string(in_words.kind()), in_words.what());
}

json to_json(const CatalogReport& report) {
  json out = {
      {"catalog", report.catalog.path.string()}, {"epoch", report.catalog.epoch}, {"status", to_string(report.status)}};
  if (report.error) {
    out["error"] = error_text(*report.error);
    return out;
  }
  const PopulateResult& result = report.result;
  out["format"] = report.format ? catalog::to_string(*report.format) : "";
  out["values_written"] = result.values_written;
  out["objects_written"] = result.objects_written;
  out["finite_cells_overwritten"] = result.finite_cells_overwritten;
  out["unknown_objects_skipped"] = result.unknown_objects_skipped;
  out["unmatched_rows_skipped"] = result.unmatched_rows_skipped;
  out["farther_rows_skipped"] = result.farther_rows_skipped;
  out["objects_added"] = result.objects_added;
  out["incomplete_measurements_skipped"] = result.incomplete_measurements_skipped;
  out["measurements_ignored"] = result.measurements_ignored;
  return out;
}

std::string describe(const CatalogReport& report) {
  const std::string head = fmt::format("epoch {} <- {}", report.catalog.epoch, report.catalog.path.string());
  if (report.status == CatalogReport::Status::kFailed)
    return fmt::format("{}: FAILED, nothing written: {}", head, error_text(*report.error));
  if (report.status == CatalogReport::Status::kPartlyWritten)
    return fmt::format("{}: FAILED, partly written: {}", head, error_text(*report.error));
  if (report.status == CatalogReport::Status::kAlreadyDone)
    return fmt::format("{}: already populated from this catalog, skipped (--force rewrites)", head);
  const PopulateResult& result = report.result;
  std::string line = fmt::format("{}: {} values of {} objects ({})", head, result.values_written,
                                 result.objects_written, catalog::to_string(*report.format));
  if (result.finite_cells_overwritten != 0)
    line += fmt::format("; overwrote {} finite cells", result.finite_cells_overwritten);
  if (result.unknown_objects_skipped != 0)
    line += fmt::format("; skipped {} unknown objects", result.unknown_objects_skipped);
  if (result.objects_added != 0) line += fmt::format("; added {} new objects (unmatched rows)", result.objects_added);
  if (result.unmatched_rows_skipped != 0)
    line += fmt::format("; skipped {} rows with no object within the radius", result.unmatched_rows_skipped);
  if (result.farther_rows_skipped != 0)
    line += fmt::format("; skipped {} rows whose object a nearer row matched", result.farther_rows_skipped);
  if (!result.incomplete_measurements_skipped.empty())
    line +=
        fmt::format("; skipped incomplete measurements {}", fmt::join(result.incomplete_measurements_skipped, ", "));
  return line;
}

bool failed(const CatalogReport& report) {
  return report.status == CatalogReport::Status::kFailed || report.status == CatalogReport::Status::kPartlyWritten;
}

struct Totals {
  size_t done = 0, failed = 0, already_done = 0, not_started = 0;
  uint64_t values_written = 0;
};

Totals totals_of(const std::vector<CatalogReport>& reports) {
  Totals totals;
  for (const CatalogReport& report : reports) {
    totals.not_started += report.status == CatalogReport::Status::kNotStarted;
    totals.failed += failed(report);
    totals.already_done += report.status == CatalogReport::Status::kAlreadyDone;
    totals.values_written += report.result.values_written;
  }
  totals.done = reports.size() - totals.not_started;
  return totals;
}

void print_summary(const std::vector<CatalogReport>& reports, const Totals& totals,
                   const PopulateArguments& arguments) {
  if (arguments.json_output) {
    json catalogs = json::array();
    for (const CatalogReport& report : reports)
      if (report.status != CatalogReport::Status::kNotStarted) catalogs.push_back(to_json(report));
    std::cout << json{{"catalogs", catalogs},
                      {"failed", totals.failed},
                      {"already_done", totals.already_done},
                      {"interrupted", interrupted.load()},
                      {"not_started", totals.not_started},
                      {"values_written", totals.values_written}}
                     .dump(1)
              << "\n";
  } else if (reports.size() > 1 && !arguments.quiet) {
    std::cout << fmt::format("{} catalogs: {} written, {} already done, {} failed; {} values\n", totals.done,
                             totals.done - totals.failed - totals.already_done, totals.already_done, totals.failed,
                             totals.values_written);
  }
}

int populate(const PopulateArguments& arguments) {
  if (arguments.add_unmatched && !std::get<std::optional<double>>(parse_match(arguments.match))) {
    throw Error(ErrorKind::kInvalidArgument, "--add-unmatched",
                "adds rows unmatched by position; give --match position");
  }
  const std::vector<CatalogFile> catalogs = catalog_files(arguments);
  PopulateCatalogsOptions options{
      .populate = {.strategy = parse_strategy(arguments.strategy),
                   .keys = arguments.keys,
                   .skip_unknown_objects = arguments.skip_unknown_objects,
                   .skip_incomplete = arguments.skip_incomplete,
                   .force = arguments.force,
                   .no_overwrite = arguments.no_overwrite,
                   .match_radius_arcsec = std::get<std::optional<double>>(parse_match(arguments.match)),
                   .add_unmatched_objects = arguments.add_unmatched},
      .invalid_to_nan = arguments.invalid_to_nan,
      .allow_empty = arguments.allow_empty,
      .threads = arguments.threads,
      .stop = &interrupted};
  LightCurveStore store =
      open_store(arguments.store, arguments.durability == "none" ? Durability::kNone : Durability::kSyncOnCommit);
  if (arguments.add_epochs) {
    std::vector<std::string> keys;  // each once: several catalogs may share an epoch
    std::unordered_set<std::string> seen;
    for (const CatalogFile& catalog : catalogs) {
      if (seen.insert(catalog.epoch).second) keys.push_back(catalog.epoch);
    }
    store.add_epochs(EpochTable::from_keys(keys));
  }
  Progress progress("populate", catalogs.size(), !arguments.quiet && !arguments.json_output);
  options.on_report = [&](const CatalogReport& report) {
    if (failed(report) && !arguments.json_output) {
      std::cerr << "lcstore: " << describe(report) << "\n";
    } else if (!arguments.quiet && !arguments.json_output) {
      progress.print_line(describe(report));
    }
    progress.advance();
  };
  interrupted = false;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const std::vector<CatalogReport> reports = populate_catalogs(store, catalogs, options);
  progress.finish();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  const Totals totals = totals_of(reports);
  print_summary(reports, totals, arguments);
  if (interrupted) {
    std::cerr << fmt::format(
        "lcstore: interrupted: {} of {} catalogs done and journaled, {} not started; "
        "run the same command again to continue\n",
        totals.done, catalogs.size(), totals.not_started);
    return 130;
  }
  return totals.failed == 0 ? 0 : 1;
}

}  // namespace

void add_populate_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<PopulateArguments>();
  CLI::App* command =
      app.add_subcommand("populate", "Write epoch catalogs into a store (safe with concurrent writers)");
  command->footer(
      "Examples:\n  lcstore populate field.lcs --epoch r1234 epoch_r1234.cat\n"
      "  lcstore populate field.lcs --epoch-from-name 'epoch_(r[0-9]+)' catalogs/*.cat -j 4");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("CATALOG", arguments->catalogs, "Epoch catalogs (any supported format)")->required();
  auto* epoch = command->add_option("--epoch", arguments->epoch, "Epoch key of the one catalog");
  auto* from_name =
      command->add_option("--epoch-from-name", arguments->epoch_from_name,
                          "Regular expression whose first group, found in each file name, is its epoch key");
  epoch->excludes(from_name);
  command
      ->add_option("--strategy", arguments->strategy,
                   "v0 = masked_slab (stage the slab, masked write), v1 = read_modify_write (region transaction), "
                   "v2 = scatter (one orthogonal write)")
      ->capture_default_str();
  add_catalog_key_options(command, arguments->keys);
  command->add_flag("--invalid-to-nan", arguments->invalid_to_nan,
                    "Store NaN for magnitudes outside 0 < mag < 50 or errors outside 0 < err < 10 (SExtractor's 99)");
  command->add_flag("--allow-empty", arguments->allow_empty,
                    "Accept catalogs of no rows (an epoch where nothing was detected) instead of failing");
  command->add_flag("--skip-unknown-objects", arguments->skip_unknown_objects, "Skip catalog objects not in the store");
  command->add_flag("--skip-incomplete", arguments->skip_incomplete,
                    "Skip measurements lacking a value column instead of failing");
  command->add_flag("--add-epochs", arguments->add_epochs,
                    "Add the catalogs' epochs the store does not have yet (as `lcstore add-epochs`) first");
  command->add_flag("--force", arguments->force, "Rewrite epochs already populated from the same catalog");
  command
      ->add_option("--durability", arguments->durability,
                   "commit: each catalog's cells reach the disk before the journal records it (one file system "
                   "flush per catalog); none: rely on the page cache (scratch stores; a machine crash may lose "
                   "journaled catalogs)")
      ->check(CLI::IsMember({"commit", "none"}))
      ->capture_default_str();
  command->add_flag("--no-overwrite", arguments->no_overwrite,
                    "Refuse (write nothing of) a catalog that would change finite values already stored");
  command
      ->add_option("--match", arguments->match,
                   "key: a catalog row is the object of its key (NUMBER); position[:RADIUS]: the nearest object "
                   "within RADIUS arcseconds (default 1) of its RA and Dec, for catalogs detected on each epoch")
      ->check(CLI::Validator(
          [](const std::string& text) {
            const auto parsed = parse_match(text);
            return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : std::string();
          },
          "key|position[:RADIUS]"))
      ->capture_default_str();
  command->add_flag("--add-unmatched", arguments->add_unmatched,
                    "With --match position: rows no object matches become new objects, keyed <epoch>-<row key>, "
                    "before the catalog is written");
  command->add_option("-j,--jobs", arguments->threads, "Catalogs populated at once (default: cores)");
  command->add_flag("--json", arguments->json_output, "Print the results as JSON");
  command->add_flag("-q,--quiet", arguments->quiet, "Print only errors");
  command->callback([arguments, &exit_code] { exit_code = populate(*arguments); });
}

}  // namespace lcstore::cli
