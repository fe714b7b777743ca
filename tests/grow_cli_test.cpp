// `lcstore add-epochs` and `populate --add-epochs` on the SExtractor
// fixtures: a store grown epoch by epoch holds exactly what a store created
// with every epoch holds (as lcstore and as zarrita read it), adding an
// epoch twice is a no-op, bad input fails with a message and changes
// nothing, and fsck finds the grown store clean.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const fs::path kField = fs::path(LCSTORE_FIXTURES) / "sextractor-field-a";
const fs::path kZarritaReader = fs::path(LCSTORE_INTEROP_DIR) / "read_lightcurve_store.mjs";

fs::path epoch_catalog(const std::string& epoch) { return kField / ("epoch_" + epoch + ".ecsv"); }

CommandResult succeed(const std::vector<std::string>& args) {
  CommandResult result = lcstore(args);
  EXPECT_EQ(result.exit_code, 0) << result;
  return result;
}

void create(const fs::path& store, const fs::path& epochs_file) {
  succeed({"create", store.string(), "--objects", (kField / "coadd.ecsv").string(), "--epochs-file",
           epochs_file.string(), "--object-chunk", "100"});
}

json lightcurves_json(const fs::path& store) {
  return json::parse(succeed({"lightcurve", store.string(), "1", "17", "281", "--json"}).out);
}

TEST(GrowCli, AStoreGrownEpochByEpochHoldsWhatOneCreatedWholeHolds) {
  TempDir directory;
  const fs::path whole = directory.path() / "whole.lcs", grown = directory.path() / "grown.lcs";
  write_file(directory.path() / "all.csv", "epoch,mjd\n000,60000\n001,60001\n002,60002\n003,60003\n");
  write_file(directory.path() / "first.csv", "epoch,mjd\n000,60000\n001,60001\n");
  write_file(directory.path() / "more.csv", "epoch,mjd\n001,61111\n002,60002\n");
  create(whole, directory.path() / "all.csv");
  create(grown, directory.path() / "first.csv");
  for (const std::string epoch : {"000", "002", "003"}) {
    succeed({"populate", whole.string(), "--epoch", epoch, epoch_catalog(epoch).string(), "-q"});
  }
  succeed({"populate", grown.string(), "--epoch", "000", epoch_catalog("000").string(), "-q"});

  const json added = json::parse(
      succeed({"add-epochs", grown.string(), "--epochs-file", (directory.path() / "more.csv").string(), "--json"}).out);
  EXPECT_EQ(added["added"], 1);  // 001 is there already, its mjd unchanged
  EXPECT_EQ(added["epochs"], 3);
  const CommandResult unknown = lcstore({"populate", grown.string(), "--epoch", "003", epoch_catalog("003").string()});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("no such epoch"));
  succeed({"populate", grown.string(), "--epoch", "002", epoch_catalog("002").string(), "-q"});
  succeed({"populate", grown.string(), "--add-epochs", "--epoch", "003", epoch_catalog("003").string(), "-q"});
  EXPECT_THAT(succeed({"add-epochs", grown.string(), "--epochs", "003,002"}).out, HasSubstr("added 0 epoch(s)"));

  const json info = json::parse(succeed({"info", grown.string(), "--json"}).out);
  EXPECT_EQ(info["epochs"], json({"000", "001", "002", "003"}));
  EXPECT_EQ(info["shape"][3], 4);
  // Epoch 003 came without an mjd: the curves differ from the whole store's there only.
  const json grown_curves = lightcurves_json(grown);
  json whole_curves = lightcurves_json(whole);
  ASSERT_EQ(grown_curves.size(), whole_curves.size());
  for (size_t row = 0; row < whole_curves.size(); ++row) {
    if (whole_curves[row]["epoch"] != "003") continue;
    EXPECT_EQ(whole_curves[row]["epoch_mjd"], 60003.0);
    EXPECT_TRUE(grown_curves[row]["epoch_mjd"].is_null());
    whole_curves[row]["epoch_mjd"] = nullptr;
  }
  EXPECT_TRUE(grown_curves == whole_curves) << "the grown store's light curves differ";
  succeed({"rechunk", grown.string(), "-q"});
  succeed({"rechunk", whole.string(), "-q"});
  EXPECT_EQ(succeed({"epoch", grown.string(), "003", "--json"}).out,
            succeed({"epoch", whole.string(), "003", "--json"}).out);
  EXPECT_THAT(succeed({"fsck", grown.string()}).out, HasSubstr("clean"));

  // zarrita (JavaScript) sees the grown arrays through the consolidated metadata.
  const CommandResult read = run_command({"node", kZarritaReader.string(), grown.string(), "0"});
  ASSERT_EQ(read.exit_code, 0) << read;
  const json arrays = json::parse(read.out)["arrays"];
  EXPECT_EQ(arrays["epoch"]["values"], json({"000", "001", "002", "003"}));
  EXPECT_EQ(arrays["epoch_mjd"]["values"], json({60000.0, 60001.0, 60002.0, "NaN"}));
  EXPECT_EQ(arrays["lightcurves"]["shape"][3], 4);
  EXPECT_EQ(arrays["lightcurves_by_object"]["shape"][3], 4);
}

TEST(GrowCli, PopulateAddsTheEpochsOfEveryCatalogOnce) {
  TempDir directory;
  const fs::path store = directory.path() / "field.lcs";
  write_file(directory.path() / "epochs.csv", "000\n");
  create(store, directory.path() / "epochs.csv");
  const std::string ecsv_copy = (directory.path() / "epoch_003.copy.ecsv").string();
  fs::copy_file(epoch_catalog("003"), ecsv_copy);
  succeed({"populate", store.string(), "--add-epochs", "--epoch-from-name", "epoch_([0-9]+)", "-q", "--force",
           epoch_catalog("002").string(), epoch_catalog("003").string(), ecsv_copy});
  const json info = json::parse(succeed({"info", store.string(), "--json"}).out);
  EXPECT_EQ(info["epochs"], json({"000", "002", "003"}));
  EXPECT_EQ(info["populated_epochs"], json({"002", "003"}));
}

TEST(GrowCli, BadInputFailsWithAMessageAndChangesNothing) {
  TempDir directory;
  const fs::path store = directory.path() / "field.lcs";
  write_file(directory.path() / "epochs.csv", "epoch,mjd\n000,60000\n");
  write_file(directory.path() / "airmass.csv", "epoch,airmass\n009,1.2\n");
  create(store, directory.path() / "epochs.csv");
  const std::string root = read_file(store / "zarr.json");
  const CommandResult variable =
      lcstore({"add-epochs", store.string(), "--epochs-file", (directory.path() / "airmass.csv").string()});
  EXPECT_NE(variable.exit_code, 0);
  EXPECT_THAT(variable.err, HasSubstr("airmass"));
  const CommandResult neither = lcstore({"add-epochs", store.string()});
  EXPECT_NE(neither.exit_code, 0);
  EXPECT_THAT(neither.err, HasSubstr("--epochs"));
  const CommandResult no_key = lcstore({"add-epochs", store.string(), "--epochs", ","});
  EXPECT_NE(no_key.exit_code, 0);
  EXPECT_THAT(no_key.err, HasSubstr("names no epoch"));
  EXPECT_EQ(read_file(store / "zarr.json"), root);
}

}  // namespace
}  // namespace lcstore::testing
