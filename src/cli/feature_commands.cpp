// `lcstore features | calibrate | objects`: variability features, per-epoch
// zero points and selecting objects by feature.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/feature_query.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/store_features.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

using nlohmann::json;
using namespace lcstore::lightcurve;

namespace {

struct OpenedStore {
  std::shared_ptr<Store> store;
  LightCurveStore curves;
};

OpenedStore open_directory(const std::string& path) {
  if (!std::filesystem::is_directory(path)) throw Error(ErrorKind::kNotFound, path, "no such directory");
  auto store = std::make_shared<DirectoryStore>(path);
  return {store, LightCurveStore::open(store)};
}

// ---- features ---------------------------------------------------------------

struct FeaturesArguments {
  std::string store;
  std::vector<std::string> measurements;
  bool calibrated = false;
  std::string time_variable = "mjd";
  double min_period = 0, max_period = 0, oversample = 0;
  unsigned threads = default_threads();
  bool status_only = false, json_output = false, quiet = false;
};

void print_status(const OpenedStore& opened, bool json_output) {
  const auto status = feature_status(opened.store, opened.curves);
  if (json_output) {
    json document = json::object();
    for (const auto& [measurement, entry] : status) {
      document[measurement] = {{"status", to_string(entry.status)}, {"calibrated", entry.calibrated}};
    }
    std::cout << document.dump(2) << "\n";
    return;
  }
  for (const auto& [measurement, entry] : status) {
    std::cout << fmt::format("{}: {}{}\n", measurement, to_string(entry.status),
                             entry.status != FeatureStatus::kAbsent && entry.calibrated ? " (calibrated)" : "");
  }
}

void run_features(const FeaturesArguments& arguments) {
  const OpenedStore opened = open_directory(arguments.store);
  if (arguments.status_only) return print_status(opened, arguments.json_output);
  FeatureRunOptions options;
  options.measurements = arguments.measurements;
  options.calibrated = arguments.calibrated;
  options.time_variable = arguments.time_variable;
  options.periodogram = {arguments.min_period, arguments.max_period, arguments.oversample};
  options.threads = arguments.threads;
  const uint64_t n_measurements =
      arguments.measurements.empty() ? opened.curves.measurements().size() : arguments.measurements.size();
  Progress progress("features", opened.curves.n_objects() * n_measurements, !arguments.quiet && !arguments.json_output);
  options.progress = [&](uint64_t done, uint64_t) { progress.set(done); };
  const auto start = std::chrono::steady_clock::now();
  const FeatureRunResult result = compute_store_features(opened.store, opened.curves, options);
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double max_frequency = result.grid.minimum + static_cast<double>(result.grid.count - 1) * result.grid.step;
  if (arguments.json_output) {
    std::cout << json{{"curves", result.curves},
                      {"seconds", seconds},
                      {"calibrated", arguments.calibrated},
                      {"frequencies", result.grid.count},
                      {"min_period", 1 / max_frequency},
                      {"max_period", 1 / result.grid.minimum}}
                     .dump(2)
              << "\n";
  } else if (!arguments.quiet) {
    std::cout << fmt::format(
        "features of {} curves{} in {:.2f} s; periodogram: {} frequencies, periods {:.6g} to {:.6g}\n", result.curves,
        arguments.calibrated ? " (calibrated)" : "", seconds, result.grid.count, 1 / max_frequency,
        1 / result.grid.minimum);
  }
}

// ---- calibrate --------------------------------------------------------------

struct CalibrateArguments {
  std::string store;
  CalibrationOptions options;
  bool json_output = false;
};

void run_calibrate(const CalibrateArguments& arguments) {
  const OpenedStore opened = open_directory(arguments.store);
  const std::vector<ZeroPointFit> fits = calibrate(opened.store, opened.curves, arguments.options);
  json document = json::array();
  for (const ZeroPointFit& fitted : fits) {
    if (arguments.json_output) {
      document.push_back({{"measurement", fitted.measurement},
                          {"ensemble", fitted.ensemble},
                          {"rms", fitted.rms},
                          {"median_scatter", fitted.median_scatter},
                          {"zero_points", fitted.zero_points},
                          {"errors", fitted.errors},
                          {"stars_used", fitted.stars_used}});
      continue;
    }
    std::cout << fmt::format(
        "{}: zero points of {} epochs from {} stars: rms {:.4f} mag, median ensemble scatter {:.4f} mag "
        "(stored as epoch_{})\n",
        fitted.measurement, fitted.zero_points.size(), fitted.ensemble, fitted.rms, fitted.median_scatter,
        zero_point_variable(fitted.measurement));
  }
  if (arguments.json_output) std::cout << document.dump(2) << "\n";
}

// ---- objects ----------------------------------------------------------------

struct ObjectsArguments {
  std::string store;
  std::string measurement;
  std::string where, sort;
  uint64_t limit = 0;
  std::vector<double> cone, region;
  std::vector<std::string> columns = {"n_good", "weighted_mean", "chi2_reduced", "stetson_j", "period", "period_fap"};
  OutputFormat format = OutputFormat::kTable;
};

void run_objects(const ObjectsArguments& arguments) {
  const OpenedStore opened = open_directory(arguments.store);
  const LightCurveStore& curves = opened.curves;
  const std::string measurement = arguments.measurement.empty() ? curves.measurements().front() : arguments.measurement;
  std::optional<FeatureFilter> filter;
  if (!arguments.where.empty()) filter = FeatureFilter::parse(arguments.where);
  std::optional<FeatureOrder> order;
  if (!arguments.sort.empty()) order = FeatureOrder::parse(arguments.sort);
  std::vector<Feature> shown;
  for (const std::string& name : arguments.columns) shown.push_back(feature_named(name));
  auto show = [&](Feature feature) {
    if (std::find(shown.begin(), shown.end(), feature) == shown.end()) shown.push_back(feature);
  };
  if (filter) std::ranges::for_each(filter->features_used(), show);
  if (order) show(order->feature);

  const std::vector<double> features = read_features(opened.store, curves, measurement);
  if (feature_status(opened.store, curves).at(measurement).status == FeatureStatus::kStale) {
    std::cerr << "lcstore: note: the features of " << measurement
              << " are older than the last populate; run lcstore features again\n";
  }
  std::vector<ObjectMatch> matches;
  if (arguments.cone.size() == 3) {
    matches = curves.cone(arguments.cone[0], arguments.cone[1], arguments.cone[2]);
  } else if (arguments.region.size() == 4) {
    matches = curves.region(arguments.region[0], arguments.region[1], arguments.region[2], arguments.region[3]);
  } else {
    for (uint64_t row = 0; row < curves.n_objects(); ++row) matches.push_back({row, 0});
  }
  std::vector<uint64_t> candidates;
  std::vector<double> separation(curves.n_objects(), 0);
  for (const ObjectMatch& match : matches) {
    candidates.push_back(match.index);
    separation[match.index] = match.separation_arcsec;
  }
  const std::vector<uint64_t> selected =
      select_objects(features, candidates, filter ? &*filter : nullptr, order ? &*order : nullptr, arguments.limit);
  std::vector<std::string> columns = {"object", "ra", "dec"};
  if (arguments.cone.size() == 3) columns.push_back("separation_arcsec");
  for (Feature feature : shown) columns.push_back(feature_names()[static_cast<size_t>(feature)]);
  RecordWriter writer(std::cout, arguments.format, columns);
  const ObjectTable& objects = curves.object_table();
  std::vector<Cell> record;
  for (uint64_t row : selected) {
    record = {objects.keys[row], objects.ra[row], objects.dec[row]};
    if (arguments.cone.size() == 3) record.emplace_back(separation[row]);
    for (Feature feature : shown) record.emplace_back(features[row * kFeatureCount + static_cast<size_t>(feature)]);
    writer.add(record);
  }
  writer.finish();
}

}  // namespace

void add_feature_commands(CLI::App& app) {
  auto features_arguments = std::make_shared<FeaturesArguments>();
  CLI::App* features_command =
      app.add_subcommand("features", "Compute variability features and periods of every light curve");
  features_command->footer(
      "Stored as features[object, measurement, feature] beside the light curves (xr.open_zarr shows it).\n"
      "The periodogram's grid: periods from --min-period (default: twice the median interval between epochs)\n"
      "to --max-period (default: the baseline), --oversample (default 10) steps per 1/baseline.\n"
      "Examples:\n  lcstore features field.lcs --measurement auto -j 2\n"
      "  lcstore features field.lcs --calibrated --min-period 1 --max-period 300\n"
      "  lcstore features field.lcs --status");
  features_command->add_option("STORE", features_arguments->store, "Store directory")->required();
  features_command->add_option("--measurement", features_arguments->measurements, "Only these measurements");
  features_command->add_flag("--calibrated", features_arguments->calibrated,
                             "Apply the zero points of lcstore calibrate first");
  features_command->add_option("--time", features_arguments->time_variable,
                               "Epoch variable of the times, without epoch_ (default mjd)");
  features_command->add_option("--min-period", features_arguments->min_period, "Shortest period searched")
      ->check(CLI::PositiveNumber);
  features_command->add_option("--max-period", features_arguments->max_period, "Longest period searched")
      ->check(CLI::PositiveNumber);
  features_command->add_option("--oversample", features_arguments->oversample, "Grid steps per peak width")
      ->check(CLI::PositiveNumber);
  features_command->add_option("-j,--jobs", features_arguments->threads, "Threads (default: cores)")
      ->check(CLI::PositiveNumber);
  features_command->add_flag("--status", features_arguments->status_only,
                             "Print whether each measurement's features are absent, current or stale");
  features_command->add_flag("--json", features_arguments->json_output, "Print the result as JSON");
  features_command->add_flag("-q,--quiet", features_arguments->quiet, "Print only errors");
  features_command->callback([features_arguments] { run_features(*features_arguments); });

  auto calibrate_arguments = std::make_shared<CalibrateArguments>();
  CLI::App* calibrate_command =
      app.add_subcommand("calibrate", "Fit per-epoch zero points from the ensemble of non-variable stars");
  calibrate_command->footer(
      "Each epoch's zero point is the sigma-clipped mean of the ensemble's residuals from their reference\n"
      "magnitudes, iterated; stored as epoch_zeropoint_<m> and epoch_zeropoint_<m>_error, relative (median 0).\n"
      "Example:\n  lcstore calibrate field.lcs --measurement auto");
  calibrate_command->add_option("STORE", calibrate_arguments->store, "Store directory")->required();
  CalibrationOptions& calibration = calibrate_arguments->options;
  calibrate_command->add_option("--measurement", calibration.measurements, "Only these measurements");
  calibrate_command->add_option("--max-error", calibration.max_error, "Ensemble stars' largest error, mag (0.05)")
      ->check(CLI::PositiveNumber);
  calibrate_command->add_option("--min-epochs", calibration.min_epochs,
                                "Ensemble stars' fewest good epochs (default: half the epochs)");
  calibrate_command->add_option("--clip-sigma", calibration.clip_sigma, "Clipping threshold in std (3)")
      ->check(CLI::PositiveNumber);
  calibrate_command->add_option("--iterations", calibration.iterations, "Zero point / reference iterations (5)")
      ->check(CLI::PositiveNumber);
  calibrate_command->add_flag("--json", calibrate_arguments->json_output, "Print the zero points as JSON");
  calibrate_command->callback([calibrate_arguments] { run_calibrate(*calibrate_arguments); });

  auto objects_arguments = std::make_shared<ObjectsArguments>();
  CLI::App* objects_command = app.add_subcommand("objects", "Select objects by their features");
  objects_command->footer(
      "Filters compare features with numbers: < <= > >= == !=, combined with and, or, not, parentheses.\n"
      "Example:\n  lcstore objects field.lcs --where \"chi2_reduced > 5 and n_good >= 20\" --sort -stetson_j "
      "--limit 100\n  lcstore objects field.lcs --cone 265.05 65.55 60 --where \"period_fap < 0.01\"");
  objects_command->add_option("STORE", objects_arguments->store, "Store directory")->required();
  objects_command->add_option("--measurement", objects_arguments->measurement,
                              "Measurement whose features are used (default: the first)");
  objects_command->add_option("--where", objects_arguments->where, "Filter expression");
  objects_command->add_option("--sort", objects_arguments->sort, "Feature to sort by; a leading - sorts descending");
  objects_command->add_option("--limit", objects_arguments->limit, "At most this many objects");
  auto* cone = objects_command->add_option("--cone", objects_arguments->cone, "RA DEC RADIUS_ARCSEC")->expected(3);
  objects_command->add_option("--region", objects_arguments->region, "RA_MIN RA_MAX DEC_MIN DEC_MAX")
      ->expected(4)
      ->excludes(cone);
  objects_command->add_option("--columns", objects_arguments->columns, "Features printed (besides those used)")
      ->delimiter(',');
  add_format_options(objects_command, objects_arguments->format);
  objects_command->callback([objects_arguments] { run_objects(*objects_arguments); });
}

}  // namespace lcstore::cli
