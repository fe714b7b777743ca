// `lcstore demo-report`: what a light-curve store built from a simulated
// field (`lcstore simulate`) and calibrated (`lcstore calibrate`) recovered of
// it: the most variable objects by measured scatter, the fraction of injected
// variables recovered, the recovered amplitudes and zero points against the
// injected ones.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/simulate/field.h"
#include "lcstore/simulate/recovery.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

namespace {

using lightcurve::LightCurveStore;
using nlohmann::json;
using simulate::Field;
using simulate::Star;

struct ReportArguments {
  std::string store;
  std::string truth;
  std::string measurement = "auto";
  size_t top = 10;
  std::string top_objects_file;
  bool json_output = false;
};

// The relative amplitude error the report counts as recovered, as the demo's test asserts.
constexpr double kAmplitudeTolerance = 0.2;

size_t position_of(const std::vector<std::string>& names, const std::string& name, const std::string& what) {
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    throw Error(ErrorKind::kNotFound, what,
                fmt::format("the store has no \"{}\" (it has {})", name, fmt::join(names, ", ")));
  }
  return static_cast<size_t>(found - names.begin());
}

// Every object's light curve of `measurement`, with the truth's epochs in the truth's order.
simulate::MeasuredCurves read_measured(const LightCurveStore& store, const Field& truth,
                                       const std::string& measurement) {
  const size_t mag = position_of(store.values(), "mag", "values");
  const size_t mag_err = position_of(store.values(), "mag_err", "values");
  position_of(store.measurements(), measurement, "--measurement");
  std::vector<size_t> store_epoch;
  for (const simulate::Epoch& epoch : truth.epochs) store_epoch.push_back(store.epoch_index(epoch.key));

  simulate::MeasuredCurves measured;
  const lightcurve::ObjectTable& objects = store.object_table();
  measured.objects = objects.keys;
  measured.x.assign(objects.x.begin(), objects.x.end());
  measured.y.assign(objects.y.begin(), objects.y.end());
  measured.n_epochs = truth.epochs.size();
  const size_t n_store_epochs = store.epochs().keys.size();
  for (const lightcurve::LightCurve& curve : store.light_curves(objects.keys, measurement)) {
    for (size_t e : store_epoch) {
      measured.mag.push_back(curve.data[mag * n_store_epochs + e]);
      measured.mag_err.push_back(curve.data[mag_err * n_store_epochs + e]);
    }
  }
  return measured;
}

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json star_summary(const Field& truth, size_t s) {
  const Star& star = truth.stars[s];
  json summary = {{"star", s}, {"variability", simulate::to_string(star.variability)}, {"mag0", star.mag0}};
  if (star.variable()) summary["amp"] = star.amplitude;
  if (star.variability == simulate::Variability::kPeriodic) summary["period_days"] = star.period_days;
  if (star.variability == simulate::Variability::kTransient) summary["peak_mjd"] = star.peak_mjd;
  return summary;
}

// The `top` objects of the store that vary most, with the star injected there.
json most_variable_objects(const lightcurve::ObjectTable& objects, const Field& truth,
                           const simulate::Recovery& recovery, size_t top) {
  json most_variable = json::array();
  for (size_t i = 0; i < std::min(top, recovery.objects.size()); ++i) {
    const simulate::ObjectVariability& object = recovery.objects[i];
    most_variable.push_back({{"object", objects.keys[object.object]},
                             {"ra", objects.ra[object.object]},
                             {"dec", objects.dec[object.object]},
                             {"x", objects.x[object.object]},
                             {"y", objects.y[object.object]},
                             {"epochs", object.n_epochs},
                             {"median_mag", object.median_mag},
                             {"rms", object.rms},
                             {"reduced_chi2", number_or_null(object.reduced_chi2)},
                             {"injected", object.star ? star_summary(truth, *object.star) : json(nullptr)}});
  }
  return most_variable;
}

json build_report(const LightCurveStore& store, const Field& truth, const simulate::MeasuredCurves& measured,
                  const ReportArguments& arguments) {
  const simulate::RecoveryOptions options;
  std::vector<double> zero_points;
  const lightcurve::ZeroPoints stored = lightcurve::stored_zero_points(store, arguments.measurement);
  for (const simulate::Epoch& epoch : truth.epochs) zero_points.push_back(stored.values[store.epoch_index(epoch.key)]);
  const simulate::Recovery recovery = simulate::evaluate_recovery(truth, measured, zero_points, options);
  const lightcurve::ObjectTable& objects = store.object_table();

  const json most_variable = most_variable_objects(objects, truth, recovery, arguments.top);
  size_t detected = 0, variables = 0, variables_detected = 0, variables_recovered = 0, constants_detected = 0,
         constants_flagged = 0, blended_bright_variables = 0, amplitude_fitted = 0, amplitude_within = 0;
  json bright_variables = json::array();
  for (size_t s = 0; s < truth.stars.size(); ++s) {
    const Star& star = truth.stars[s];
    const simulate::StarRecovery& recovered = recovery.stars[s];
    const bool found = recovered.object.has_value();
    detected += found;
    variables += star.variable();
    variables_detected += star.variable() && found;
    variables_recovered += star.variable() && recovered.flagged_variable;
    constants_detected += !star.variable() && found;
    constants_flagged += !star.variable() && recovered.flagged_variable;
    if (!star.variable() || !found || !(star.mag0 < options.reference_magnitude)) continue;
    if (!recovered.isolated) {
      ++blended_bright_variables;
      continue;
    }
    const double ratio = recovered.fitted_amplitude / star.amplitude;
    if (std::isfinite(ratio)) {
      ++amplitude_fitted;
      amplitude_within += std::abs(ratio - 1.0) <= kAmplitudeTolerance;
    }
    json row = star_summary(truth, s);
    row["object"] = objects.keys[*recovered.object];
    row["fitted_amp"] = number_or_null(recovered.fitted_amplitude);
    row["true_range"] = number_or_null(recovered.true_range);
    row["measured_range"] = number_or_null(recovered.measured_range);
    row["median_abs_residual"] = number_or_null(recovered.median_abs_residual);
    row["reduced_chi2"] = number_or_null(recovered.reduced_chi2);
    bright_variables.push_back(std::move(row));
  }

  json offsets = json::array();
  for (size_t e = 0; e < truth.epochs.size(); ++e) {
    offsets.push_back({{"epoch", truth.epochs[e].key},
                       {"calibrated", number_or_null(zero_points[e])},
                       {"measured", number_or_null(recovery.epoch_offsets[e])},
                       {"injected", truth.epochs[e].zero_point_offset}});
  }
  return {{"store", arguments.store},
          {"truth", arguments.truth},
          {"measurement", arguments.measurement},
          {"objects", objects.keys.size()},
          {"stars", truth.stars.size()},
          {"stars_detected", detected},
          {"match_radius_pixels", options.match_radius},
          {"variables", variables},
          {"variables_detected", variables_detected},
          {"variables_recovered", variables_recovered},
          {"fraction_recovered",
           variables == 0 ? 0.0 : static_cast<double>(variables_recovered) / static_cast<double>(variables)},
          {"variability_threshold_reduced_chi2", options.variability_threshold},
          {"constants_detected", constants_detected},
          {"constants_flagged", constants_flagged},
          {"reference_stars", recovery.n_reference_stars},
          {"absolute_zero_point", recovery.absolute_zero_point},
          {"reference_magnitude", options.reference_magnitude},
          {"epoch_offsets", offsets},
          {"most_variable", most_variable},
          {"bright_variables", bright_variables},
          {"bright_variables_blended", blended_bright_variables},
          {"amplitude_fitted", amplitude_fitted},
          {"amplitude_within_tolerance", amplitude_within},
          {"amplitude_tolerance", kAmplitudeTolerance}};
}

std::string describe_injected(const json& injected) {
  if (injected.is_null()) return "no injected star";
  const std::string kind = injected["variability"];
  if (kind == "periodic") {
    return fmt::format("periodic, amp {:.2f}, P {:.1f} d", injected["amp"].get<double>(),
                       injected["period_days"].get<double>());
  }
  if (kind == "transient") return fmt::format("transient, amp {:.2f}", injected["amp"].get<double>());
  return "constant";
}

std::string fixed(const json& value, int decimals) {
  return value.is_null() ? std::string("-") : fmt::format("{:.{}f}", value.get<double>(), decimals);
}

double percent(const json& part, const json& whole) {
  return whole.get<double>() == 0 ? 0.0 : 100.0 * part.get<double>() / whole.get<double>();
}

// The catalog column of a measurement: auto -> MAG_AUTO.
std::string magnitude_column(const std::string& measurement) {
  std::string column = "MAG_" + measurement;
  for (char& c : column) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return column;
}

void print_text(const json& report) {
  const std::string column = magnitude_column(report["measurement"].get<std::string>());
  std::cout << fmt::format("Most variable objects ({} calibrated with the store's zero points):\n", column);
  RecordWriter variable_table(std::cout, OutputFormat::kTable,
                              {"object", "ra", "dec", "x", "y", "epochs", "median_mag", "rms", "chi2/dof", "injected"});
  for (const json& row : report["most_variable"]) {
    variable_table.add({row["object"].get<std::string>(), fixed(row["ra"], 6), fixed(row["dec"], 6), fixed(row["x"], 1),
                        fixed(row["y"], 1), row["epochs"].get<int64_t>(), fixed(row["median_mag"], 3),
                        fixed(row["rms"], 3), fixed(row["reduced_chi2"], 1), describe_injected(row["injected"])});
  }
  variable_table.finish();

  double largest_offset_error = 0;
  size_t uncalibrated_epochs = 0;
  for (const json& epoch : report["epoch_offsets"]) {
    if (epoch["measured"].is_null()) {
      ++uncalibrated_epochs;
      continue;
    }
    largest_offset_error =
        std::max(largest_offset_error, std::abs(epoch["measured"].get<double>() - epoch["injected"].get<double>()));
  }
  std::cout << fmt::format(
      "\nInjected stars: {}; detected (a detection within {} px): {} ({:.1f}%) among {} objects.\n"
      "Injected variables: {}; detected: {}; recovered (detected and chi2/dof > {}): {} ({:.1f}%).\n"
      "Constant stars flagged variable: {} of {} detected.\n"
      "Epoch zero points (lcstore calibrate, plus the absolute zero point {:.3f} mag from {} constant, isolated\n"
      "stars brighter than mag {}): within {:.3f} mag of the injected offsets{}.\n",
      report["stars"].get<size_t>(), report["match_radius_pixels"].get<double>(),
      report["stars_detected"].get<size_t>(), percent(report["stars_detected"], report["stars"]),
      report["objects"].get<size_t>(), report["variables"].get<size_t>(), report["variables_detected"].get<size_t>(),
      report["variability_threshold_reduced_chi2"].get<double>(), report["variables_recovered"].get<size_t>(),
      100.0 * report["fraction_recovered"].get<double>(), report["constants_flagged"].get<size_t>(),
      report["constants_detected"].get<size_t>(), report["absolute_zero_point"].get<double>(),
      report["reference_stars"].get<size_t>(), report["reference_magnitude"].get<double>(), largest_offset_error,
      uncalibrated_epochs == 0 ? std::string() : fmt::format("; {} epochs without a zero point", uncalibrated_epochs));

  std::cout << fmt::format(
      "\nInjected variables brighter than mag {} (isolated, detected), recovered against injected:\n",
      report["reference_magnitude"].get<double>());
  RecordWriter amplitude_table(
      std::cout, OutputFormat::kTable,
      {"object", "kind", "mag0", "amp", "fitted_amp", "fitted/amp", "true_range", "measured_range", "median|resid|"});
  for (const json& row : report["bright_variables"]) {
    const json ratio =
        row["fitted_amp"].is_null() ? json(nullptr) : json(row["fitted_amp"].get<double>() / row["amp"].get<double>());
    amplitude_table.add({row["object"].get<std::string>(), row["variability"].get<std::string>(), fixed(row["mag0"], 2),
                         fixed(row["amp"], 3), fixed(row["fitted_amp"], 3), fixed(ratio, 2),
                         fixed(row["true_range"], 3), fixed(row["measured_range"], 3),
                         fixed(row["median_abs_residual"], 3)});
  }
  amplitude_table.finish();
  const size_t listed = report["bright_variables"].size(), fitted = report["amplitude_fitted"].get<size_t>();
  std::cout << fmt::format("Fitted amplitude within {:.0f}% of the injected one: {} of {}",
                           100 * report["amplitude_tolerance"].get<double>(),
                           report["amplitude_within_tolerance"].get<size_t>(), fitted);
  if (listed > fitted)
    std::cout << fmt::format("; {} flared only between epochs (no amplitude to fit)", listed - fitted);
  if (report["bright_variables_blended"] != 0) {
    std::cout << fmt::format("; {} blended with a neighbour, not listed",
                             report["bright_variables_blended"].get<size_t>());
  }
  std::cout << ".\n";
}

void write_top_objects(const json& report, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  for (const json& row : report["most_variable"]) out << row["object"].get<std::string>() << "\n";
  out.close();
  if (!out) throw Error(ErrorKind::kIo, path, "cannot be written");
}

void run_report(const ReportArguments& arguments) {
  if (!std::filesystem::is_directory(arguments.store)) {
    throw Error(ErrorKind::kNotFound, arguments.store, "no such directory");
  }
  const LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(arguments.store));
  const Field truth = simulate::read_truth(arguments.truth);
  const json report = build_report(store, truth, read_measured(store, truth, arguments.measurement), arguments);
  if (!arguments.top_objects_file.empty()) write_top_objects(report, arguments.top_objects_file);
  // A truth of another field matches almost nothing; say so rather than report nonsense quietly.
  if (percent(report["stars_detected"], report["stars"]) < 50.0) {
    std::cerr << fmt::format(
        "lcstore: note: only {:.1f}% of the injected stars have a detection within {} px; is {} the truth of the "
        "field {} was built from?\n",
        percent(report["stars_detected"], report["stars"]), report["match_radius_pixels"].get<double>(),
        arguments.truth, arguments.store);
  }
  if (arguments.json_output) {
    std::cout << report.dump(1) << "\n";
  } else {
    print_text(report);
  }
}

}  // namespace

void add_demo_report_command(CLI::App& app) {
  auto arguments = std::make_shared<ReportArguments>();
  CLI::App* command = app.add_subcommand(
      "demo-report", "Compare a store built from a simulated field with its truth: variables found, amplitudes");
  command->footer(
      "Detections match injected stars within 1 pixel (x_image, y_image of the store). Magnitudes are calibrated\n"
      "with the zero points `lcstore calibrate` stored, plus one absolute zero point: the median of calibrated -\n"
      "true magnitude over constant, isolated stars brighter than mag 19. Variability is the chi2 per degree of\n"
      "freedom of the calibrated light curve; the fitted amplitude is the injected one times the least-squares\n"
      "slope of the calibrated magnitudes against the true ones.\n\n"
      "Example:\n  lcstore calibrate demo-output/field.lcs\n"
      "  lcstore demo-report demo-output/field.lcs demo-output/images/truth.json --top 10");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("TRUTH", arguments->truth, "truth.json written by `lcstore simulate`")->required();
  command->add_option("--measurement", arguments->measurement, "Measurement to assess")->capture_default_str();
  command->add_option("--top", arguments->top, "Number of most variable objects listed")->capture_default_str();
  command->add_option("--top-objects-file", arguments->top_objects_file,
                      "Also write the most variable objects' keys there, one per line (for --objects-file)");
  command->add_flag("--json", arguments->json_output, "Print the report as JSON");
  command->callback([arguments] { run_report(*arguments); });
}

}  // namespace lcstore::cli
