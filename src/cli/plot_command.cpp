// `lcstore plot STORE OBJECT... --out FILE`: light curves, one panel per
// object, magnitude against MJD with error bars and the magnitude axis
// inverted (brighter up); folded on a period with --fold, and beside each the
// Lomb-Scargle periodogram with --periodogram. The format follows the
// extension of --out: .png or .svg. Everything is checked (objects,
// measurement, values, output directory) before lcstore/plot draws.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cli/commands.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/features.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/store_features.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/plot/figure.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

namespace fs = std::filesystem;
using namespace lcstore::lightcurve;
using plot::Figure;
using plot::padded_range;
using plot::Panel;

namespace {

// ---- what to draw --------------------------------------------------------------

// The x coordinate of every epoch: the `mjd` epoch variable when the store
// has a numeric one, else the epoch index.
std::vector<double> epoch_coordinates(const EpochTable& epochs, std::string& label) {
  for (const EpochTable::Variable& variable : epochs.variables) {
    if (variable.name == "mjd" && std::holds_alternative<std::vector<double>>(variable.values)) {
      label = "MJD";
      return std::get<std::vector<double>>(variable.values);
    }
  }
  label = "epoch index (the store has no epoch_mjd)";
  std::vector<double> index(epochs.keys.size());
  for (size_t e = 0; e < index.size(); ++e) index[e] = static_cast<double>(e);
  return index;
}

// The measurement to plot: the one asked for, else "auto" when the store has
// it, else the store's first.
std::string choose_measurement(const LightCurveStore& store, const std::string& requested) {
  if (!requested.empty()) return requested;
  const std::vector<std::string>& measurements = store.measurements();
  if (std::find(measurements.begin(), measurements.end(), "auto") != measurements.end()) return "auto";
  if (measurements.empty()) throw Error(ErrorKind::kInvalidMetadata, "plot", "the store has no measurement");
  return measurements.front();
}

// How the panels show the curves: folded on a period per object (empty: not
// folded), calibrated with the stored zero points (none: as stored), with a
// periodogram beside each curve.
struct CurveView {
  std::vector<double> periods;
  std::optional<ZeroPoints> zero_points;
  bool periodogram = false;
};

// One object's magnitudes and their errors (empty: the store has no mag_err).
struct Magnitudes {
  std::vector<float> mag, err;
};

// Where mag and mag_err sit among the store's values.
struct MagnitudeRows {
  size_t mag = 0;
  std::optional<size_t> err;
};

MagnitudeRows magnitude_rows(const LightCurveStore& store, const std::string& store_path) {
  const std::vector<std::string>& values = store.values();
  const auto mag_at = std::find(values.begin(), values.end(), "mag");
  if (mag_at == values.end()) {
    throw Error(ErrorKind::kNotFound, store_path,
                fmt::format("the store has no mag value (values: {})", fmt::join(values, ", ")));
  }
  MagnitudeRows rows{static_cast<size_t>(mag_at - values.begin()), std::nullopt};
  const auto err_at = std::find(values.begin(), values.end(), "mag_err");
  if (err_at != values.end()) rows.err = static_cast<size_t>(err_at - values.begin());
  return rows;
}

Magnitudes magnitudes_of(const LightCurve& curve, const MagnitudeRows& rows, size_t n_epochs, const CurveView& view) {
  const auto row = [&](size_t r) { return curve.data.subspan(r * n_epochs, n_epochs); };
  Magnitudes result;
  result.mag.assign(row(rows.mag).begin(), row(rows.mag).end());
  if (rows.err) result.err.assign(row(*rows.err).begin(), row(*rows.err).end());
  if (view.zero_points) apply_zero_points(*view.zero_points, result.mag, result.err);
  return result;
}

// The x range every light-curve panel shares (all the store's epochs), or
// two cycles of phase when folded.
void set_curve_axis(Panel& panel, const std::vector<double>& x, bool folded) {
  double first = std::numeric_limits<double>::infinity(), last = -first;
  for (double value : x) {
    if (std::isfinite(value)) first = std::min(first, value), last = std::max(last, value);
  }
  if (folded) {
    panel.x_label = "phase (two cycles)";
    panel.x_min = 0;
    panel.x_max = 2;
  } else if (panel.x_label == "MJD") {
    std::tie(panel.x_min, panel.x_max) = padded_range(first, last, 0.04, 0.5);
  } else if (std::isfinite(first)) {
    panel.x_min = first - 0.5;
    panel.x_max = last + 0.5;
    if (last - first < 12) panel.x_tick = 1;
  }
}

// The light-curve panel of one object, on the axes `panel` carries.
Panel curve_panel(Panel panel, const std::vector<double>& x, const Magnitudes& magnitudes, double period) {
  double first = std::numeric_limits<double>::infinity();
  for (double value : x) {
    if (std::isfinite(value)) first = std::min(first, value);
  }
  const bool folded = period > 0;
  for (size_t e = 0; e < x.size(); ++e) {
    const double mag = magnitudes.mag[e];
    if (!std::isfinite(mag) || !std::isfinite(x[e])) continue;
    double err = magnitudes.err.empty() ? 0.0 : static_cast<double>(magnitudes.err[e]);
    if (!std::isfinite(err) || err < 0) err = 0.0;
    const double cycles = folded ? (x[e] - first) / period : 0;
    const double phase = cycles - std::floor(cycles);
    for (double position : folded ? std::vector<double>{phase, phase + 1} : std::vector<double>{x[e]}) {
      panel.x.push_back(position);
      panel.y.push_back(mag);
      panel.y_low.push_back(mag - err);
      panel.y_high.push_back(mag + err);
    }
  }
  return panel;
}

// The generalized Lomb-Scargle power against frequency on the grid lcstore
// features uses by default, and the period of its highest peak (NaN: none).
struct Periodogram {
  Panel panel;
  double peak_period = std::numeric_limits<double>::quiet_NaN();
};

Periodogram periodogram_of(const std::vector<double>& mjd, const Magnitudes& magnitudes) {
  const FrequencyGrid grid = frequency_grid(mjd, PeriodogramOptions{});
  const std::vector<double> power = curve_periodogram(mjd, magnitudes.mag, magnitudes.err, grid);
  Panel panel;
  panel.style = Panel::Style::kLine;
  panel.x_label = "frequency (1/d)";
  panel.y_label = "power";
  panel.x_min = grid.minimum;
  panel.x_max = grid.minimum + grid.step * static_cast<double>(grid.count);
  panel.empty_text = "fewer than 4 good epochs";
  double best_power = -1, best_frequency = 0;
  for (size_t k = 0; k < grid.count; ++k) {
    if (!std::isfinite(power[k])) continue;
    const double frequency = grid.minimum + grid.step * static_cast<double>(k);
    panel.x.push_back(frequency);
    panel.y.push_back(power[k]);
    if (power[k] > best_power) best_power = power[k], best_frequency = frequency;
  }
  if (panel.x.empty()) {
    panel.title = "periodogram";
    return {panel};
  }
  panel.title = fmt::format("periodogram, peak P = {:.4g} d", 1 / best_frequency);
  return {panel, 1 / best_frequency};
}

// The figure, with what the report says of it.
struct Drawing {
  Figure figure;
  size_t points = 0;                 // light-curve points drawn
  std::vector<double> peak_periods;  // per object, with a periodogram
};

Drawing build_drawing(const LightCurveStore& store, const std::string& store_path,
                      const std::vector<std::string>& objects, const std::string& measurement, const CurveView& view) {
  const MagnitudeRows rows = magnitude_rows(store, store_path);
  Panel axes;
  const std::vector<double> x = epoch_coordinates(store.epochs(), axes.x_label);
  const bool folded = !view.periods.empty();
  if ((folded || view.periodogram) && axes.x_label != "MJD") {
    throw Error(
        ErrorKind::kNotFound, store_path,
        fmt::format("{} needs the epoch times, and the store has no epoch_mjd", folded ? "folding" : "a periodogram"));
  }
  axes.y_label = fmt::format("mag ({})", measurement);
  axes.y_inverted = true;
  axes.empty_text = "no magnitude at any epoch";
  set_curve_axis(axes, x, folded);

  // Throws Error(kNotFound) naming an unknown object or measurement.
  const std::vector<LightCurve> curves = store.light_curves(objects, measurement);
  Drawing drawing;
  Figure& figure = drawing.figure;
  if (view.periodogram) figure.columns = 2;
  for (size_t k = 0; k < curves.size(); ++k) {
    const Magnitudes magnitudes = magnitudes_of(curves[k], rows, x.size(), view);
    Panel panel = curve_panel(axes, x, magnitudes, folded ? view.periods[k] : 0);
    panel.title = fmt::format("object {}, {}{}", curves[k].object, measurement, view.zero_points ? " calibrated" : "");
    if (folded) panel.title += fmt::format(", P = {:.6g} d", view.periods[k]);
    drawing.points += panel.x.size();
    figure.panels.push_back(std::move(panel));
    if (view.periodogram) {
      Periodogram periodogram = periodogram_of(x, magnitudes);
      figure.panels.push_back(std::move(periodogram.panel));
      drawing.peak_periods.push_back(periodogram.peak_period);
    }
  }
  if (drawing.points == 0) {
    throw Error(ErrorKind::kNotFound, store_path,
                fmt::format("no {} magnitude at any epoch for {} {}: nothing to plot", measurement,
                            objects.size() == 1 ? "object" : "objects", fmt::join(objects, ", ")));
  }
  return drawing;
}

// ---- the command ---------------------------------------------------------------

struct PlotArguments {
  std::string store;
  std::vector<std::string> objects;
  std::string out;
  std::string measurement;
  std::string fold;  // a period, "best", or empty
  bool calibrated = false;
  bool periodogram = false;
  int width = 1200;
  int height = 800;
  bool json_output = false;
};

// The period to fold each object on: --fold's number, or with "best" the
// period lcstore features found.
std::vector<double> fold_periods(const std::shared_ptr<Store>& directory_store, const LightCurveStore& store,
                                 const PlotArguments& arguments, const std::string& measurement) {
  if (arguments.fold != "best") {
    double period = 0;
    const char* end = arguments.fold.data() + arguments.fold.size();
    const auto [stop, error] = std::from_chars(arguments.fold.data(), end, period);
    if (error != std::errc() || stop != end || !(period > 0) || !std::isfinite(period)) {
      throw Error(ErrorKind::kInvalidArgument, "--fold",
                  fmt::format("\"{}\" is neither a positive period nor best", arguments.fold));
    }
    return std::vector<double>(arguments.objects.size(), period);
  }
  const std::vector<double> features = read_features(directory_store, store, measurement);
  std::vector<double> periods;
  for (const std::string& object : arguments.objects) {
    const double period = features[store.object_index(object) * kFeatureCount + static_cast<size_t>(Feature::kPeriod)];
    if (!std::isfinite(period)) {
      throw Error(ErrorKind::kNotFound, object, "has no period: too few good epochs, or a constant curve");
    }
    periods.push_back(period);
  }
  return periods;
}

void plot(const PlotArguments& arguments) {
  const fs::path out(arguments.out);
  const std::string format = plot::plot_format(out);
  const fs::path directory = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (!fs::is_directory(directory))
    throw Error(ErrorKind::kNotFound, directory.string(), "no such directory for --out");
  if (!fs::is_directory(arguments.store)) throw Error(ErrorKind::kNotFound, arguments.store, "no such directory");
  const auto directory_store = std::make_shared<DirectoryStore>(arguments.store);
  LightCurveStore store = LightCurveStore::open(directory_store);
  const std::string measurement = choose_measurement(store, arguments.measurement);
  CurveView view;
  if (arguments.calibrated) view.zero_points = stored_zero_points(store, measurement);
  if (!arguments.fold.empty()) view.periods = fold_periods(directory_store, store, arguments, measurement);
  view.periodogram = arguments.periodogram;
  const Drawing drawing = build_drawing(store, arguments.store, arguments.objects, measurement, view);
  const Figure& figure = drawing.figure;
  plot::render(figure, directory / out.filename(), arguments.width, arguments.height);

  const size_t points = drawing.points;
  if (arguments.json_output) {
    nlohmann::json report{{"out", arguments.out},       {"format", format},
                          {"width", arguments.width},   {"height", arguments.height},
                          {"measurement", measurement}, {"objects", arguments.objects},
                          {"points", points},           {"x_axis", figure.panels.front().x_label}};
    // NaN (no periodogram peak) is written as null.
    if (arguments.periodogram) report["periodogram_peak_periods"] = drawing.peak_periods;
    std::cout << report.dump(1) << "\n";
  } else {
    std::cout << fmt::format("wrote {}: {} panel{} ({}), {} points, {}x{}\n", arguments.out, figure.panels.size(),
                             figure.panels.size() == 1 ? "" : "s", measurement, points, arguments.width,
                             arguments.height);
  }
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto arguments = std::make_shared<PlotArguments>();
  CLI::App* command =
      app.add_subcommand("plot", "Draw light curves (magnitude vs MJD, one panel per object) to a PNG or SVG file");
  command->footer(
      "Examples:\n  lcstore plot field.lcs 42 97 1203 --out curves.png\n"
      "  lcstore plot field.lcs 42 --measurement aper_2 --out curve.svg --width 900 --height 400\n"
      "  lcstore plot field.lcs 42 97 --fold best --calibrated --out folded.png   (two cycles of phase)\n"
      "  lcstore plot field.lcs 42 --periodogram --out periods.png   (power against frequency beside the curve)\n"
      "  (the format follows the --out extension: .png or .svg; missing epochs are left out)");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("OBJECT", arguments->objects, "Object keys, one panel each")->required();
  command->add_option("--out,-o", arguments->out, "Output file, .png or .svg")->required();
  command->add_option("--measurement", arguments->measurement,
                      "Measurement to plot (default: auto, else the store's first)");
  command->add_option("--width", arguments->width, "Width in pixels (points for SVG)")
      ->capture_default_str()
      ->check(CLI::Range(100, 20000));
  command->add_option("--height", arguments->height, "Height in pixels (points for SVG)")
      ->capture_default_str()
      ->check(CLI::Range(100, 20000));
  command->add_option("--fold", arguments->fold,
                      "Fold on this period (days), or on each object's best period from lcstore features: best");
  command->add_flag("--periodogram", arguments->periodogram,
                    "Draw each object's Lomb-Scargle periodogram beside its curve");
  command->add_flag("--calibrated", arguments->calibrated, "Apply the zero points of lcstore calibrate");
  command->add_flag("--json", arguments->json_output, "Print the result as JSON");
  command->callback([arguments] { plot(*arguments); });
}

}  // namespace lcstore::cli
