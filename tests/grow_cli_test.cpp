// `lcstore add-epochs`, `populate --add-epochs` and `lcstore add-objects` on
// the SExtractor fixtures: a store grown epoch by epoch (or object by
// object) holds exactly what a store created whole holds (as lcstore and,
// for epochs, as zarrita read it), adding an epoch or object twice is a
// no-op, bad input fails with a message and changes nothing, and fsck finds
// the grown store clean.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
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

// The coadd catalog's header and its first `rows` objects.
void write_first_objects(const fs::path& path, size_t rows) {
  std::istringstream whole(read_file(kField / "coadd.ecsv"));
  std::string kept, line;
  size_t data_rows = 0;
  bool column_names_seen = false;
  while (std::getline(whole, line) && data_rows < rows) {
    const bool header = line.starts_with("#") || !column_names_seen;
    if (!line.starts_with("#")) {
      data_rows += column_names_seen;
      column_names_seen = true;
    }
    if (header || data_rows <= rows) kept += line + "\n";
  }
  write_file(path, kept);
}

TEST(GrowCli, AStoreGrownObjectByObjectHoldsWhatOneCreatedWholeHolds) {
  TempDir directory;
  const fs::path whole = directory.path() / "whole.lcs", grown = directory.path() / "grown.lcs";
  const fs::path first = directory.path() / "first.ecsv";
  write_file(directory.path() / "epochs.csv", "epoch,mjd\n000,60000\n001,60001\n");
  write_first_objects(first, 200);
  create(whole, directory.path() / "epochs.csv");
  succeed({"create", grown.string(), "--objects", first.string(), "--epochs-file",
           (directory.path() / "epochs.csv").string(), "--object-chunk", "64"});
  // Epoch 000 before the growth, 001 after: the new objects have no 000 values.
  succeed({"populate", grown.string(), "--epoch", "000", epoch_catalog("000").string(), "--skip-unknown-objects"});
  EXPECT_THAT(succeed({"add-objects", grown.string(), "--objects", (kField / "coadd.ecsv").string()}).out,
              HasSubstr("added 81 object(s)"));
  const json again = json::parse(succeed({"add-objects", grown.string(), "--objects", first.string(), "--json"}).out);
  EXPECT_EQ(again["added"], 0);
  EXPECT_EQ(again["objects"], 281);
  succeed({"populate", grown.string(), "--epoch", "001", epoch_catalog("001").string()});
  succeed({"populate", whole.string(), "--epoch", "000", epoch_catalog("000").string()});
  succeed({"populate", whole.string(), "--epoch", "001", epoch_catalog("001").string()});
  // Objects 1 and 17 were there from the start; 281 was added before epoch 001.
  const json grown_curves = lightcurves_json(grown), whole_curves = lightcurves_json(whole);
  ASSERT_EQ(grown_curves.size(), whole_curves.size());
  size_t added_object_values = 0;
  for (size_t i = 0; i < grown_curves.size(); ++i) {
    const json &row = grown_curves[i], &expected = whole_curves[i];
    if (row["object"] == "281" && row["epoch"] == "000") {
      EXPECT_TRUE(row["mag"].is_null()) << row;
      EXPECT_FALSE(expected["mag"].is_null()) << expected;
      continue;
    }
    EXPECT_EQ(row, expected);
    added_object_values += row["object"] == "281" && !row["mag"].is_null();
  }
  EXPECT_GT(added_object_values, 0u);
  const json cone = json::parse(
      succeed({"cone", grown.string(), "--ra", "264.8969054", "--dec", "65.5", "--radius", "3600", "--json"}).out);
  EXPECT_GE(cone.size(), 1u);
  succeed({"rechunk", grown.string()});
  EXPECT_THAT(succeed({"fsck", grown.string()}).out, HasSubstr("clean"));
  const CommandResult missing = lcstore({"add-objects", grown.string(), "--objects", "no-such.cat"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("no-such.cat"));
}

TEST(GrowCli, PopulateAddUnmatchedAddsTheRowsNoObjectMatches) {
  TempDir directory;
  const fs::path store = directory.path() / "field.lcs", first = directory.path() / "first.ecsv";
  write_first_objects(first, 200);
  succeed({"create", store.string(), "--objects", first.string(), "--epochs", "000,001"});
  const CommandResult by_key =
      lcstore({"populate", store.string(), "--epoch", "000", epoch_catalog("000").string(), "--add-unmatched"});
  EXPECT_NE(by_key.exit_code, 0);
  EXPECT_THAT(by_key.err, HasSubstr("--match position"));
  EXPECT_THAT(succeed({"populate", store.string(), "--epoch", "000", epoch_catalog("000").string(), "--match",
                       "position:0.5", "--add-unmatched"})
                  .out,
              HasSubstr("added 81 new objects"));
  // The next epoch's rows match the objects the first one added.
  const json next = json::parse(succeed({"populate", store.string(), "--epoch", "001", epoch_catalog("001").string(),
                                         "--match", "position:0.5", "--add-unmatched", "--json"})
                                    .out);
  EXPECT_EQ(next["catalogs"][0]["objects_added"], 0) << next;
  EXPECT_EQ(next["catalogs"][0]["objects_written"], 281) << next;
  const json curve =
      json::parse(succeed({"lightcurve", store.string(), "000-281", "--measurement", "auto", "--json"}).out);
  ASSERT_EQ(curve.size(), 2u);
  EXPECT_FALSE(curve[0]["mag"].is_null());
  EXPECT_FALSE(curve[1]["mag"].is_null());
  EXPECT_THAT(succeed({"fsck", store.string()}).out, HasSubstr("clean"));
}

}  // namespace
}  // namespace lcstore::testing
