// Opening a light-curve store the original Python pipeline wrote: xarray's
// to_zarr of the Dataset (the fixture zarr-python-3.0.6/xarray_lightcurves.zarr),
// with none of lcstore's attributes, journal or declination index.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"
#include "test_support.h"

namespace lcstore {
namespace {

using lightcurve::LightCurve;
using lightcurve::LightCurveStore;
using lightcurve::ObjectMatch;
using testing::read_file;
using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(LCSTORE_FIXTURES) / "zarr-python-3.0.6";
const fs::path kXarrayStore = kFixtures / "xarray_lightcurves.zarr";
constexpr size_t kObjects = 120, kMeasurements = 3, kValues = 2, kEpochs = 9;

// The fixture's light curves, [object][measurement][value][epoch], as its expected file holds them.
std::vector<double> expected_values() {
  const std::string bytes = read_file(kXarrayStore / "lightcurves.expected.f64");
  std::vector<double> values(bytes.size() / sizeof(double));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(double));
  return values;
}

bool same_value(double expected, double actual) {
  return (std::isnan(expected) && std::isnan(actual)) || expected == actual;
}

std::set<fs::path> files_under(const fs::path& root) {
  std::set<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) files.insert(entry.path());
  return files;
}

LightCurveStore open_fixture() { return LightCurveStore::open(std::make_shared<DirectoryStore>(kXarrayStore)); }

TEST(XarrayWrittenStore, OpensWithTheDatasetsLabels) {
  const LightCurveStore store = open_fixture();
  ASSERT_EQ(store.objects().size(), kObjects);
  EXPECT_EQ(store.objects().front(), "I0");
  EXPECT_EQ(store.objects().back(), "I119");
  EXPECT_EQ(store.measurements(), (std::vector<std::string>{"auto", "iso", "aper_2"}));
  EXPECT_EQ(store.values(), (std::vector<std::string>{"mag", "mag_err"}));
  ASSERT_EQ(store.epochs().keys.size(), kEpochs);
  EXPECT_EQ(store.epochs().keys.front(), "r58520832");
  ASSERT_EQ(store.epochs().variables.size(), 1u);
  EXPECT_EQ(store.epochs().variables.front().name, "mjd");
  EXPECT_EQ(store.info().description, "IDF lightcurve data");
}

TEST(XarrayWrittenStore, LightCurvesAndEpochsEqualTheExpectedValues) {
  const LightCurveStore store = open_fixture();
  const std::vector<double> expected = expected_values();
  ASSERT_EQ(expected.size(), kObjects * kMeasurements * kValues * kEpochs);
  const std::vector<LightCurve> curves = store.light_curves(store.objects());
  ASSERT_EQ(curves.size(), kObjects);
  size_t mismatches = 0;
  for (size_t object = 0; object < kObjects; ++object) {
    for (size_t cell = 0; cell < kMeasurements * kValues * kEpochs; ++cell) {
      mismatches += !same_value(expected[object * kMeasurements * kValues * kEpochs + cell], curves[object].data[cell]);
    }
  }
  EXPECT_EQ(mismatches, 0u);
  const lightcurve::EpochSlice slice = store.epoch("r58522880");
  for (size_t object = 0; object < kObjects; ++object) {
    for (size_t cell = 0; cell < kMeasurements * kValues; ++cell) {
      const size_t at = (object * kMeasurements * kValues + cell) * kEpochs + kEpochs - 1;
      mismatches += !same_value(expected[at], slice.data[object * kMeasurements * kValues + cell]);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// Without a stored declination index the store derives one; its answers
// are those of a scan of every position.
TEST(XarrayWrittenStore, RegionAndConeAgreeWithAScan) {
  const LightCurveStore store = open_fixture();
  const lightcurve::ObjectTable& table = store.object_table();
  std::vector<uint64_t> in_box;
  for (uint64_t row = 0; row < kObjects; ++row) {
    if (table.ra[row] >= 265.0 && table.ra[row] <= 265.1 && table.dec[row] >= 65.3 && table.dec[row] <= 65.6)
      in_box.push_back(row);
  }
  std::vector<uint64_t> found;
  for (const ObjectMatch& match : store.region(265.0, 265.1, 65.3, 65.6)) found.push_back(match.index);
  std::sort(found.begin(), found.end());
  EXPECT_FALSE(in_box.empty());
  EXPECT_EQ(found, in_box);

  const double ra = table.ra[7], dec = table.dec[7], radius_arcsec = 900.0;
  std::set<uint64_t> in_cone;
  for (uint64_t row = 0; row < kObjects; ++row) {
    if (lightcurve::separation_degrees(ra, dec, table.ra[row], table.dec[row]) * 3600.0 <= radius_arcsec)
      in_cone.insert(row);
  }
  const std::vector<ObjectMatch> cone = store.cone(ra, dec, radius_arcsec);
  std::set<uint64_t> cone_rows;
  for (const ObjectMatch& match : cone) cone_rows.insert(match.index);
  EXPECT_GT(in_cone.size(), 1u);
  EXPECT_EQ(cone_rows, in_cone);
  ASSERT_FALSE(cone.empty());
  EXPECT_EQ(cone.front().index, 7u) << "nearest first";
}

TEST(XarrayWrittenStore, OpeningAndReadingWritesNothing) {
  const std::set<fs::path> before = files_under(kXarrayStore);
  {
    const LightCurveStore store = open_fixture();
    (void)store.light_curves(store.objects());
    (void)store.cone(265.05, 65.55, 600.0);
    (void)store.info();
  }
  EXPECT_EQ(files_under(kXarrayStore), before);
}

TEST(XarrayWrittenStore, GroupWithoutLightCurvesIsRefused) {
  EXPECT_LCSTORE_ERROR(LightCurveStore::open(std::make_shared<DirectoryStore>(kFixtures / "group_consolidated")),
                       kInvalidMetadata);
}

TEST(XarrayWrittenStore, LightCurvesOfOtherDimensionsAreRefused) {
  TempDir temp;
  const fs::path copy = temp.path() / "store.zarr";
  fs::copy(kXarrayStore, copy, fs::copy_options::recursive);
  nlohmann::json document = nlohmann::json::parse(read_file(copy / "lightcurves" / "zarr.json"));
  document["dimension_names"] = {"object", "measurement", "value", "time"};
  write_file(copy / "lightcurves" / "zarr.json", document.dump());
  // Arrays open from the group's consolidated metadata, as xarray opens them.
  nlohmann::json root = nlohmann::json::parse(read_file(copy / "zarr.json"));
  root["consolidated_metadata"]["metadata"]["lightcurves"]["dimension_names"] = document["dimension_names"];
  write_file(copy / "zarr.json", root.dump());
  EXPECT_LCSTORE_ERROR(LightCurveStore::open(std::make_shared<DirectoryStore>(copy)), kInvalidMetadata);
}

}  // namespace
}  // namespace lcstore
