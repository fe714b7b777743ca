// The field model: stars, epochs, light curves and the WCS (no pixels).
#include "lcstore/simulate/field.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <tuple>

#include "lcstore/error.h"
#include "simulate/random.h"
#include "simulate/render.h"

namespace lcstore::simulate {

namespace {

constexpr double kDegree = std::numbers::pi / 180.0;

// Variable stars: this share varies periodically, the rest are transients.
constexpr double kPeriodicShare = 0.7;
constexpr double kMinAmplitude = 0.1, kMaxAmplitude = 1.0;  // mag
// A transient's width in units of the cadence: it lasts about one to three epochs.
constexpr double kMinWidthCadences = 0.5, kMaxWidthCadences = 1.5;
// Star counts grow as 10^(kCountSlope m) with magnitude, as for field stars.
constexpr double kCountSlope = 0.3;

void check_options(const FieldOptions& options) {
  auto fail = [](const std::string& option, const std::string& reason) {
    throw Error(ErrorKind::kInvalidArgument, option, reason);
  };
  if (options.stars == 0) fail("stars", "must be at least 1");
  if (options.epochs == 0) fail("epochs", "must be at least 1");
  if (!(options.variable_fraction >= 0.0 && options.variable_fraction <= 1.0)) {
    fail("variable fraction", fmt::format("{} is not between 0 and 1", options.variable_fraction));
  }
  if (!(options.fwhm_pixels > 0.0)) fail("fwhm", "must be positive");
  if (options.size < 2 * detail::psf_half_width(options) + 2) {
    fail("size", fmt::format("{} pixels cannot hold a star's PSF box of {} pixels", options.size,
                             2 * detail::psf_half_width(options) + 1));
  }
  if (!(options.pixel_scale_arcsec > 0.0)) fail("pixel scale", "must be positive");
  if (!(std::abs(options.center_dec) < 89.0)) fail("center dec", "must be within 89 degrees of the equator");
  if (!(options.mag_bright <= options.mag_faint)) fail("magnitudes", "mag_bright must not exceed mag_faint");
  if (!(options.background_rms >= 0.0 && options.gain > 0.0 && options.zero_point_scatter >= 0.0)) {
    fail("noise", "background_rms and zero_point_scatter must be >= 0 and gain > 0");
  }
  if (!(options.cadence_days > 0.0)) fail("cadence", "must be positive");
  if (!(options.min_period_days > 0.0 && options.min_period_days <= options.max_period_days)) {
    fail("periods", "need 0 < min_period_days <= max_period_days");
  }
}

std::vector<Epoch> draw_epochs(const FieldOptions& options) {
  detail::Random random(options.seed, /*stream=*/0);
  // Jitter of at most a quarter cadence keeps the epochs in time order.
  const double jitter = std::min(3.0, options.cadence_days / 4.0);
  const double max_offset = 3.0 * options.zero_point_scatter;
  std::vector<Epoch> epochs(options.epochs);
  for (uint32_t e = 0; e < options.epochs; ++e) {
    Epoch& epoch = epochs[e];
    epoch.aorkey = options.first_aorkey + 256 * int64_t{e};
    epoch.key = fmt::format("r{}", epoch.aorkey);
    epoch.mjd = options.first_mjd + e * options.cadence_days + random.uniform(-jitter, jitter);
    epoch.zero_point_offset = std::clamp(options.zero_point_scatter * random.normal(), -max_offset, max_offset);
  }
  return epochs;
}

// A magnitude in [bright, faint] with density proportional to 10^(kCountSlope m).
double draw_magnitude(detail::Random& random, double bright, double faint) {
  const double k = kCountSlope * std::numbers::ln10;
  return bright + std::log1p(random.uniform() * std::expm1(k * (faint - bright))) / k;
}

void make_periodic(Star& star, detail::Random& random, const FieldOptions& options) {
  star.variability = Variability::kPeriodic;
  star.amplitude = random.uniform(kMinAmplitude, kMaxAmplitude);
  star.period_days = std::exp(random.uniform(std::log(options.min_period_days), std::log(options.max_period_days)));
  star.phase = random.uniform(0.0, 2.0 * std::numbers::pi);
}

void make_transient(Star& star, detail::Random& random, const FieldOptions& options, double first_mjd,
                    double last_mjd) {
  star.variability = Variability::kTransient;
  star.amplitude = random.uniform(kMinAmplitude, kMaxAmplitude);
  star.peak_mjd = random.uniform(first_mjd, last_mjd);
  star.width_days = options.cadence_days * random.uniform(kMinWidthCadences, kMaxWidthCadences);
}

std::vector<Star> draw_stars(const FieldOptions& options, const std::vector<Epoch>& epochs) {
  detail::Random random(options.seed, /*stream=*/1);
  const TanWcs wcs = TanWcs::of(options);
  // Stars keep their whole PSF box inside the image.
  const double margin = detail::psf_half_width(options) + 1.0;
  std::vector<Star> stars(options.stars);
  for (Star& star : stars) {
    star.x = random.uniform(margin, options.size + 1.0 - margin);
    star.y = random.uniform(margin, options.size + 1.0 - margin);
    std::tie(star.ra, star.dec) = wcs.pixel_to_sky(star.x, star.y);
    star.mag0 = draw_magnitude(random, options.mag_bright, options.mag_faint);
  }
  // Which stars vary: the first draws of a Fisher-Yates shuffle of the indices.
  const auto n_variable = static_cast<size_t>(std::lround(options.variable_fraction * options.stars));
  const auto n_periodic = static_cast<size_t>(std::lround(kPeriodicShare * static_cast<double>(n_variable)));
  std::vector<size_t> order(stars.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = 0; i < n_variable; ++i) {
    const size_t pick = i + static_cast<size_t>(random.uniform() * static_cast<double>(order.size() - i));
    std::swap(order[i], order[pick]);
    if (i < n_periodic) {
      make_periodic(stars[order[i]], random, options);
    } else {
      make_transient(stars[order[i]], random, options, epochs.front().mjd, epochs.back().mjd);
    }
  }
  return stars;
}

}  // namespace

const char* to_string(Variability variability) {
  switch (variability) {
    case Variability::kConstant:
      return "constant";
    case Variability::kPeriodic:
      return "periodic";
    case Variability::kTransient:
      return "transient";
  }
  return "constant";
}

double Star::magnitude_at(double mjd) const {
  switch (variability) {
    case Variability::kConstant:
      return mag0;
    case Variability::kPeriodic:
      return mag0 + amplitude * std::sin(2.0 * std::numbers::pi * mjd / period_days + phase);
    case Variability::kTransient: {
      const double z = (mjd - peak_mjd) / width_days;
      return mag0 - amplitude * std::exp(-0.5 * z * z);
    }
  }
  return mag0;
}

Field make_field(const FieldOptions& options) {
  check_options(options);
  Field field;
  field.options = options;
  field.epochs = draw_epochs(options);
  field.stars = draw_stars(options, field.epochs);
  for (Epoch& epoch : field.epochs) {
    epoch.true_magnitudes.reserve(field.stars.size());
    for (const Star& star : field.stars) epoch.true_magnitudes.push_back(star.magnitude_at(epoch.mjd));
  }
  return field;
}

TanWcs TanWcs::of(const FieldOptions& options) {
  return {.crval1 = options.center_ra,
          .crval2 = options.center_dec,
          .crpix1 = (options.size + 1.0) / 2.0,
          .crpix2 = (options.size + 1.0) / 2.0,
          .degrees_per_pixel = options.pixel_scale_arcsec / 3600.0};
}

std::pair<double, double> TanWcs::pixel_to_sky(double x, double y) const {
  // Intermediate world coordinates in radians (CD1_1 = -scale: east is left),
  // then the inverse gnomonic projection about (crval1, crval2).
  const double xi = -(x - crpix1) * degrees_per_pixel * kDegree;
  const double eta = (y - crpix2) * degrees_per_pixel * kDegree;
  const double dec0 = crval2 * kDegree;
  const double denominator = std::cos(dec0) - eta * std::sin(dec0);
  const double ra = crval1 + std::atan2(xi, denominator) / kDegree;
  const double dec = std::atan2(std::sin(dec0) + eta * std::cos(dec0), std::hypot(xi, denominator)) / kDegree;
  return {std::fmod(ra + 360.0, 360.0), dec};
}

std::string epoch_image_name(const Epoch& epoch) { return "epoch_" + epoch.key + ".fits"; }

}  // namespace lcstore::simulate
