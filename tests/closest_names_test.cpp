// Unknown names get the closest valid ones in their message.
#include "lcstore/closest_names.h"

#include <gtest/gtest.h>

#include "lcstore/catalog/column_mapping.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/memory_store.h"
#include "test_support.h"

using namespace lcstore;
using lcstore::testing::ThrowsError;

namespace {

// The 30 epochs: r58520832, r58521088, ... 256 apart.
std::vector<std::string> aorkeys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) keys.push_back("r" + std::to_string(58520832 + 256 * i));
  return keys;
}

}  // namespace

TEST(ClosestNames, NamesTheNearestByEditDistance) {
  EXPECT_EQ(closest_names("lightcurv", {"create", "lightcurve", "populate"}), std::vector<std::string>{"lightcurve"});
  EXPECT_EQ(closest_names("aper_5", {"auto", "aper_1", "aper_2", "iso"}),
            (std::vector<std::string>{"aper_1", "aper_2"}));
  EXPECT_EQ(closest_names("r5852083", aorkeys(), 1), std::vector<std::string>{"r58520832"});
  EXPECT_TRUE(closest_names("zzzz", {"auto", "iso"}).empty()) << "nothing close is no guess";
  EXPECT_TRUE(closest_names("", {}).empty());
}

TEST(ClosestNames, DidYouMeanCountsAndSpansTheNames) {
  EXPECT_EQ(did_you_mean("r5852083", aorkeys(), "epochs"),
            "did you mean r58520832? 30 epochs: r58520832 ... r58528256");
  EXPECT_EQ(did_you_mean("x", {}, "epochs"), "the store has no epochs");
}

TEST(ClosestNames, UnknownEpochObjectMeasurementAndValueNameTheClosest) {
  lightcurve::CreateOptions options;
  options.objects.keys = {"1", "2", "17"};
  options.objects.ra = options.objects.dec = {0, 1, 2};
  options.objects.x = options.objects.y = {0, 1, 2};
  options.epochs = lightcurve::EpochTable::from_keys({"000", "001", "002"});
  options.measurements = {"auto", "iso"};
  auto store = lightcurve::LightCurveStore::create(std::make_shared<MemoryStore>(), options);
  auto expect_message = [](auto&& action, const std::string& message) {
    EXPECT_TRUE(
        ThrowsError(ErrorKind::kNotFound, action, [&](const Error& error) { EXPECT_EQ(error.what(), message); }));
  };
  expect_message([&] { store.epoch_index("0001"); },
                 "0001: no such epoch in the store (did you mean 000 or 001? 3 epochs: 000, 001, 002)");
  expect_message([&] { store.object_index("18"); },
                 "18: no such object in the store (did you mean 1 or 17? 3 objects: 1, 2, 17)");
  expect_message([&] { store.light_curve("1", "isoo"); },
                 "isoo: no such measurement in the store (did you mean iso? 2 measurements: auto, iso)");
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kInvalidArgument, [] { catalog::parse_value("mag_er"); },
      [](const Error& error) {
        EXPECT_EQ(
            std::string(error.what()),
            "value mag_er: unknown measurement value (did you mean mag_err? 4 values: mag, mag_err, flux, flux_err)");
      }));
}
