// A cutout of a FITS image around a sky position, as a PNG: read with
// CFITSIO (only the cutout's rows), placed with the image's WCS (wcslib),
// stretched between two percentiles of its pixels, normalized and coloured.
// Selected objects are drawn as rings; their positions in the PNG are
// returned too, so that a viewer can make them clickable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lcstore::server {

enum class Normalization { kLinear, kSqrt, kLog, kAsinh };
enum class Colormap { kGray, kViridis, kMagma, kHot };

struct SkyMarker {
  std::string object;
  double ra, dec;  // degrees
};

struct CutoutRequest {
  std::filesystem::path file;
  double ra, dec;  // centre, degrees
  uint32_t size;   // pixels per side
  Normalization normalization = Normalization::kLinear;
  double low_percentile = 1.0, high_percentile = 99.5;
  Colormap colormap = Colormap::kGray;
  std::vector<SkyMarker> markers;
};

struct PlacedMarker {
  std::string object;
  double x, y;  // PNG pixels from the top left corner, pixel centres at integers
};

struct Cutout {
  uint32_t size = 0;
  double center_x = 0, center_y = 0;  // the centre's FITS pixel (1-based)
  double low = 0, high = 0;           // the pixel values the stretch maps to black and white
  std::vector<uint8_t> rgb;           // size x size x 3, top row first (north up for a north-up image)
  std::vector<PlacedMarker> markers;  // the markers that fall inside the cutout
};

// Throws Error(kIo / kCorruptData) naming the file when it cannot be read or
// has no celestial WCS, and Error(kInvalidArgument, "ra") when the position
// is not on the image.
Cutout render_cutout(const CutoutRequest& request);

std::string encode_png(const Cutout& cutout);

}  // namespace lcstore::server
