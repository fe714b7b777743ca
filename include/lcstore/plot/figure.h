// Figures of x-y panels drawn to PNG or SVG files with PLplot's cairo driver.
//
// A Figure says what to draw and knows nothing of stores; render() is the
// only code that talks to PLplot. PLplot reports fatal problems by printing
// and calling exit(), so render() checks what it can first (format, driver,
// device) and captures what PLplot prints; a fatal PLplot error still ends
// the program, with one "lcstore: ..." line on stderr and no output file.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lcstore::plot {

struct Panel {
  // How the points are drawn: markers with vertical error bars from y_low to
  // y_high (light curves), or one line through them in x order (periodograms).
  enum class Style { kPointsWithErrorBars, kLine };

  std::string title;
  std::string x_label;
  std::string y_label;
  double x_min = 0, x_max = 1;
  double x_tick = 0;        // tick spacing; 0: PLplot chooses
  bool y_inverted = false;  // larger y at the bottom (magnitudes: brighter up)
  Style style = Style::kPointsWithErrorBars;
  std::vector<double> x, y;
  std::vector<double> y_low, y_high;   // kPointsWithErrorBars only; same length as y
  std::string empty_text = "no data";  // written in the panel when x is empty
};

struct Figure {
  std::vector<Panel> panels;  // row by row
  int columns = 0;            // 0: chosen from the number of panels
};

// The format of `path`, from its extension: "png" or "svg". Throws
// Error(kInvalidArgument) for any other extension.
std::string plot_format(const std::filesystem::path& path);

// Draws `figure` into `path` (width x height pixels, points for SVG). The file
// is written under a temporary name in the same directory and renamed when
// complete. Throws Error(kNotFound) when the cairo driver is missing and
// Error(kIo) when PLplot wrote no file.
void render(const Figure& figure, const std::filesystem::path& path, int width, int height);

// [low, high] widened by `fraction` of its width on each side; a range
// narrower than 2 * minimum_half_width gets that width.
std::pair<double, double> padded_range(double low, double high, double fraction, double minimum_half_width);

}  // namespace lcstore::plot
