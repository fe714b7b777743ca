// `lcstore calibrate | features | objects` on a store of the real SExtractor
// catalogs of ../shared/fixtures/sextractor-field-a (281 objects, 4 epochs):
//  * the stored features are what compute_features gives on each light curve,
//    calibrated ones on the curve minus the stored zero points;
//  * status: absent, current after `features`, stale after a populate;
//  * the features array is laid out for xarray (dimension names, coordinate);
//  * `objects` selects and sorts as the filter says, the same rows in every format;
//  * errors (no time variable, no zero points, a bad filter) exit 1 with a
//    message naming the cause and write nothing.
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lcstore/lightcurve/feature_query.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/lightcurve/store_features.h"
#include "lcstore/lightcurve/zero_points.h"
#include "lcstore/storage/directory_store.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using namespace lcstore::lightcurve;

const fs::path kField = fs::path(LCSTORE_FIXTURES) / "sextractor-field-a";

std::string succeed(const std::vector<std::string>& args) {
  CommandResult result = lcstore(args);
  EXPECT_EQ(result.exit_code, 0) << result;
  return result.out;
}

// A populated store; with_times adds epoch_mjd from truth.json.
struct FieldStore {
  TempDir directory;
  std::string path = (directory.path() / "field.lcs").string();

  explicit FieldStore(bool with_times = true) {
    std::vector<std::string> create = {"create", path, "--objects", (kField / "coadd.fits_ldac.cat").string()};
    if (with_times) {
      const json truth = json::parse(read_file(kField / "truth.json"));
      std::string text = "epoch,mjd\n";
      for (size_t e = 0; e < truth.at("epochs").size(); ++e) {
        text += fmt::format("{:03},{}\n", e, truth.at("epochs")[e].at("mjd").get<double>());
      }
      write_file(directory.path() / "epochs.csv", text);
      create.insert(create.end(), {"--epochs-file", (directory.path() / "epochs.csv").string()});
    } else {
      create.insert(create.end(), {"--epochs", "000,001,002,003"});
    }
    succeed(create);
    populate({});
  }
  void populate(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"populate", path, "--epoch-from-name", "epoch_(\\d+)", "-q"};
    for (int e = 0; e < 4; ++e) args.push_back((kField / fmt::format("epoch_{:03}.fits_ldac.cat", e)).string());
    args.insert(args.end(), extra.begin(), extra.end());
    succeed(args);
  }
  std::shared_ptr<Store> store() const { return std::make_shared<DirectoryStore>(path); }
};

// The stored features equal compute_features on each curve read back.
void expect_features_of_curves(const FieldStore& field, const std::string& measurement, bool calibrated) {
  const std::shared_ptr<Store> store = field.store();
  const LightCurveStore curves = LightCurveStore::open(store);
  const std::vector<double> stored = read_features(store, curves, measurement);
  const std::vector<double> times = epoch_times(curves, "mjd");
  const FrequencyGrid grid = frequency_grid(times, {});
  const size_t n_epochs = times.size();
  FeatureScratch scratch;
  std::vector<double> expected(kFeatureCount);
  size_t with_period = 0;
  for (size_t o = 0; o < curves.objects().size(); ++o) {
    const LightCurve curve = curves.light_curve(curves.objects()[o], measurement);
    std::vector<float> mag(curve.data.begin(), curve.data.begin() + static_cast<ptrdiff_t>(n_epochs));
    std::vector<float> err(curve.data.begin() + static_cast<ptrdiff_t>(n_epochs), curve.data.end());
    if (calibrated) apply_zero_points(stored_zero_points(curves, measurement), mag, err);
    compute_features(times, mag, err, grid, scratch, expected);
    for (size_t f = 0; f < kFeatureCount; ++f) {
      const double value = stored[o * kFeatureCount + f];
      if (std::isnan(expected[f])) {
        EXPECT_TRUE(std::isnan(value)) << curve.object << " " << feature_names()[f];
      } else {
        EXPECT_EQ(value, expected[f]) << curve.object << " " << feature_names()[f];
      }
    }
    with_period += std::isfinite(expected[static_cast<size_t>(Feature::kPeriod)]);
  }
  EXPECT_GT(with_period, 200u);  // the check covers the periodogram
}

TEST(FeatureCli, StoredFeaturesAreEachCurvesFeatures) {
  FieldStore field;
  const json result = json::parse(succeed({"features", field.path, "-j", "2", "--json"}));
  EXPECT_EQ(result["curves"], 281 * 6);
  EXPECT_EQ(result["calibrated"], false);
  expect_features_of_curves(field, "auto", false);
  expect_features_of_curves(field, "aper_2", false);
}

TEST(FeatureCli, LaidOutForXarray) {
  FieldStore field;
  succeed({"features", field.path, "--measurement", "auto", "-q"});
  const json features = json::parse(read_file(fs::path(field.path) / "features" / "zarr.json"));
  EXPECT_EQ(features["shape"], json({281, 6, kFeatureCount}));
  EXPECT_EQ(features["data_type"], "float64");
  EXPECT_EQ(features["dimension_names"], json({"object", "measurement", "feature"}));
  EXPECT_EQ(features["attributes"]["_FillValue"], "AAAAAAAA+H8=");
  const json coordinate = json::parse(read_file(fs::path(field.path) / "feature" / "zarr.json"));
  EXPECT_EQ(coordinate["dimension_names"], json({"feature"}));
  // Consolidated, so xr.open_zarr (which reads the consolidated metadata) sees it.
  const json root = json::parse(read_file(fs::path(field.path) / "zarr.json"));
  const json& consolidated = root["consolidated_metadata"]["metadata"];
  EXPECT_TRUE(consolidated.contains("features"));
  EXPECT_TRUE(consolidated.contains("feature"));
  const zarr::Array labels = zarr::Array::open(field.store(), "feature");
  EXPECT_EQ(labels.read_strings(zarr::select_all(labels.shape())), feature_names());
}

TEST(FeatureCli, StatusAbsentCurrentStale) {
  FieldStore field;
  EXPECT_THAT(succeed({"features", field.path, "--status"}), HasSubstr("auto: absent"));
  succeed({"features", field.path, "--measurement", "auto", "-q"});
  const json status = json::parse(succeed({"features", field.path, "--status", "--json"}));
  EXPECT_EQ(status["auto"]["status"], "current");
  EXPECT_EQ(status["iso"]["status"], "absent");
  field.populate({"--force"});
  EXPECT_EQ(json::parse(succeed({"features", field.path, "--status", "--json"}))["auto"]["status"], "stale");
  const CommandResult objects = lcstore({"objects", field.path, "--measurement", "auto", "--limit", "1"});
  EXPECT_EQ(objects.exit_code, 0);
  EXPECT_THAT(objects.err, HasSubstr("older than the last populate"));
}

TEST(FeatureCli, CalibratedFeaturesUseTheStoredZeroPoints) {
  FieldStore field;
  const CommandResult missing = lcstore({"features", field.path, "--calibrated"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("calibrate the store first"));
  EXPECT_FALSE(fs::exists(fs::path(field.path) / "features"));

  const json fits = json::parse(succeed({"calibrate", field.path, "--measurement", "auto", "--json"}));
  ASSERT_EQ(fits.size(), 1u);
  EXPECT_EQ(fits[0]["zero_points"].size(), 4u);
  EXPECT_GT(fits[0]["ensemble"].get<int>(), 10);
  const LightCurveStore curves = LightCurveStore::open(field.store());
  const ZeroPoints zero_points = stored_zero_points(curves, "auto");
  ASSERT_EQ(zero_points.values.size(), 4u);
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(zero_points.values[e], fits[0]["zero_points"][e].get<double>());
    EXPECT_GT(zero_points.errors[e], 0);
  }
  succeed({"features", field.path, "--measurement", "auto", "--calibrated", "-q"});
  EXPECT_EQ(json::parse(succeed({"features", field.path, "--status", "--json"}))["auto"]["calibrated"], true);
  expect_features_of_curves(field, "auto", true);
}

TEST(FeatureCli, NoTimeVariableIsAClearErrorAndWritesNothing) {
  FieldStore field(/*with_times=*/false);
  const CommandResult result = lcstore({"features", field.path});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("epoch_mjd: no such epoch variable"));
  EXPECT_FALSE(fs::exists(fs::path(field.path) / "features"));
  const CommandResult unknown = lcstore({"features", field.path, "--measurement", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("nope: no such measurement"));
}

TEST(FeatureCli, ObjectsSelectAndSortInEveryFormat) {
  FieldStore field;
  succeed({"features", field.path, "-q"});
  const std::vector<double> features = read_features(field.store(), LightCurveStore::open(field.store()), "auto");
  const std::string where = "chi2_reduced > 2 and n_good >= 4";
  const FeatureFilter filter = FeatureFilter::parse(where);
  const FeatureOrder order = FeatureOrder::parse("-stetson_j");
  std::vector<uint64_t> all(281);
  for (uint64_t o = 0; o < 281; ++o) all[o] = o;
  const std::vector<uint64_t> expected = select_objects(features, all, &filter, &order, 10);
  ASSERT_EQ(expected.size(), 10u);

  const std::vector<std::string> query = {"objects", field.path, "--measurement", "auto",    "--where",
                                          where,     "--sort",   "-stetson_j",    "--limit", "10"};
  std::vector<std::string> json_query = query;
  json_query.insert(json_query.end(), {"--format", "json"});
  const json rows = json::parse(succeed(json_query));
  ASSERT_EQ(rows.size(), 10u);
  const LightCurveStore curves = LightCurveStore::open(field.store());
  for (size_t k = 0; k < rows.size(); ++k) {
    EXPECT_EQ(rows[k]["object"], curves.objects()[expected[k]]);
    EXPECT_GT(rows[k]["chi2_reduced"].get<double>(), 2);
    if (k > 0) {
      EXPECT_GE(rows[k - 1]["stetson_j"].get<double>(), rows[k]["stetson_j"].get<double>());
    }
  }
  std::vector<std::string> csv_query = query;
  csv_query.insert(csv_query.end(), {"--format", "csv"});
  const std::string csv = succeed(csv_query);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 11);
  EXPECT_THAT(csv,
              ::testing::StartsWith("object,ra,dec,n_good,weighted_mean,chi2_reduced,stetson_j,period,period_fap\n"));
  const std::string table = succeed(query);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 11);

  // Within a cone: only objects within it, with their separation.
  const std::string ra = rows[0]["ra"].dump(), dec = rows[0]["dec"].dump();
  const json near = json::parse(succeed({"objects", field.path, "--cone", ra, dec, "1", "--format", "json"}));
  ASSERT_EQ(near.size(), 1u);
  EXPECT_EQ(near[0]["object"], rows[0]["object"]);
  EXPECT_LT(near[0]["separation_arcsec"].get<double>(), 1e-6);

  const CommandResult bad = lcstore({"objects", field.path, "--where", "chi2 > 5"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("unexpected \"chi2\" at column 1"));
}

TEST(FeatureCli, PlotFoldsOnAPeriodOrTheBestOne) {
  FieldStore field;
  const std::string out = (field.directory.path() / "folded.png").string();
  const CommandResult before = lcstore({"plot", field.path, "5", "--fold", "best", "--out", out});
  EXPECT_EQ(before.exit_code, 1);
  EXPECT_THAT(before.err, HasSubstr("no features computed"));
  succeed({"features", field.path, "--measurement", "auto", "-q"});
  succeed({"calibrate", field.path, "--measurement", "auto"});
  const json plain = json::parse(succeed({"plot", field.path, "5", "--out", out, "--json"}));
  const json folded =
      json::parse(succeed({"plot", field.path, "5", "--fold", "best", "--calibrated", "--out", out, "--json"}));
  EXPECT_EQ(folded["points"], 2 * plain["points"].get<int>());  // two cycles
  EXPECT_EQ(folded["x_axis"], "phase (two cycles)");
  EXPECT_EQ(read_file(out).substr(1, 3), "PNG");
  EXPECT_EQ(json::parse(succeed({"plot", field.path, "5", "--fold", "12.5", "--out", out, "--json"}))["points"],
            folded["points"]);
  const CommandResult bad = lcstore({"plot", field.path, "5", "--fold", "-3", "--out", out});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("neither a positive period nor best"));
}

// The periodogram beside each curve peaks within one grid step of the period
// lcstore features found (which refines the grid's best peak).
TEST(FeatureCli, PlotDrawsThePeriodogramBesideEachCurve) {
  FieldStore field;
  succeed({"features", field.path, "--measurement", "auto", "-q"});
  const std::string out = (field.directory.path() / "periods.png").string();
  const json report = json::parse(succeed({"plot", field.path, "5", "7", "--periodogram", "--out", out, "--json"}));
  EXPECT_EQ(read_file(out).substr(1, 3), "PNG");
  const json plain = json::parse(succeed({"plot", field.path, "5", "7", "--out", out, "--json"}));
  EXPECT_EQ(report["points"], plain["points"]);  // only the curves' points count
  EXPECT_FALSE(plain.contains("periodogram_peak_periods"));
  ASSERT_EQ(report["periodogram_peak_periods"].size(), 2u);
  EXPECT_THAT(succeed({"plot", field.path, "5", "7", "--periodogram", "--out", out}), HasSubstr("4 panels"));

  const json truth = json::parse(read_file(kField / "truth.json"));
  std::vector<double> mjd;
  for (const json& epoch : truth.at("epochs")) mjd.push_back(epoch.at("mjd").get<double>());
  const double step =
      1 / (10 * (*std::max_element(mjd.begin(), mjd.end()) - *std::min_element(mjd.begin(), mjd.end())));
  const json stored = json::parse(succeed({"objects", field.path, "--format", "json"}));
  for (size_t k = 0; k < 2; ++k) {
    const std::string object = k == 0 ? "5" : "7";
    const auto row = std::find_if(stored.begin(), stored.end(), [&](const json& r) { return r["object"] == object; });
    ASSERT_NE(row, stored.end());
    const double peak = report["periodogram_peak_periods"][k].get<double>();
    EXPECT_LE(std::abs(1 / peak - 1 / (*row)["period"].get<double>()), step) << object;
  }
}

// lightcurve and epoch --calibrated print mag - zp and the errors with the
// zero point's in quadrature, from the epoch variables calibrate stored.
TEST(FeatureCli, QueriesApplyTheStoredZeroPoints) {
  FieldStore field;
  const CommandResult before = lcstore({"lightcurve", field.path, "5", "--calibrated"});
  EXPECT_EQ(before.exit_code, 1);
  EXPECT_THAT(before.err, HasSubstr("calibrate the store first"));
  succeed({"calibrate", field.path});
  const json plain = json::parse(succeed({"lightcurve", field.path, "5", "--format", "json"}));
  const json calibrated = json::parse(succeed({"lightcurve", field.path, "5", "--calibrated", "--format", "json"}));
  ASSERT_EQ(plain.size(), calibrated.size());
  size_t checked = 0;
  for (size_t row = 0; row < plain.size(); ++row) {
    const std::string measurement = plain[row]["measurement"];
    if (plain[row]["mag"].is_null()) continue;
    const double zp = plain[row]["epoch_zeropoint_" + measurement].get<double>();
    const double zp_error = plain[row]["epoch_zeropoint_" + measurement + "_error"].get<double>();
    const double mag = plain[row]["mag"].get<double>(), err = plain[row]["mag_err"].get<double>();
    EXPECT_NEAR(calibrated[row]["mag"].get<double>(), mag - zp, 1e-5) << row;
    EXPECT_NEAR(calibrated[row]["mag_err"].get<double>(), std::sqrt(err * err + zp_error * zp_error), 1e-6) << row;
    checked += zp != 0;
  }
  EXPECT_GT(checked, 0u);
  // The epoch table agrees with the light curves at that epoch.
  const json epoch = json::parse(succeed({"epoch", field.path, "001", "--calibrated", "--format", "json"}));
  size_t matched = 0;
  for (const json& row : epoch) {
    if (row["object"] != "5") continue;
    for (const json& curve_row : calibrated) {
      if (curve_row["epoch"] == "001" && curve_row["measurement"] == row["measurement"]) {
        EXPECT_EQ(row["mag"], curve_row["mag"]) << row;
        EXPECT_EQ(row["mag_err"], curve_row["mag_err"]) << row;
        ++matched;
      }
    }
  }
  EXPECT_EQ(matched, calibrated.size() / 4);  // one row per measurement at each of the 4 epochs
}

// info says which measurements have features, and whether they are stale.
TEST(FeatureCli, InfoShowsTheFeatureStatus) {
  FieldStore field;
  EXPECT_THAT(succeed({"info", field.path}), HasSubstr("features:     none (run lcstore features)"));
  succeed({"features", field.path, "--measurement", "auto", "-q"});
  EXPECT_THAT(succeed({"info", field.path}), HasSubstr("features:     auto (current); none for"));
  EXPECT_EQ(json::parse(succeed({"info", field.path, "--json"}))["features"]["auto"]["status"], "current");
  field.populate({"--force"});
  EXPECT_EQ(json::parse(succeed({"info", field.path, "--json"}))["features"]["auto"]["status"], "stale");
}

}  // namespace
}  // namespace lcstore::testing
