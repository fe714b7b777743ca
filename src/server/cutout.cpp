#include "server/cutout.h"

#include <fitsio.h>
#include <fmt/format.h>
#include <png.h>
#include <wcs.h>
#include <wcshdr.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>

#include "lcstore/error.h"

namespace lcstore::server {

namespace {

std::string fits_message(int status) {
  char text[FLEN_STATUS] = {};
  fits_get_errstatus(status, text);
  return text;
}

struct FitsCloser {
  void operator()(fitsfile* file) const {
    int status = 0;
    fits_close_file(file, &status);
  }
};
using FitsFile = std::unique_ptr<fitsfile, FitsCloser>;

// The image's celestial WCS, parsed by wcslib from its header.
class Wcs {
 public:
  Wcs(fitsfile* file, const std::string& subject) {
    char* header = nullptr;
    int keys = 0, status = 0;
    if (fits_hdr2str(file, 1, nullptr, 0, &header, &keys, &status))
      throw Error(ErrorKind::kCorruptData, subject, "header unreadable: " + fits_message(status));
    int rejected = 0;
    {
      // wcspih's header parser keeps state between calls in older wcslib builds.
      static std::mutex parser;
      std::lock_guard lock(parser);
      status = wcspih(header, keys, WCSHDR_all, 0, &rejected, &count_, &wcs_);
    }
    int free_status = 0;
    fits_free_memory(header, &free_status);
    if (status != 0 || count_ == 0 || wcsset(wcs_) != 0 || wcs_->lng < 0 || wcs_->lat < 0)
      throw Error(ErrorKind::kCorruptData, subject, "has no celestial WCS");
  }
  ~Wcs() { wcsvfree(&count_, &wcs_); }
  Wcs(const Wcs&) = delete;
  Wcs& operator=(const Wcs&) = delete;

  // The FITS pixel (1-based) of a sky position, or NaN where it has none.
  std::array<double, 2> pixel(double ra, double dec) {
    const auto n = static_cast<size_t>(wcs_->naxis);
    std::vector<double> world(n, 0.0), imgcrd(n), pixcrd(n);
    world[static_cast<size_t>(wcs_->lng)] = ra;
    world[static_cast<size_t>(wcs_->lat)] = dec;
    double phi = 0, theta = 0;
    int stat = 0;
    if (wcss2p(wcs_, 1, wcs_->naxis, world.data(), &phi, &theta, imgcrd.data(), pixcrd.data(), &stat) != 0)
      return {NAN, NAN};
    return {pixcrd[0], pixcrd[1]};
  }

 private:
  int count_ = 0;
  wcsprm* wcs_ = nullptr;
};

struct ColorStop {
  double at;
  uint8_t r, g, b;
};

// matplotlib's maps sampled at nine points (hot at its three corners),
// interpolated linearly between them.
const std::vector<ColorStop>& stops(Colormap colormap) {
  static const std::vector<ColorStop> gray = {{0, 0, 0, 0}, {1, 255, 255, 255}};
  static const std::vector<ColorStop> viridis = {{0.000, 68, 1, 84},    {0.125, 71, 44, 122},  {0.250, 59, 81, 139},
                                                 {0.375, 44, 113, 142}, {0.500, 33, 144, 141}, {0.625, 39, 173, 129},
                                                 {0.750, 92, 200, 99},  {0.875, 170, 220, 50}, {1.000, 253, 231, 37}};
  static const std::vector<ColorStop> magma = {{0.000, 0, 0, 4},      {0.125, 28, 16, 68},    {0.250, 79, 18, 123},
                                               {0.375, 129, 37, 129}, {0.500, 181, 54, 122},  {0.625, 229, 80, 100},
                                               {0.750, 251, 135, 97}, {0.875, 254, 194, 135}, {1.000, 252, 253, 191}};
  static const std::vector<ColorStop> hot = {
      {0, 0, 0, 0}, {0.365, 255, 0, 0}, {0.746, 255, 255, 0}, {1, 255, 255, 255}};
  switch (colormap) {
    case Colormap::kGray:
      return gray;
    case Colormap::kViridis:
      return viridis;
    case Colormap::kMagma:
      return magma;
    case Colormap::kHot:
      return hot;
  }
  return gray;
}

std::array<uint8_t, 256 * 3> color_table(Colormap colormap) {
  const std::vector<ColorStop>& points = stops(colormap);
  std::array<uint8_t, 256 * 3> table{};
  for (size_t i = 0; i < 256; ++i) {
    const double t = static_cast<double>(i) / 255.0;
    size_t k = 1;
    while (k + 1 < points.size() && points[k].at < t) ++k;
    const ColorStop& a = points[k - 1];
    const ColorStop& b = points[k];
    const double f = std::clamp((t - a.at) / (b.at - a.at), 0.0, 1.0);
    auto mix = [f](uint8_t from, uint8_t to) {
      return static_cast<uint8_t>(std::lround(from + f * (static_cast<double>(to) - from)));
    };
    table[3 * i] = mix(a.r, b.r);
    table[3 * i + 1] = mix(a.g, b.g);
    table[3 * i + 2] = mix(a.b, b.b);
  }
  return table;
}

// The stretches of astropy.visualization (LogStretch a=1000, AsinhStretch a=0.1).
double normalized(double t, Normalization normalization) {
  switch (normalization) {
    case Normalization::kLinear:
      return t;
    case Normalization::kSqrt:
      return std::sqrt(t);
    case Normalization::kLog:
      return std::log10(1000.0 * t + 1.0) / std::log10(1001.0);
    case Normalization::kAsinh:
      return std::asinh(t / 0.1) / std::asinh(10.0);
  }
  return t;
}

double percentile(std::vector<float>& values, double percent) {
  const auto rank = static_cast<size_t>(std::llround(percent / 100.0 * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(rank), values.end());
  return values[rank];
}

// Colours `pixels` (size x size, NaN black) into cutout.rgb, stretched
// between the request's percentiles of the image pixels read.
void paint(Cutout& cutout, const std::vector<float>& pixels, const std::vector<float>& read,
           const CutoutRequest& request) {
  std::vector<float> finite;
  finite.reserve(read.size());
  std::copy_if(read.begin(), read.end(), std::back_inserter(finite), [](float v) { return std::isfinite(v); });
  if (!finite.empty()) {
    cutout.low = percentile(finite, request.low_percentile);
    cutout.high = percentile(finite, request.high_percentile);
  }
  const double span = cutout.high > cutout.low ? cutout.high - cutout.low : 1.0;
  const std::array<uint8_t, 256 * 3> colors = color_table(request.colormap);
  cutout.rgb.assign(pixels.size() * 3, 0);
  for (size_t i = 0; i < pixels.size(); ++i) {
    if (!std::isfinite(pixels[i])) continue;
    const double t = normalized(std::clamp((pixels[i] - cutout.low) / span, 0.0, 1.0), request.normalization);
    const auto level = static_cast<size_t>(std::lround(t * 255.0));
    std::copy_n(colors.begin() + static_cast<ptrdiff_t>(3 * level), 3,
                cutout.rgb.begin() + static_cast<ptrdiff_t>(3 * i));
  }
}

void draw_ring(Cutout& cutout, double cx, double cy) {
  constexpr double kRadius = 7.0, kHalfWidth = 0.9;
  constexpr uint8_t kColor[3] = {0, 255, 255};
  const auto size = static_cast<int64_t>(cutout.size);
  for (int64_t y = static_cast<int64_t>(std::floor(cy - kRadius - 1)); y <= static_cast<int64_t>(cy + kRadius + 1);
       ++y) {
    for (int64_t x = static_cast<int64_t>(std::floor(cx - kRadius - 1)); x <= static_cast<int64_t>(cx + kRadius + 1);
         ++x) {
      if (x < 0 || y < 0 || x >= size || y >= size) continue;
      const double distance = std::hypot(static_cast<double>(x) - cx, static_cast<double>(y) - cy);
      if (std::abs(distance - kRadius) > kHalfWidth) continue;
      std::copy(kColor, kColor + 3, cutout.rgb.begin() + (y * size + x) * 3);
    }
  }
}

}  // namespace

Cutout render_cutout(const CutoutRequest& request) {
  const std::string subject = request.file.string();
  fitsfile* raw = nullptr;
  int status = 0;
  // fits_open_diskfile takes the name as it is, not as CFITSIO's extended
  // file name syntax ("name[1]", "!name").
  if (fits_open_diskfile(&raw, request.file.c_str(), READONLY, &status))
    throw Error(ErrorKind::kIo, subject, "cannot be opened: " + fits_message(status));
  FitsFile file(raw);
  int dimensions = 0;
  long axes[9] = {};
  if (fits_get_img_dim(file.get(), &dimensions, &status) || dimensions < 2 || dimensions > 9 ||
      fits_get_img_size(file.get(), dimensions, axes, &status))
    throw Error(ErrorKind::kCorruptData, subject, "is not a two-dimensional image");
  Wcs wcs(file.get(), subject);

  Cutout cutout;
  cutout.size = request.size;
  const auto [cx, cy] = wcs.pixel(request.ra, request.dec);
  if (!std::isfinite(cx) || !std::isfinite(cy))
    throw Error(ErrorKind::kInvalidArgument, "ra", "the position has no pixel on " + request.file.filename().string());
  cutout.center_x = cx;
  cutout.center_y = cy;
  const auto size = static_cast<int64_t>(request.size);
  const int64_t x0 = std::llround(cx) - size / 2, y0 = std::llround(cy) - size / 2;
  const int64_t first_x = std::max<int64_t>(x0, 1), last_x = std::min<int64_t>(x0 + size - 1, axes[0]);
  const int64_t first_y = std::max<int64_t>(y0, 1), last_y = std::min<int64_t>(y0 + size - 1, axes[1]);
  if (first_x > last_x || first_y > last_y)
    throw Error(ErrorKind::kInvalidArgument, "ra",
                fmt::format("the position is off the image {} ({} x {} pixels)", request.file.filename().string(),
                            axes[0], axes[1]));

  // Pixels off the image stay NaN and show black.
  const auto width = static_cast<size_t>(last_x - first_x + 1), height = static_cast<size_t>(last_y - first_y + 1);
  std::vector<float> read(width * height);
  std::vector<long> first_pixel(static_cast<size_t>(dimensions), 1), last_pixel(static_cast<size_t>(dimensions), 1),
      step(static_cast<size_t>(dimensions), 1);
  first_pixel[0] = static_cast<long>(first_x);
  first_pixel[1] = static_cast<long>(first_y);
  last_pixel[0] = static_cast<long>(last_x);
  last_pixel[1] = static_cast<long>(last_y);
  float null_value = std::numeric_limits<float>::quiet_NaN();
  int any_null = 0;
  if (fits_read_subset(file.get(), TFLOAT, first_pixel.data(), last_pixel.data(), step.data(), &null_value, read.data(),
                       &any_null, &status))
    throw Error(ErrorKind::kCorruptData, subject, "pixels unreadable: " + fits_message(status));

  std::vector<float> pixels(static_cast<size_t>(size * size), NAN);
  for (size_t row = 0; row < height; ++row) {
    // FITS rows go up; PNG rows go down.
    const auto fits_y = first_y + static_cast<int64_t>(row);
    const auto png_row = static_cast<size_t>(y0 + size - 1 - fits_y);
    std::copy_n(read.begin() + static_cast<ptrdiff_t>(row * width), width,
                pixels.begin() +
                    static_cast<ptrdiff_t>(png_row * static_cast<size_t>(size) + static_cast<size_t>(first_x - x0)));
  }

  paint(cutout, pixels, read, request);

  for (const SkyMarker& marker : request.markers) {
    const auto [mx, my] = wcs.pixel(marker.ra, marker.dec);
    const double x = mx - static_cast<double>(x0), y = static_cast<double>(y0 + size - 1) - my;
    if (!(x >= -0.5 && y >= -0.5 && x < static_cast<double>(size) - 0.5 && y < static_cast<double>(size) - 0.5))
      continue;
    draw_ring(cutout, x, y);
    cutout.markers.push_back({marker.object, x, y});
  }
  return cutout;
}

std::string encode_png(const Cutout& cutout) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw Error(ErrorKind::kIo, "png", "out of memory");
  }
  std::string out;
  // libpng reports errors by longjmp: nothing with a destructor is made
  // between here and the end.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error(ErrorKind::kIo, "png", "encoding failed");
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t length) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(data), length);
      },
      nullptr);
  png_set_IHDR(png, info, cutout.size, cutout.size, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 3);
  png_write_info(png, info);
  for (uint32_t row = 0; row < cutout.size; ++row)
    png_write_row(png, const_cast<png_bytep>(cutout.rgb.data() + static_cast<size_t>(row) * cutout.size * 3));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

}  // namespace lcstore::server
