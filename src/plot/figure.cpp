// PLplot behind lcstore/plot/figure.h. Everything PLplot needs is checked
// before plinit (driver, device), because PLplot reports fatal problems by
// printing to stderr and calling exit(). What it prints while drawing is
// captured, so a command's output stays clean.
#include "lcstore/plot/figure.h"

#include <dlfcn.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <plplot.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "lcstore/error.h"

namespace lcstore::plot {

namespace fs = std::filesystem;

namespace {

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

// The smallest of 1, 2 and 5 times a power of ten that is at least `rough`.
double nice_step(double rough) {
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  for (double multiple : {1.0, 2.0, 5.0}) {
    if (multiple * power >= rough) return multiple * power;
  }
  return 10 * power;
}

// The x tick spacing: the panel's, else one leaving room for labels about
// five characters wide. PLplot's own choice ignores the labels' width, and
// MJDs overlap in narrow panels.
double x_tick_for(const Panel& panel, PLFLT viewport_width, PLFLT char_height) {
  if (panel.x_tick > 0) return panel.x_tick;
  const double labels = std::max(2.0, std::floor(viewport_width / (5 * char_height)));
  const double rough = (panel.x_max - panel.x_min) / labels;
  return rough > 0 && std::isfinite(rough) ? nice_step(rough) : 0;  // 0: PLplot chooses
}

void draw_points(const Panel& panel, PLFLT char_scale) {
  const PLINT n = static_cast<PLINT>(panel.x.size());
  if (panel.style == Panel::Style::kLine) {
    plcol0(2);
    plline(n, panel.x.data(), panel.y.data());
    return;
  }
  plcol0(3);
  plerry(n, panel.x.data(), panel.y_low.data(), panel.y_high.data());
  plcol0(2);
  plssym(0.0, 1.6 * char_scale);
  plpoin(n, panel.x.data(), panel.y.data(), 17);
}

void draw_panel(const Panel& panel, PLFLT char_scale) {
  pladv(0);
  // The viewport, with margins in character heights: room on the left for
  // horizontal labels such as "19.250".
  PLFLT sx0, sx1, sy0, sy1, default_height, char_height;
  plgspa(&sx0, &sx1, &sy0, &sy1);  // the subpage, mm
  plgchr(&default_height, &char_height);
  const PLFLT width = sx1 - sx0, height = sy1 - sy0;
  const PLFLT left = std::min(8.0 * char_height, 0.4 * width), right = width - 2.0 * char_height;
  plsvpa(left, right, std::min(4.5 * char_height, 0.4 * height), height - std::min(3.0 * char_height, 0.3 * height));
  plcol0(1);
  const PLFLT x_tick = x_tick_for(panel, right - left, char_height);
  const PLINT x_subticks = panel.x_tick > 0 ? 1 : 0;
  if (panel.x.empty()) {
    plwind(panel.x_min, panel.x_max, 0.0, 1.0);
    plbox("bcnstf", x_tick, x_subticks, "bc", 0.0, 0);
    plptex(0.5 * (panel.x_min + panel.x_max), 0.5, 1.0, 0.0, 0.5, panel.empty_text.c_str());
  } else {
    const std::vector<double>& low = panel.style == Panel::Style::kLine ? panel.y : panel.y_low;
    const std::vector<double>& high = panel.style == Panel::Style::kLine ? panel.y : panel.y_high;
    const auto [y0, y1] = padded_range(*std::min_element(low.begin(), low.end()),
                                       *std::max_element(high.begin(), high.end()), 0.08, 0.05);
    plwind(panel.x_min, panel.x_max, panel.y_inverted ? y1 : y0, panel.y_inverted ? y0 : y1);
    plbox("bcnstf", x_tick, x_subticks, "bcnstvf", 0.0, 0);
    draw_points(panel, char_scale);
    plcol0(1);
  }
  plmtex("t", 1.5, 0.5, 0.5, panel.title.c_str());
  plmtex("b", 3.0, 0.5, 0.5, panel.x_label.c_str());
  plmtex("l", 6.5, 0.5, 0.5, panel.y_label.c_str());
}

// The panels of `figure` on PLplot's current stream, in a grid of subpages.
void draw_figure(const Figure& figure, int width, int height) {
  plspage(0.0, 0.0, width, height, 0, 0);
  plscol0(0, 255, 255, 255);  // background
  plscol0(1, 0, 0, 0);        // axes and text
  plscol0(2, 31, 119, 180);   // points and lines
  plscol0(3, 120, 160, 200);  // error bars
  const size_t n = figure.panels.size();
  const PLINT columns = figure.columns > 0 ? figure.columns
                        : n <= 3           ? 1
                        : n <= 8           ? 2
                                           : static_cast<PLINT>(std::ceil(std::sqrt(static_cast<double>(n))));
  const PLINT rows = static_cast<PLINT>((n + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns));
  plssub(columns, rows);
  plinit();
  const PLFLT char_scale = std::clamp(1.6 / std::sqrt(static_cast<double>(rows)), 0.6, 1.2);
  plschr(0.0, char_scale);
  for (const Panel& panel : figure.panels) draw_panel(panel, char_scale);
  plend();
}

// The file `partial` PLplot wrote is moved to `path`, or removed with an
// error when PLplot complained or wrote nothing.
void publish(const fs::path& partial, const fs::path& path, const PlotSession& session, const std::string& captured) {
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

}  // namespace

std::string plot_format(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (extension == ".png" || extension == ".svg") return extension.substr(1);
  throw Error(ErrorKind::kInvalidArgument, path.string(),
              fmt::format("unsupported plot format \"{}\"; name the file .png or .svg",
                          extension.empty() ? "(no extension)" : extension));
}

std::pair<double, double> padded_range(double low, double high, double fraction, double minimum_half_width) {
  const double half = std::max((high - low) * (0.5 + fraction), minimum_half_width);
  const double middle = 0.5 * (low + high);
  return {middle - half, middle + half};
}

void render(const Figure& figure, const fs::path& path, int width, int height) {
  const std::string device = plot_format(path) + "cairo";
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
    if (!has_file_device(device.c_str())) {
      captured = output.restore();
      g_session = nullptr;
      throw Error(ErrorKind::kUnsupported, "PLplot",
                  fmt::format("has no {} device; install plplot-driver-cairo (PLPLOT_DRV_DIR={})", device,
                              std::getenv("PLPLOT_DRV_DIR") ? std::getenv("PLPLOT_DRV_DIR") : ""));
    }
    plsdev(device.c_str());
    plsfnam(partial.c_str());
    draw_figure(figure, width, height);
    captured = output.restore();
    session.output = nullptr;
  }
  g_session = nullptr;
  publish(partial, path, session, captured);
}

}  // namespace lcstore::plot
