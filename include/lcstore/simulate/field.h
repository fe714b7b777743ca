// A simulated IRAC-like star field observed at several epochs, for the demo
// and the end-to-end tests: the images SExtractor measures and the truth its
// measurements are checked against.
//
//   Field field = make_field({.stars = 2000, .epochs = 30, .size = 1024, .seed = 1});
//   write_field(field, "demo-output/images");   // coadd.fits, epoch_<key>.fits, truth.json, epochs.csv
//   Field truth = read_truth("demo-output/images/truth.json");
//
// The model:
//  * square images of `size` pixels, `pixel_scale_arcsec` per pixel, a TAN
//    projection centred on (center_ra, center_dec) written as CRVAL/CRPIX/CD
//    keywords; every image shares the WCS (the epochs are registered), as
//    SExtractor's dual-image mode requires;
//  * stars at uniform random positions with magnitudes between mag_bright and
//    mag_faint, more of them faint (dN/dm grows as 10^(0.3 m));
//  * a Gaussian PSF of FWHM `fwhm_pixels`, integrated over each pixel and
//    rendered only within a box of 3 FWHM around the star;
//  * counts = 10^(-0.4 (mag - zero_point)), so SExtractor with
//    MAG_ZEROPOINT = zero_point measures the magnitude back;
//  * a flat sky plus Gaussian noise of variance background_rms^2 + star
//    counts / gain per pixel;
//  * each epoch has a small random zero-point offset (magnitude error of the
//    whole image, as an uncalibrated epoch has);
//  * the coadd is the mean of the epochs: mean star counts, noise variance
//    divided by the number of epochs, GAIN keyword multiplied by it;
//  * `variable_fraction` of the stars vary: most periodically (a sinusoid in
//    magnitude), the rest as transients (a Gaussian flare in magnitude).
// The same options and seed give the same field, bit for bit, on any platform
// and with any number of threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lcstore::simulate {

struct FieldOptions {
  uint32_t stars = 2000;
  uint32_t epochs = 30;
  uint32_t size = 1024;  // width and height of the images, pixels
  uint64_t seed = 1;
  double variable_fraction = 0.1;

  // The simulated instrument and survey. The defaults are the demo's.
  double pixel_scale_arcsec = 1.2;
  double center_ra = 265.05;  // degrees, CRVAL1 (near the IRAC Dark Field)
  double center_dec = 65.55;  // degrees, CRVAL2
  double fwhm_pixels = 2.0;
  double zero_point = 25.0;
  double sky = 10.0;             // background level, counts per pixel
  double background_rms = 0.25;  // per-pixel background noise of one epoch, counts
  double gain = 200.0;           // electrons per count: photon noise of the stars
  double mag_bright = 15.0;
  double mag_faint = 22.0;
  double zero_point_scatter = 0.03;  // rms of the per-epoch zero-point offsets, mag
  double first_mjd = 58000.0;
  double cadence_days = 14.0;       // mean interval between epochs (each jittered by up to +-3 days)
  int64_t first_aorkey = 58520832;  // AOR keys count up by 256 from here
  // Periods of the periodic variables, drawn log-uniformly; above two cadences
  // the epochs resolve the light curve instead of aliasing it.
  double min_period_days = 30.0;
  double max_period_days = 300.0;
};

enum class Variability { kConstant, kPeriodic, kTransient };

// "constant", "periodic", "transient".
const char* to_string(Variability variability);

struct Star {
  double x = 0, y = 0;     // pixel position, 1-based: the first pixel's centre is (1, 1), as SExtractor's X_IMAGE
  double ra = 0, dec = 0;  // degrees, from the WCS
  double mag0 = 0;         // constant magnitude; the mean of a periodic star, the quiescent one of a transient
  Variability variability = Variability::kConstant;
  // Periodic: semi-amplitude of the sinusoid; transient: peak brightening. Mag; 0 for constant stars.
  double amplitude = 0;
  double period_days = 0;  // periodic: mag = mag0 + amplitude sin(2 pi mjd / period_days + phase)
  double phase = 0;        // radians
  double peak_mjd = 0;     // transient: mag = mag0 - amplitude exp(-((mjd - peak_mjd) / width_days)^2 / 2)
  double width_days = 0;

  bool variable() const { return variability != Variability::kConstant; }
  // The star's true magnitude at `mjd`.
  double magnitude_at(double mjd) const;
};

struct Epoch {
  std::string key;  // "r<AORKEY>", the epoch key of the light-curve store
  int64_t aorkey = 0;
  double mjd = 0;
  // Added to every star's magnitude in this epoch's image (the truth below excludes it).
  double zero_point_offset = 0;
  std::vector<double> true_magnitudes;  // one per star, in the order of Field::stars
};

struct Field {
  FieldOptions options;
  std::vector<Star> stars;
  std::vector<Epoch> epochs;
};

// Draws the stars and epochs (no pixels yet). Throws Error(kInvalidArgument)
// for impossible options (no stars, an image too small for the PSF box, a
// fraction outside [0, 1], ...).
Field make_field(const FieldOptions& options);

// A gnomonic (TAN) projection with a CD matrix of pure scale, north up and
// east to the left (CD1_1 < 0), as the images' headers say.
struct TanWcs {
  double crval1 = 0, crval2 = 0;  // degrees
  double crpix1 = 0, crpix2 = 0;  // 1-based pixels
  double degrees_per_pixel = 0;

  static TanWcs of(const FieldOptions& options);
  // Sky position (ra, dec) in degrees of the 1-based pixel position (x, y).
  std::pair<double, double> pixel_to_sky(double x, double y) const;
};

// The files write_field() makes in its directory.
inline constexpr const char* kCoaddImage = "coadd.fits";
inline constexpr const char* kTruthFile = "truth.json";
inline constexpr const char* kEpochsFile = "epochs.csv";
// "epoch_<key>.fits".
std::string epoch_image_name(const Epoch& epoch);

// Renders and writes the field into `directory` (created if missing; files
// of the same names are replaced):
//  * coadd.fits and one epoch_<key>.fits per epoch: float32 images whose
//    headers carry the WCS, MJD-OBS, DATE-OBS, AORKEY, GAIN, MAGZPT (epochs)
//    and NCOMBINE (coadd);
//  * truth.json: every star's position (x, y 1-based, ra, dec), mag0,
//    variable, variability, amp, period (days), phase, peak_mjd, width_days,
//    as parallel arrays (null where not applicable), the options, and per
//    epoch its key, aorkey, mjd, zero_point_offset and every star's true mag;
//  * epochs.csv: "epoch,mjd,aorkey" and one row per epoch, the epoch file
//    that EpochTable::read takes.
// Images are rendered by up to `threads` threads. Throws Error(kIo) naming
// the file that could not be written.
void write_field(const Field& field, const std::filesystem::path& directory, unsigned threads = 1);

// Reads a truth.json written by write_field(), or one of the same layout with
// fewer columns (as the shared SExtractor fixtures have: variable stars
// without `variability` are taken as periodic, missing ra/dec are NaN). The
// star parameters and true magnitudes are as written; options not in the file
// keep their defaults. Throws Error(kIo / kBadInput) naming the file.
Field read_truth(const std::filesystem::path& path);

}  // namespace lcstore::simulate
