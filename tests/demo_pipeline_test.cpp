// The demo pipeline end to end, through the real SExtractor: demo/run-demo
// simulates a small field (500 stars, 5 epochs, 512x512), extracts the coadd
// and every epoch in dual-image mode, creates, populates and rechunks a store
// with the lcstore program and reports. The test then checks that
//  * every epoch catalog was ingested,
//  * every detected object's stored values are its catalog values, exactly,
//  * the injected variables brighter than mag 19 are recovered: their MAG_AUTO
//    light curve, after removing the per-epoch zero-point offset, follows the
//    truth within 0.05 mag (median absolute difference) and the amplitude it
//    shows is within 20% of the injected one.
// Before that, the simulator and the recovery analysis are checked on their own.
#include <fitsio.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "lcstore/catalog/column_mapping.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/simulate/field.h"
#include "lcstore/simulate/recovery.h"
#include "lcstore/storage/directory_store.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using lightcurve::LightCurveStore;
using nlohmann::json;
using simulate::Field;
using simulate::FieldOptions;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// The simulator on its own.

FieldOptions tiny_field(uint64_t seed) {
  return {.stars = 60, .epochs = 3, .size = 96, .seed = seed, .variable_fraction = 0.5};
}

std::map<std::string, std::string> files_in(const fs::path& directory) {
  std::map<std::string, std::string> contents;
  for (const auto& entry : fs::directory_iterator(directory)) {
    contents[entry.path().filename().string()] = read_file(entry.path());
  }
  return contents;
}

TEST(SimulatedField, SameSeedSameFilesWhateverTheThreads) {
  TempDir directory;
  simulate::write_field(simulate::make_field(tiny_field(7)), directory.path() / "one", 1);
  simulate::write_field(simulate::make_field(tiny_field(7)), directory.path() / "three", 3);
  simulate::write_field(simulate::make_field(tiny_field(8)), directory.path() / "other", 1);
  const auto one = files_in(directory.path() / "one");
  EXPECT_EQ(one.size(), 6u);  // coadd, 3 epochs, truth.json, epochs.csv
  EXPECT_TRUE(one == files_in(directory.path() / "three")) << "files differ between 1 and 3 threads";
  const auto other = files_in(directory.path() / "other");
  EXPECT_NE(one.at("coadd.fits"), other.at("coadd.fits"));
  EXPECT_NE(one.at("truth.json"), other.at("truth.json"));
}

TEST(SimulatedField, DrawsTheRequestedStarsAndVariables) {
  const Field field = simulate::make_field({.stars = 1000, .epochs = 4, .size = 256, .variable_fraction = 0.1});
  ASSERT_EQ(field.stars.size(), 1000u);
  size_t variables = 0, periodic = 0, transient = 0;
  for (const simulate::Star& star : field.stars) {
    EXPECT_GE(star.mag0, 15.0);
    EXPECT_LE(star.mag0, 22.0);
    EXPECT_GT(star.x, 1.0);
    EXPECT_LT(star.x, 256.0);
    variables += star.variable();
    periodic += star.variability == simulate::Variability::kPeriodic;
    transient += star.variability == simulate::Variability::kTransient;
    if (star.variable()) {
      EXPECT_GE(star.amplitude, 0.1);
      EXPECT_LE(star.amplitude, 1.0);
    }
  }
  EXPECT_EQ(variables, 100u);
  EXPECT_EQ(periodic, 70u);
  EXPECT_EQ(transient, 30u);
  for (size_t e = 1; e < field.epochs.size(); ++e) EXPECT_LT(field.epochs[e - 1].mjd, field.epochs[e].mjd);
  EXPECT_EQ(field.epochs[0].key, "r58520832");
}

TEST(SimulatedField, RejectsImpossibleOptions) {
  EXPECT_LCSTORE_ERROR(simulate::make_field({.stars = 0}), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(simulate::make_field({.size = 8}), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(simulate::make_field({.variable_fraction = 1.5}), kInvalidArgument);
}

// The header keyword `key` of the primary HDU of `path`, as a double or string.
struct FitsHeader {
  explicit FitsHeader(const fs::path& path) {
    int status = 0;
    fits_open_diskfile(&file, path.c_str(), READONLY, &status);
    EXPECT_EQ(status, 0) << path;
  }
  ~FitsHeader() {
    int status = 0;
    if (file != nullptr) fits_close_file(file, &status);
  }
  double number(const char* key) {
    double value = NAN;
    int status = 0;
    fits_read_key(file, TDOUBLE, key, &value, nullptr, &status);
    EXPECT_EQ(status, 0) << key;
    return value;
  }
  std::string text(const char* key) {
    char value[FLEN_VALUE] = {};
    int status = 0;
    fits_read_key(file, TSTRING, key, value, nullptr, &status);
    EXPECT_EQ(status, 0) << key;
    return value;
  }
  std::vector<float> pixels(size_t count) {
    std::vector<float> values(count);
    int status = 0;
    fits_read_img(file, TFLOAT, 1, static_cast<LONGLONG>(count), nullptr, values.data(), nullptr, &status);
    EXPECT_EQ(status, 0);
    return values;
  }
  fitsfile* file = nullptr;
};

TEST(SimulatedField, ImagesCarryWcsEpochKeywordsAndTheStarsFlux) {
  TempDir directory;
  const Field field = simulate::make_field(tiny_field(3));
  simulate::write_field(field, directory.path());
  const simulate::Epoch& epoch = field.epochs[1];
  FitsHeader image(directory.path() / simulate::epoch_image_name(epoch));
  EXPECT_EQ(image.number("NAXIS1"), 96);
  EXPECT_EQ(image.text("CTYPE1"), "RA---TAN");
  EXPECT_EQ(image.text("CTYPE2"), "DEC--TAN");
  EXPECT_EQ(image.number("CRVAL1"), 265.05);
  EXPECT_EQ(image.number("CRVAL2"), 65.55);
  EXPECT_EQ(image.number("CRPIX1"), 48.5);
  EXPECT_DOUBLE_EQ(image.number("CD1_1"), -1.2 / 3600);
  EXPECT_DOUBLE_EQ(image.number("CD2_2"), 1.2 / 3600);
  EXPECT_EQ(image.number("MJD-OBS"), epoch.mjd);
  EXPECT_EQ(image.number("AORKEY"), static_cast<double>(epoch.aorkey));
  EXPECT_THAT(image.text("DATE-OBS"), ::testing::StartsWith("2017-"));

  // Sum of the pixels above the sky = the stars' counts at this epoch, to the noise.
  double expected = 0;
  for (double mag : epoch.true_magnitudes) expected += std::pow(10.0, -0.4 * (mag + epoch.zero_point_offset - 25.0));
  double measured = 0;
  for (float pixel : image.pixels(96 * 96)) measured += pixel - field.options.sky;
  EXPECT_NEAR(measured / expected, 1.0, 1e-3);

  FitsHeader coadd(directory.path() / simulate::kCoaddImage);
  EXPECT_EQ(coadd.number("NCOMBINE"), 3);
  EXPECT_EQ(coadd.number("GAIN"), 3 * field.options.gain);
}

TEST(SimulatedField, TruthReadsBackAsWritten) {
  TempDir directory;
  const Field field = simulate::make_field(tiny_field(5));
  simulate::write_field(field, directory.path());
  const Field truth = simulate::read_truth(directory.path() / simulate::kTruthFile);
  EXPECT_EQ(truth.options.seed, 5u);
  ASSERT_EQ(truth.stars.size(), field.stars.size());
  for (size_t s = 0; s < field.stars.size(); ++s) {
    const simulate::Star &a = field.stars[s], &b = truth.stars[s];
    EXPECT_EQ(a.x, b.x);
    EXPECT_EQ(a.ra, b.ra);
    EXPECT_EQ(a.mag0, b.mag0);
    EXPECT_EQ(a.variability, b.variability);
    if (a.variable()) {
      EXPECT_EQ(a.magnitude_at(61000.5), b.magnitude_at(61000.5)) << "star " << s;
    }
  }
  ASSERT_EQ(truth.epochs.size(), 3u);
  EXPECT_EQ(truth.epochs[2].key, field.epochs[2].key);
  EXPECT_EQ(truth.epochs[2].true_magnitudes, field.epochs[2].true_magnitudes);
  EXPECT_EQ(read_file(directory.path() / simulate::kEpochsFile).substr(0, 27), "epoch,mjd,aorkey\nr58520832,");
  // The shared fixture's truth, written by the original Python simulator, has fewer columns.
  const Field fixture = simulate::read_truth(fs::path(LCSTORE_FIXTURES) / "sextractor-field-a" / "truth.json");
  EXPECT_EQ(fixture.stars.size(), 300u);
  EXPECT_EQ(fixture.epochs.size(), 4u);
  EXPECT_EQ(fixture.epochs[0].key, "r58520832");
  EXPECT_EQ(fixture.stars[2].variability, simulate::Variability::kPeriodic);
}

// ---------------------------------------------------------------------------
// The recovery analysis on measurements made from the truth itself.

TEST(RecoveryAnalysis, ExactMeasurementsRecoverOffsetsAndAmplitudes) {
  const Field field = simulate::make_field({.stars = 400, .epochs = 6, .size = 512, .variable_fraction = 0.3});
  simulate::MeasuredCurves measured;
  measured.n_epochs = field.epochs.size();
  const double aperture_loss = 0.02;  // a constant every measurement shares
  for (size_t s = 0; s < field.stars.size(); ++s) {
    measured.objects.push_back(std::to_string(s + 1));
    measured.x.push_back(field.stars[s].x + 0.3);
    measured.y.push_back(field.stars[s].y - 0.3);
    for (const simulate::Epoch& epoch : field.epochs) {
      measured.mag.push_back(epoch.true_magnitudes[s] + epoch.zero_point_offset + aperture_loss);
      measured.mag_err.push_back(0.01);
    }
  }
  // Zero points as an ensemble fit gives them: right but for a constant.
  std::vector<double> zero_points;
  for (const simulate::Epoch& epoch : field.epochs) zero_points.push_back(epoch.zero_point_offset - 0.5);
  const simulate::Recovery recovery = simulate::evaluate_recovery(field, measured, zero_points);
  EXPECT_GT(recovery.n_reference_stars, 10u);
  EXPECT_NEAR(recovery.absolute_zero_point, 0.5 + aperture_loss, 1e-12);
  for (size_t e = 0; e < field.epochs.size(); ++e) {
    EXPECT_NEAR(recovery.epoch_offsets[e], field.epochs[e].zero_point_offset + aperture_loss, 1e-12);
  }
  size_t fitted = 0;
  for (size_t s = 0; s < field.stars.size(); ++s) {
    const simulate::StarRecovery& star = recovery.stars[s];
    // Two stars closer than the offset added to the positions swap detections.
    if (!star.isolated) continue;
    ASSERT_TRUE(star.object.has_value());
    EXPECT_EQ(*star.object, s);
    EXPECT_NEAR(star.median_abs_residual, 0.0, 1e-12);
    if (std::isfinite(star.fitted_amplitude)) {
      ++fitted;
      EXPECT_NEAR(star.fitted_amplitude, field.stars[s].amplitude, 1e-9);
    }
  }
  EXPECT_GT(fitted, 60u);
  // The most variable objects are injected variables.
  ASSERT_FALSE(recovery.objects.empty());
  ASSERT_TRUE(recovery.objects.front().star.has_value());
  EXPECT_TRUE(field.stars[*recovery.objects.front().star].variable());

  // An epoch the fit gave no zero point is left out of every curve.
  zero_points[2] = simulate::kNotMeasured;
  const simulate::Recovery partial = simulate::evaluate_recovery(field, measured, zero_points);
  EXPECT_NEAR(partial.absolute_zero_point, 0.5 + aperture_loss, 1e-12);
  EXPECT_TRUE(std::isnan(partial.epoch_offsets[2]));
  for (const simulate::ObjectVariability& object : partial.objects) EXPECT_EQ(object.n_epochs, field.epochs.size() - 1);

  zero_points.pop_back();
  EXPECT_THROW(simulate::evaluate_recovery(field, measured, zero_points), Error);
}

// ---------------------------------------------------------------------------
// The pipeline through SExtractor.

struct DemoSize {
  int stars = 500, epochs = 5, size = 512;
  double variable_fraction = 0.4;  // more variables than the demo's 10%, so more are bright and isolated
};

CommandResult run_demo(const fs::path& out, const DemoSize& demo) {
  return run_command({"env", std::string("LCSTORE=") + LCSTORE_CLI, "DEMO_DIR=" + out.string(),
                      "DEMO_STARS=" + std::to_string(demo.stars), "DEMO_EPOCHS=" + std::to_string(demo.epochs),
                      "DEMO_SIZE=" + std::to_string(demo.size),
                      "DEMO_VARIABLE_FRACTION=" + std::to_string(demo.variable_fraction), "DEMO_SEED=1", "DEMO_JOBS=2",
                      "bash", (fs::path(LCSTORE_DEMO_DIR) / "run-demo").string()});
}

// Object key -> row of a catalog (NUMBER, as populate keys objects).
std::map<std::string, size_t> rows_by_number(const catalog::Table& table) {
  std::map<std::string, size_t> rows;
  const catalog::Column& number = table.column("NUMBER");
  for (size_t row = 0; row < table.num_rows(); ++row) {
    rows[std::to_string(static_cast<int64_t>(number.number(row)))] = row;
  }
  return rows;
}

bool same_float(float stored, float expected) {
  return (std::isnan(stored) && std::isnan(expected)) || stored == expected;
}

void expect_every_epoch_ingested(const fs::path& out, const LightCurveStore& store, const Field& truth) {
  const std::string log = read_file(out / "populate.log");
  EXPECT_THAT(log, HasSubstr(fmt::format("{0} catalogs: {0} written, 0 already done, 0 failed", truth.epochs.size())));
  std::vector<std::string> keys;
  for (const simulate::Epoch& epoch : truth.epochs) {
    keys.push_back(epoch.key);
    EXPECT_THAT(log, HasSubstr("epoch " + epoch.key + " <- ")) << "no populate line for " << epoch.key;
  }
  std::vector<std::string> populated = store.info().populated_epochs;
  std::sort(populated.begin(), populated.end());
  EXPECT_EQ(populated, keys);
  EXPECT_TRUE(store.read_layout_current());
}

void expect_stored_values_equal_catalogs(const fs::path& out, const LightCurveStore& store, const Field& truth) {
  // The object table is the coadd catalog's.
  const catalog::Catalog coadd = catalog::read_catalog(out / "catalogs" / "coadd.cat");
  const lightcurve::ObjectTable& objects = store.object_table();
  ASSERT_EQ(objects.keys.size(), coadd.table.num_rows());
  const auto coadd_rows = rows_by_number(coadd.table);
  for (size_t o = 0; o < objects.keys.size(); ++o) {
    const size_t row = coadd_rows.at(objects.keys[o]);
    EXPECT_EQ(objects.x[o], static_cast<float>(coadd.table.column("X_IMAGE").number(row)));
    EXPECT_EQ(objects.dec[o], coadd.table.column("DELTA_J2000").number(row));
  }

  const std::vector<lightcurve::LightCurve> curves = store.light_curves(objects.keys);
  const size_t n_epochs = store.epochs().keys.size(), n_values = store.values().size();
  size_t compared = 0, mismatched = 0;
  for (const simulate::Epoch& epoch : truth.epochs) {
    // populate ran with --invalid-to-nan: SExtractor's 99 magnitudes are stored as NaN.
    const catalog::Catalog catalog =
        catalog::read_catalog(out / "catalogs" / ("epoch_" + epoch.key + ".cat"), {.invalid_to_nan = true});
    EXPECT_EQ(catalog.format, catalog::Format::kFitsLdac);
    // Dual-image mode measures every coadd detection in every epoch.
    ASSERT_EQ(catalog.table.num_rows(), objects.keys.size()) << epoch.key;
    const catalog::ColumnMapping mapping(catalog.table, {});
    const auto rows = rows_by_number(catalog.table);
    const size_t e = store.epoch_index(epoch.key);
    for (const lightcurve::LightCurve& curve : curves) {
      const size_t row = rows.at(curve.object);
      for (size_t m = 0; m < curve.measurements.size(); ++m) {
        const catalog::Measurement* measurement = mapping.find(curve.measurements[m]);
        ASSERT_NE(measurement, nullptr) << curve.measurements[m];
        for (size_t v = 0; v < n_values; ++v) {
          const std::string& column = *measurement->column(catalog::parse_value(store.values()[v]));
          const auto expected = static_cast<float>(catalog.table.column(column).number(row));
          const float stored = curve.data[(m * n_values + v) * n_epochs + e];
          ++compared;
          if (!same_float(stored, expected)) {
            ++mismatched;
            ADD_FAILURE() << "object " << curve.object << " epoch " << epoch.key << " " << column << ": stored "
                          << stored << ", catalog " << expected;
          }
          if (mismatched > 10) return;
        }
      }
    }
  }
  // auto, iso and four apertures, mag and mag_err, every object and epoch.
  EXPECT_EQ(compared, objects.keys.size() * 6 * 2 * truth.epochs.size());
}

simulate::MeasuredCurves mag_auto_curves(const LightCurveStore& store, const Field& truth) {
  simulate::MeasuredCurves measured;
  const lightcurve::ObjectTable& objects = store.object_table();
  measured.objects = objects.keys;
  measured.x.assign(objects.x.begin(), objects.x.end());
  measured.y.assign(objects.y.begin(), objects.y.end());
  measured.n_epochs = truth.epochs.size();
  const size_t n_epochs = store.epochs().keys.size();
  for (const lightcurve::LightCurve& curve : store.light_curves(objects.keys, "auto")) {
    for (const simulate::Epoch& epoch : truth.epochs) {
      const size_t e = store.epoch_index(epoch.key);
      measured.mag.push_back(curve.data[0 * n_epochs + e]);  // values: mag, mag_err
      measured.mag_err.push_back(curve.data[1 * n_epochs + e]);
    }
  }
  return measured;
}

// A light curve whose true magnitudes vary this much across the epochs shows
// an amplitude; a transient flaring only between two epochs does not.
constexpr double kMeasurableRange = 0.2;

// How closely the fitted zero points of the demo's few epochs follow the
// injected ones, mag: each rests on the ~100 bright stars of one image.
constexpr double kZeroPointAgreement = 0.01;

// The zero points `lcstore calibrate` stored, in the truth's epoch order.
std::vector<double> calibrated_zero_points(const LightCurveStore& store, const Field& truth) {
  const lightcurve::ZeroPoints stored = lightcurve::stored_zero_points(store, "auto");
  std::vector<double> zero_points;
  for (const simulate::Epoch& epoch : truth.epochs) zero_points.push_back(stored.values[store.epoch_index(epoch.key)]);
  return zero_points;
}

void expect_bright_variables_recovered(const LightCurveStore& store, const Field& truth) {
  ASSERT_EQ(store.values(), (std::vector<std::string>{"mag", "mag_err"}));
  const simulate::RecoveryOptions options;
  const simulate::Recovery recovery =
      simulate::evaluate_recovery(truth, mag_auto_curves(store, truth), calibrated_zero_points(store, truth), options);
  EXPECT_GE(recovery.n_reference_stars, 10u);
  // The ensemble's zero points follow the injected offsets: measured minus
  // injected is one constant (the aperture's loss) in every epoch.
  std::vector<double> differences;
  for (size_t e = 0; e < truth.epochs.size(); ++e) {
    differences.push_back(recovery.epoch_offsets[e] - truth.epochs[e].zero_point_offset);
  }
  const auto [lowest, highest] = std::minmax_element(differences.begin(), differences.end());
  EXPECT_LT(*highest - *lowest, kZeroPointAgreement) << fmt::format("{}", fmt::join(differences, ", "));
  size_t tracked = 0, amplitudes = 0, constants_tracked = 0;
  for (size_t s = 0; s < truth.stars.size(); ++s) {
    const simulate::Star& star = truth.stars[s];
    const simulate::StarRecovery& recovered = recovery.stars[s];
    if (!(star.mag0 < 19.0) || !recovered.isolated) continue;
    SCOPED_TRACE(fmt::format("star {} at ({:.1f}, {:.1f}) mag0 {:.2f} {} amp {:.3f}", s, star.x, star.y, star.mag0,
                             simulate::to_string(star.variability), star.amplitude));
    ASSERT_TRUE(recovered.object.has_value()) << "an isolated bright star was not detected";
    EXPECT_LT(recovered.median_abs_residual, 0.05);
    if (!star.variable()) {
      ++constants_tracked;
      continue;
    }
    ++tracked;
    if (recovered.true_range >= kMeasurableRange) {
      ++amplitudes;
      EXPECT_NEAR(recovered.fitted_amplitude / star.amplitude, 1.0, 0.2);
      EXPECT_TRUE(recovered.flagged_variable) << "reduced chi2 " << recovered.reduced_chi2;
    }
  }
  // The checks above must not pass for want of stars.
  EXPECT_GE(tracked, 8u);
  EXPECT_GE(amplitudes, 5u);
  EXPECT_GE(constants_tracked, 10u);
}

TEST(DemoPipeline, SimulatedFieldThroughSourceExtractorIsRecovered) {
  TempDir directory;
  const fs::path out = directory.path() / "demo";
  const CommandResult result = run_demo(out, DemoSize{});
  ASSERT_EQ(result.exit_code, 0) << result;
  for (const char* stage : {"== simulate", "== source-extractor", "== create", "== populate", "== rechunk",
                            "== calibrate", "== info", "== report", "== time per stage", "Most variable objects"}) {
    EXPECT_THAT(result.out, HasSubstr(stage));
  }
  EXPECT_THAT(result.out, HasSubstr("Everything is in " + out.string() + "/"));
  EXPECT_THAT(result.out, HasSubstr("lightcurve " + (out / "field.lcs").string()));

  const Field truth = simulate::read_truth(out / "images" / "truth.json");
  ASSERT_EQ(truth.epochs.size(), 5u);
  const LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(out / "field.lcs"));
  {
    SCOPED_TRACE("every epoch catalog ingested");
    expect_every_epoch_ingested(out, store, truth);
  }
  {
    SCOPED_TRACE("stored values equal catalog values");
    expect_stored_values_equal_catalogs(out, store, truth);
  }
  {
    SCOPED_TRACE("bright variables recovered");
    expect_bright_variables_recovered(store, truth);
  }
  // The report's JSON agrees with the truth it read.
  const CommandResult report = run_command(
      {LCSTORE_CLI, "demo-report", (out / "field.lcs").string(), (out / "images" / "truth.json").string(), "--json"});
  ASSERT_EQ(report.exit_code, 0) << report;
  const json summary = json::parse(report.out);
  EXPECT_EQ(summary.at("variables"), 200);
  EXPECT_EQ(summary.at("stars"), 500);
  EXPECT_GT(summary.at("fraction_recovered").get<double>(), 0.5);
  EXPECT_EQ(summary.at("most_variable").size(), 10u);
}

}  // namespace
}  // namespace lcstore::testing
