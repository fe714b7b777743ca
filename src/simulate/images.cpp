// Rendering the field's images and writing them as FITS files (CFITSIO).
#include <fitsio.h>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <numbers>
#include <variant>

#include "lcstore/error.h"
#include "lcstore/parallel.h"
#include "simulate/random.h"
#include "simulate/render.h"

namespace lcstore::simulate {

namespace detail {

uint32_t psf_half_width(const FieldOptions& options) {
  return static_cast<uint32_t>(std::ceil(3.0 * options.fwhm_pixels));
}

namespace {

// The fraction of a unit Gaussian (centre `center`, sigma `sigma`, 0-based
// pixel coordinates) falling in each pixel first, first + 1, ...
void pixel_fractions(double center, double sigma, int64_t first, std::vector<double>& fractions) {
  const double scale = 1.0 / (sigma * std::numbers::sqrt2);
  double lower = std::erf((static_cast<double>(first) - 0.5 - center) * scale);
  for (size_t i = 0; i < fractions.size(); ++i) {
    const double upper = std::erf((static_cast<double>(first + static_cast<int64_t>(i)) + 0.5 - center) * scale);
    fractions[i] = 0.5 * (upper - lower);
    lower = upper;
  }
}

}  // namespace

std::vector<float> render_image(const Field& field, const std::vector<double>& star_counts, double variance_scale,
                                uint64_t noise_stream) {
  const FieldOptions& options = field.options;
  const auto size = static_cast<int64_t>(options.size);
  const double sigma = options.fwhm_pixels / (2.0 * std::sqrt(2.0 * std::numbers::ln2));
  const auto half_width = static_cast<int64_t>(psf_half_width(options));
  std::vector<float> pixels(static_cast<size_t>(size * size), 0.0f);
  std::vector<double> along_x(2 * half_width + 1), along_y(2 * half_width + 1);
  for (size_t s = 0; s < field.stars.size(); ++s) {
    // 1-based star position to 0-based pixel coordinates.
    const double x = field.stars[s].x - 1.0, y = field.stars[s].y - 1.0;
    const int64_t first_x = std::clamp<int64_t>(std::llround(x) - half_width, 0, size - 2 * half_width - 1);
    const int64_t first_y = std::clamp<int64_t>(std::llround(y) - half_width, 0, size - 2 * half_width - 1);
    pixel_fractions(x, sigma, first_x, along_x);
    pixel_fractions(y, sigma, first_y, along_y);
    for (size_t j = 0; j < along_y.size(); ++j) {
      float* row = &pixels[static_cast<size_t>((first_y + static_cast<int64_t>(j)) * size + first_x)];
      const double row_counts = star_counts[s] * along_y[j];
      for (size_t i = 0; i < along_x.size(); ++i) row[i] += static_cast<float>(row_counts * along_x[i]);
    }
  }
  Random random(options.seed, noise_stream);
  const double background_variance = options.background_rms * options.background_rms;
  for (float& pixel : pixels) {
    const double signal = pixel;
    const double variance = (background_variance + std::max(signal, 0.0) / options.gain) * variance_scale;
    pixel = static_cast<float>(options.sky + signal + std::sqrt(variance) * random.normal());
  }
  return pixels;
}

}  // namespace detail

namespace {

using detail::render_image;

// CFITSIO is not guaranteed to be built thread-safe; all calls go through this lock.
std::mutex cfitsio_mutex;

struct Card {
  std::string key;
  std::variant<double, int64_t, std::string> value;
  std::string comment;
};

std::string cfitsio_message(int status) {
  char text[FLEN_ERRMSG] = {};
  fits_get_errstatus(status, text);
  fits_clear_errmsg();
  return text;
}

void write_fits_image(const std::filesystem::path& path, uint32_t size, const std::vector<float>& pixels,
                      const std::vector<Card>& cards) {
  std::lock_guard lock(cfitsio_mutex);
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  fitsfile* file = nullptr;
  int status = 0;
  // The disk-file variant takes the name literally (no "[ext]" syntax).
  fits_create_diskfile(&file, const_cast<char*>(path.c_str()), &status);
  long axes[2] = {static_cast<long>(size), static_cast<long>(size)};
  fits_create_img(file, FLOAT_IMG, 2, axes, &status);
  for (const Card& card : cards) {
    char* comment = const_cast<char*>(card.comment.c_str());
    char* key = const_cast<char*>(card.key.c_str());
    if (const auto* number = std::get_if<double>(&card.value)) {
      // 17 significant digits (G format) give the double back exactly; TDOUBLE keeps 15.
      fits_write_key_dbl(file, key, *number, -17, comment, &status);
    } else if (const auto* integer = std::get_if<int64_t>(&card.value)) {
      LONGLONG value = *integer;
      fits_write_key(file, TLONGLONG, key, &value, comment, &status);
    } else {
      fits_write_key(file, TSTRING, key, const_cast<char*>(std::get<std::string>(card.value).c_str()), comment,
                     &status);
    }
  }
  fits_write_img(file, TFLOAT, 1, static_cast<LONGLONG>(pixels.size()), const_cast<float*>(pixels.data()), &status);
  int close_status = 0;
  if (file != nullptr) fits_close_file(file, &close_status);
  if (status == 0) status = close_status;
  if (status != 0)
    throw Error(ErrorKind::kIo, path.string(), "cannot write the FITS image: " + cfitsio_message(status));
}

std::vector<Card> wcs_cards(const FieldOptions& options) {
  const TanWcs wcs = TanWcs::of(options);
  return {{"CTYPE1", std::string("RA---TAN"), "gnomonic projection"},
          {"CTYPE2", std::string("DEC--TAN"), "gnomonic projection"},
          {"CUNIT1", std::string("deg"), ""},
          {"CUNIT2", std::string("deg"), ""},
          {"CRVAL1", wcs.crval1, "[deg] RA of the reference pixel"},
          {"CRVAL2", wcs.crval2, "[deg] Dec of the reference pixel"},
          {"CRPIX1", wcs.crpix1, "reference pixel (the image centre)"},
          {"CRPIX2", wcs.crpix2, "reference pixel (the image centre)"},
          {"CD1_1", -wcs.degrees_per_pixel, "[deg/pixel] east is left"},
          {"CD1_2", 0.0, ""},
          {"CD2_1", 0.0, ""},
          {"CD2_2", wcs.degrees_per_pixel, "[deg/pixel] north is up"},
          {"RADESYS", std::string("ICRS"), ""},
          {"EQUINOX", 2000.0, ""},
          {"ORIGIN", std::string("lcstore simulate"), "simulated IRAC-like field"},
          {"SIMSEED", static_cast<int64_t>(options.seed), "seed of the simulation"},
          {"BUNIT", std::string("counts"), "MAG = -2.5 log10(counts) + MAGZPT"},
          {"MAGZPT", options.zero_point, "nominal zero point"}};
}

// "YYYY-MM-DDThh:mm:ss.sss" (UTC) of a modified Julian date.
std::string iso_date(double mjd) {
  using namespace std::chrono;
  constexpr int64_t kMjdOfUnixEpoch = 40587;
  const double whole_days = std::floor(mjd);
  const year_month_day date{sys_days{days{static_cast<int64_t>(whole_days) - kMjdOfUnixEpoch}}};
  const auto milliseconds = static_cast<int64_t>(std::llround((mjd - whole_days) * 86400000.0));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), milliseconds / 3600000,
                     milliseconds / 60000 % 60, milliseconds / 1000 % 60, milliseconds % 1000);
}

double counts_of(double magnitude, double zero_point) { return std::pow(10.0, -0.4 * (magnitude - zero_point)); }

void write_epoch(const Field& field, size_t e, const std::filesystem::path& directory) {
  const Epoch& epoch = field.epochs[e];
  std::vector<double> counts(field.stars.size());
  for (size_t s = 0; s < counts.size(); ++s) {
    counts[s] = counts_of(epoch.true_magnitudes[s] + epoch.zero_point_offset, field.options.zero_point);
  }
  std::vector<Card> cards = wcs_cards(field.options);
  cards.push_back({"MJD-OBS", epoch.mjd, "[d] modified Julian date of the observation"});
  cards.push_back({"DATE-OBS", iso_date(epoch.mjd), "UTC"});
  cards.push_back({"AORKEY", epoch.aorkey, "astronomical observation request key"});
  cards.push_back({"GAIN", field.options.gain, "[e-/count]"});
  write_fits_image(directory / epoch_image_name(epoch), field.options.size,
                   render_image(field, counts, 1.0, detail::epoch_noise_stream(e)), cards);
}

// The mean of the epoch images: mean counts, variance over the number of epochs.
void write_coadd(const Field& field, const std::filesystem::path& directory) {
  const double n_epochs = static_cast<double>(field.epochs.size());
  std::vector<double> counts(field.stars.size(), 0.0);
  for (const Epoch& epoch : field.epochs) {
    for (size_t s = 0; s < counts.size(); ++s) {
      counts[s] += counts_of(epoch.true_magnitudes[s] + epoch.zero_point_offset, field.options.zero_point) / n_epochs;
    }
  }
  std::vector<Card> cards = wcs_cards(field.options);
  cards.push_back({"NCOMBINE", static_cast<int64_t>(field.epochs.size()), "epochs averaged"});
  cards.push_back({"MJD-BEG", field.epochs.front().mjd, "[d] first epoch"});
  cards.push_back({"MJD-END", field.epochs.back().mjd, "[d] last epoch"});
  cards.push_back({"GAIN", field.options.gain * n_epochs, "[e-/count] of the mean of the epochs"});
  write_fits_image(directory / kCoaddImage, field.options.size,
                   render_image(field, counts, 1.0 / n_epochs, detail::kCoaddNoiseStream), cards);
}

}  // namespace

void write_field(const Field& field, const std::filesystem::path& directory, unsigned threads) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw Error(ErrorKind::kIo, directory.string(), "cannot create the directory: " + error.message());
  // Image 0 is the coadd, image e + 1 epoch e.
  parallel_for(field.epochs.size() + 1, threads, [&](size_t image, unsigned) {
    if (image == 0) {
      write_coadd(field, directory);
    } else {
      write_epoch(field, image - 1, directory);
    }
  });
  detail::write_truth(field, directory / kTruthFile);
  detail::write_epochs_csv(field, directory / kEpochsFile);
}

}  // namespace lcstore::simulate
