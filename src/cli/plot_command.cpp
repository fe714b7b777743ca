// `lcstore plot STORE OBJECT... --out FILE`: light curves drawn with PLplot's
// cairo driver, one panel per object, magnitude against MJD with error bars
// and the magnitude axis inverted (brighter up). The output format follows
// the extension of --out: .png (pngcairo) or .svg (svgcairo).
//
// This file is the only place lcstore talks to PLplot. Everything PLplot
// needs is checked before it starts (objects, measurement, values, output
// directory, the cairo driver), because PLplot reports fatal problems by
// printing to stderr and calling exit(). What it prints while drawing is
// captured, so the command's output stays clean; a fatal PLplot error still
// ends the program, with one "lcstore: ..." line and no output file.
#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <plplot.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cli/commands.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/store_features.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

namespace fs = std::filesystem;
using namespace lcstore::lightcurve;

namespace {

// ---- what to draw (no PLplot here) -------------------------------------------

struct Panel {
  std::string title;
  std::vector<double> x, mag, mag_low, mag_high;  // finite points only; low/high = mag -/+ err (mag when no error)
};

struct Figure {
  std::string x_label;
  std::string y_label;
  double x_min = 0, x_max = 1;  // shared by every panel: all the store's epochs
  double x_tick = 0;            // tick spacing; 0: PLplot chooses
  std::vector<Panel> panels;
};

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

// [low, high] widened by a margin; a single value gets a fixed half-width.
std::pair<double, double> padded_range(double low, double high, double fraction, double minimum_half_width) {
  const double half = std::max((high - low) * (0.5 + fraction), minimum_half_width);
  const double middle = 0.5 * (low + high);
  return {middle - half, middle + half};
}

// How the panels show the curves: folded on a period per object (empty: not
// folded), calibrated with the stored zero points (none: as stored).
struct CurveView {
  std::vector<double> periods;
  std::optional<ZeroPoints> zero_points;
};

Figure build_figure(const LightCurveStore& store, const std::string& store_path,
                    const std::vector<std::string>& objects, const std::string& measurement, const CurveView& view) {
  const std::vector<std::string>& values = store.values();
  const auto mag_at = std::find(values.begin(), values.end(), "mag");
  if (mag_at == values.end()) {
    throw Error(ErrorKind::kNotFound, store_path,
                fmt::format("the store has no mag value (values: {})", fmt::join(values, ", ")));
  }
  const auto err_at = std::find(values.begin(), values.end(), "mag_err");
  const size_t mag_row = static_cast<size_t>(mag_at - values.begin());
  const bool has_err = err_at != values.end();
  const size_t err_row = static_cast<size_t>(err_at - values.begin());

  Figure figure;
  const std::vector<double> x = epoch_coordinates(store.epochs(), figure.x_label);
  figure.y_label = fmt::format("mag ({})", measurement);
  const size_t n_epochs = x.size();
  double first = std::numeric_limits<double>::infinity(), last = -first;
  for (double value : x) {
    if (std::isfinite(value)) first = std::min(first, value), last = std::max(last, value);
  }
  const bool folded = !view.periods.empty();
  if (folded && figure.x_label != "MJD") {
    throw Error(ErrorKind::kNotFound, store_path, "folding needs the epoch times, and the store has no epoch_mjd");
  }
  if (folded) {
    figure.x_label = "phase (two cycles)";
    figure.x_min = 0;
    figure.x_max = 2;
  } else if (figure.x_label == "MJD") {
    std::tie(figure.x_min, figure.x_max) = padded_range(first, last, 0.04, 0.5);
  } else if (std::isfinite(first)) {
    figure.x_min = first - 0.5;
    figure.x_max = last + 0.5;
    if (last - first < 12) figure.x_tick = 1;
  }
  // Throws Error(kNotFound) naming an unknown object or measurement.
  const std::vector<LightCurve> curves = store.light_curves(objects, measurement);
  size_t points = 0;
  for (size_t k = 0; k < curves.size(); ++k) {
    const LightCurve& curve = curves[k];
    Panel panel;
    panel.title = fmt::format("object {}, {}{}", curve.object, measurement, view.zero_points ? " calibrated" : "");
    if (folded) panel.title += fmt::format(", P = {:.6g} d", view.periods[k]);
    const auto row = [&](size_t r) { return curve.data.subspan(r * n_epochs, n_epochs); };
    std::vector<float> mags(row(mag_row).begin(), row(mag_row).end());
    std::vector<float> errs;
    if (has_err) errs.assign(row(err_row).begin(), row(err_row).end());
    if (view.zero_points) apply_zero_points(*view.zero_points, mags, errs);
    for (size_t e = 0; e < n_epochs; ++e) {
      const double mag = mags[e];
      if (!std::isfinite(mag) || !std::isfinite(x[e])) continue;
      double err = has_err ? static_cast<double>(errs[e]) : 0.0;
      if (!std::isfinite(err) || err < 0) err = 0.0;
      const double phase = folded ? (x[e] - first) / view.periods[k] - std::floor((x[e] - first) / view.periods[k]) : 0;
      for (double position : folded ? std::vector<double>{phase, phase + 1} : std::vector<double>{x[e]}) {
        panel.x.push_back(position);
        panel.mag.push_back(mag);
        panel.mag_low.push_back(mag - err);
        panel.mag_high.push_back(mag + err);
      }
    }
    points += panel.x.size();
    figure.panels.push_back(std::move(panel));
  }
  if (points == 0) {
    throw Error(ErrorKind::kNotFound, store_path,
                fmt::format("no {} magnitude at any epoch for {} {}: nothing to plot", measurement,
                            objects.size() == 1 ? "object" : "objects", fmt::join(objects, ", ")));
  }
  return figure;
}

// ---- PLplot ------------------------------------------------------------------

// The directory holding PLplot's cairo driver: $PLPLOT_DRV_DIR when set, else
// the one pkg-config named at build time, else the one beside the loaded
// libplplot. Exported as PLPLOT_DRV_DIR so PLplot looks there.
void locate_cairo_driver() {
  if (const char* dir = std::getenv("PLPLOT_DRV_DIR"); dir != nullptr && *dir != '\0') {
    if (!fs::exists(fs::path(dir) / "cairo.driver_info")) {
      throw Error(ErrorKind::kNotFound, fmt::format("PLPLOT_DRV_DIR={}", dir),
                  "has no cairo driver (cairo.driver_info); install plplot-driver-cairo or unset PLPLOT_DRV_DIR");
    }
    return;
  }
  std::vector<fs::path> candidates;
#ifdef LCSTORE_PLPLOT_DRV_DIR
  candidates.emplace_back(LCSTORE_PLPLOT_DRV_DIR);
#endif
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&c_plinit), &info) != 0 && info.dli_fname != nullptr) {
    const fs::path library_dir = fs::path(info.dli_fname).parent_path();
    candidates.push_back(library_dir / ("plplot" PLPLOT_VERSION) / "drivers");
    candidates.push_back(library_dir / "plplot" / "drivers");
  }
  for (const fs::path& dir : candidates) {
    std::error_code ignored;
    if (fs::exists(dir / "cairo.driver_info", ignored)) {
      ::setenv("PLPLOT_DRV_DIR", dir.c_str(), 1);
      return;
    }
  }
  std::vector<std::string> looked;
  for (const fs::path& dir : candidates) looked.push_back(dir.string());
  throw Error(
      ErrorKind::kNotFound, "PLplot cairo driver",
      fmt::format("not found in {}; install plplot-driver-cairo or set PLPLOT_DRV_DIR", fmt::join(looked, ", ")));
}

// Whether PLplot offers the file device `device` (asked before plinit, which
// would otherwise prompt on stdin for another device).
bool has_file_device(const char* device) {
  constexpr int kMaxDevices = 128;
  const char* menus[kMaxDevices];
  const char* names[kMaxDevices];
  const char** menu_list = menus;
  const char** name_list = names;
  int count = kMaxDevices;
  plgFileDevs(&menu_list, &name_list, &count);
  for (int i = 0; i < count; ++i) {
    if (names[i] != nullptr && std::string(names[i]) == device) return true;
  }
  return false;
}

// Sends stdout and stderr to a temporary file while PLplot runs, and puts
// them back afterwards (or in the fatal-error handler).
class CapturedOutput {
 public:
  CapturedOutput() {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    capture_ = std::tmpfile();
    if (capture_ == nullptr) return;  // nothing to capture into: leave the streams alone
    saved_out_ = ::dup(STDOUT_FILENO);
    saved_err_ = ::dup(STDERR_FILENO);
    ::dup2(::fileno(capture_), STDOUT_FILENO);
    ::dup2(::fileno(capture_), STDERR_FILENO);
  }
  CapturedOutput(const CapturedOutput&) = delete;
  CapturedOutput& operator=(const CapturedOutput&) = delete;
  ~CapturedOutput() {
    restore();
    if (capture_ != nullptr) std::fclose(capture_);
  }

  // Puts stdout and stderr back; returns what was written meanwhile.
  std::string restore() {
    if (saved_out_ < 0) return {};
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(saved_out_, STDOUT_FILENO);
    ::dup2(saved_err_, STDERR_FILENO);
    ::close(saved_out_);
    ::close(saved_err_);
    saved_out_ = saved_err_ = -1;
    std::string text;
    std::rewind(capture_);
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, capture_)) > 0) text.append(buffer, n);
    return text;
  }

 private:
  std::FILE* capture_ = nullptr;
  int saved_out_ = -1;
  int saved_err_ = -1;
};

// State the PLplot error handlers reach (PLplot is single-stream here).
struct PlotSession {
  CapturedOutput* output = nullptr;
  fs::path partial_file;
  std::vector<std::string> warnings;
};
PlotSession* g_session = nullptr;

// plexit(): PLplot cannot go on. Report like main() does and end the program
// (plexit would exit anyway, after printing its own banner).
int on_plplot_exit(const char* message) {
  std::string captured;
  if (g_session != nullptr) {
    if (g_session->output != nullptr) captured = g_session->output->restore();
    std::error_code ignored;
    fs::remove(g_session->partial_file, ignored);
  }
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  std::fprintf(stderr, "lcstore: unsupported: PLplot: %s\n", text.c_str());
  if (!captured.empty()) std::fprintf(stderr, "PLplot's output:\n%s", captured.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(1);
}

// plabort(): a call failed but PLplot goes on; collected and reported after.
void on_plplot_abort(const char* message) {
  if (g_session != nullptr) g_session->warnings.emplace_back(message != nullptr ? message : "");
}

void label_panel(const Panel& panel, const Figure& figure) {
  plmtex("t", 1.5, 0.5, 0.5, panel.title.c_str());
  plmtex("b", 3.0, 0.5, 0.5, figure.x_label.c_str());
  plmtex("l", 6.5, 0.5, 0.5, figure.y_label.c_str());
}

void draw_panel(const Panel& panel, const Figure& figure, PLFLT char_scale) {
  pladv(0);
  // The viewport, with margins in character heights: room on the left for
  // horizontal magnitude labels such as "19.250".
  PLFLT sx0, sx1, sy0, sy1, default_height, char_height;
  plgspa(&sx0, &sx1, &sy0, &sy1);  // the subpage, mm
  plgchr(&default_height, &char_height);
  const PLFLT width = sx1 - sx0, height = sy1 - sy0;
  plsvpa(std::min(8.0 * char_height, 0.4 * width), width - 2.0 * char_height, std::min(4.5 * char_height, 0.4 * height),
         height - std::min(3.0 * char_height, 0.3 * height));
  plcol0(1);
  if (panel.x.empty()) {
    plwind(figure.x_min, figure.x_max, 0.0, 1.0);
    plbox("bcnstf", figure.x_tick, figure.x_tick > 0 ? 1 : 0, "bc", 0.0, 0);
    plptex(0.5 * (figure.x_min + figure.x_max), 0.5, 1.0, 0.0, 0.5, "no magnitude at any epoch");
    label_panel(panel, figure);
    return;
  }
  const double y_low = *std::min_element(panel.mag_low.begin(), panel.mag_low.end());
  const double y_high = *std::max_element(panel.mag_high.begin(), panel.mag_high.end());
  const auto [y0, y1] = padded_range(y_low, y_high, 0.08, 0.05);
  plwind(figure.x_min, figure.x_max, y1, y0);  // faint (large magnitude) at the bottom
  plbox("bcnstf", figure.x_tick, figure.x_tick > 0 ? 1 : 0, "bcnstvf", 0.0, 0);
  label_panel(panel, figure);
  const PLINT n = static_cast<PLINT>(panel.x.size());
  plcol0(3);
  plerry(n, panel.x.data(), panel.mag_low.data(), panel.mag_high.data());
  plcol0(2);
  plssym(0.0, 1.6 * char_scale);
  plpoin(n, panel.x.data(), panel.mag.data(), 17);
  plcol0(1);
}

// Draws `figure` into `path` with the cairo device `device`. The file is
// written under a temporary name and renamed when complete.
void render(const Figure& figure, const fs::path& path, const char* device, int width, int height) {
  locate_cairo_driver();
  const fs::path partial = path.parent_path() / fmt::format(".{}.lcstore-tmp.{}", path.filename().string(), ::getpid());

  PlotSession session;
  session.partial_file = partial;
  g_session = &session;
  std::string captured;
  {
    CapturedOutput output;
    session.output = &output;
    plsexit(on_plplot_exit);
    plsabort(on_plplot_abort);
    if (!has_file_device(device)) {
      captured = output.restore();
      g_session = nullptr;
      throw Error(ErrorKind::kUnsupported, "PLplot",
                  fmt::format("has no {} device; install plplot-driver-cairo (PLPLOT_DRV_DIR={})", device,
                              std::getenv("PLPLOT_DRV_DIR") ? std::getenv("PLPLOT_DRV_DIR") : ""));
    }
    plsdev(device);
    plsfnam(partial.c_str());
    plspage(0.0, 0.0, width, height, 0, 0);
    plscol0(0, 255, 255, 255);  // background
    plscol0(1, 0, 0, 0);        // axes and text
    plscol0(2, 31, 119, 180);   // points
    plscol0(3, 120, 160, 200);  // error bars
    const size_t n = figure.panels.size();
    const PLINT columns = n <= 3 ? 1 : n <= 8 ? 2 : static_cast<PLINT>(std::ceil(std::sqrt(static_cast<double>(n))));
    const PLINT rows = static_cast<PLINT>((n + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns));
    plssub(columns, rows);
    plinit();
    const PLFLT char_scale = std::clamp(1.6 / std::sqrt(static_cast<double>(rows)), 0.6, 1.2);
    plschr(0.0, char_scale);
    for (const Panel& panel : figure.panels) draw_panel(panel, figure, char_scale);
    plend();
    captured = output.restore();
    session.output = nullptr;
  }
  g_session = nullptr;
  std::error_code error;
  if (!session.warnings.empty() || !fs::exists(partial, error) || fs::file_size(partial, error) == 0) {
    fs::remove(partial, error);
    std::string reason =
        session.warnings.empty() ? "wrote no file" : fmt::format("{}", fmt::join(session.warnings, "; "));
    if (!captured.empty()) reason += fmt::format(" (PLplot printed: {})", captured);
    throw Error(ErrorKind::kIo, path.string(), fmt::format("PLplot failed: {}", reason));
  }
  fs::rename(partial, path, error);
  if (error) {
    fs::remove(partial, error);
    throw Error(ErrorKind::kIo, path.string(), fmt::format("cannot rename the plot into place: {}", error.message()));
  }
}

// ---- the command ---------------------------------------------------------------

struct PlotArguments {
  std::string store;
  std::vector<std::string> objects;
  std::string out;
  std::string measurement;
  std::string fold;  // a period, "best", or empty
  bool calibrated = false;
  int width = 1200;
  int height = 800;
  bool json_output = false;
};

// The cairo device writing the format of `path`'s extension.
const char* device_for(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (extension == ".png") return "pngcairo";
  if (extension == ".svg") return "svgcairo";
  throw Error(ErrorKind::kInvalidArgument, path.string(),
              fmt::format("unsupported plot format \"{}\"; name the --out file .png or .svg",
                          extension.empty() ? "(no extension)" : extension));
}

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
  const char* device = device_for(out);
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
  const Figure figure = build_figure(store, arguments.store, arguments.objects, measurement, view);
  render(figure, directory / out.filename(), device, arguments.width, arguments.height);

  size_t points = 0;
  for (const Panel& panel : figure.panels) points += panel.x.size();
  if (arguments.json_output) {
    std::cout
        << nlohmann::json{{"out", arguments.out},       {"format", device == std::string("pngcairo") ? "png" : "svg"},
                          {"width", arguments.width},   {"height", arguments.height},
                          {"measurement", measurement}, {"objects", arguments.objects},
                          {"points", points},           {"x_axis", figure.x_label}}
               .dump(1)
        << "\n";
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
  command->add_flag("--calibrated", arguments->calibrated, "Apply the zero points of lcstore calibrate");
  command->add_flag("--json", arguments->json_output, "Print the result as JSON");
  command->callback([arguments] { plot(*arguments); });
}

}  // namespace lcstore::cli
