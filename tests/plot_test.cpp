// `lcstore plot`, run as a subprocess on a small store built through the CLI
// from the SExtractor fixtures: a PNG of the requested size, an SVG, and
// clear failures (unknown object, unsupported extension, nothing to plot)
// that leave no file behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const fs::path kField = fs::path(LCSTORE_FIXTURES) / "sextractor-field-a";

// Runs a command that must succeed and returns its stdout.
std::string succeed(const std::vector<std::string>& args) {
  CommandResult result = lcstore(args);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.err, "") << result;
  return result.out;
}

// A command that failed through lcstore's error path: exit status 1, one
// "lcstore: <kind>: ..." message containing every one of `parts`, no stdout.
void expect_failure(const CommandResult& result, const std::string& kind, const std::vector<std::string>& parts) {
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.err, StartsWith("lcstore: " + kind + ": ")) << result;
  EXPECT_EQ(result.out, "") << result;
  for (const std::string& part : parts) EXPECT_THAT(result.err, HasSubstr(part)) << result;
}

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return value;
}

struct PngSize {
  uint32_t width = 0, height = 0;
};

// The size in a PNG's IHDR chunk, after checking the signature and that the
// file ends with an IEND chunk.
PngSize png_size(const fs::path& path) {
  const std::string bytes = read_file(path);
  EXPECT_GE(bytes.size(), 8u + 25u + 12u) << path;
  if (bytes.size() < 8 + 25 + 12) return {};
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path << ": no PNG signature";
  EXPECT_EQ(big_endian_u32(bytes, 8), 13u) << path << ": IHDR length";
  EXPECT_EQ(bytes.substr(12, 4), "IHDR") << path << ": the first chunk is not IHDR";
  EXPECT_EQ(bytes.substr(bytes.size() - 8, 4), "IEND") << path << ": does not end with IEND";
  return {big_endian_u32(bytes, 16), big_endian_u32(bytes, 20)};
}

// The store of the four fixture epochs, with MJDs (or keys only), made
// through the CLI as a user would.
class PlotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = (dir_.path() / "field.lcs").string();
    const fs::path epochs = dir_.path() / "epochs.csv";
    write_file(epochs, "epoch,mjd\n000,58089.6\n001,58124.97\n002,58150.94\n003,58228.33\n");
    succeed(
        {"create", store_, "--objects", (kField / "coadd.ascii_head.cat").string(), "--epochs-file", epochs.string()});
    populate(store_);
  }

  static void populate(const std::string& store) {
    std::vector<std::string> args = {"populate", store, "--epoch-from-name", R"(epoch_(\d+))"};
    for (int e = 0; e < 4; ++e)
      args.push_back((kField / ("epoch_00" + std::to_string(e) + ".ascii_head.cat")).string());
    succeed(args);
  }

  fs::path out(const std::string& name) const { return dir_.path() / name; }

  TempDir dir_;
  std::string store_;
};

TEST_F(PlotTest, WritesAPngOfTheRequestedSize) {
  const fs::path png = out("curves.png");
  const std::string said = succeed({"plot", store_, "5", "7", "12", "--out", png.string()});
  EXPECT_THAT(said, HasSubstr(png.string()));
  EXPECT_THAT(said, HasSubstr("3 panels"));
  ASSERT_TRUE(fs::exists(png));
  const PngSize size = png_size(png);
  EXPECT_EQ(size.width, 1200u);
  EXPECT_EQ(size.height, 800u);

  const fs::path small = out("small.png");
  succeed(
      {"plot", store_, "5", "--out", small.string(), "--width", "640", "--height", "480", "--measurement", "aper_2"});
  const PngSize small_size = png_size(small);
  EXPECT_EQ(small_size.width, 640u);
  EXPECT_EQ(small_size.height, 480u);
  // Nothing but the plot is left in the directory (no temporary files).
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_THAT(name, ::testing::AnyOf("field.lcs", "epochs.csv", "curves.png", "small.png"));
  }
}

TEST_F(PlotTest, WritesAnSvg) {
  const fs::path svg = out("curves.svg");
  succeed({"plot", store_, "5", "7", "12", "--out", svg.string(), "--width", "900", "--height", "600"});
  const std::string text = read_file(svg);
  EXPECT_TRUE(text.starts_with("<?xml") || text.starts_with("<svg")) << text.substr(0, 200);
  EXPECT_THAT(text, HasSubstr("<svg"));
  EXPECT_THAT(text, HasSubstr("</svg>"));
}

TEST_F(PlotTest, ReportsAsJson) {
  const fs::path png = out("report.png");
  const nlohmann::json report =
      nlohmann::json::parse(succeed({"plot", store_, "5", "7", "--out", png.string(), "--json"}));
  EXPECT_EQ(report["format"], "png");
  EXPECT_EQ(report["measurement"], "auto");
  EXPECT_EQ(report["points"], 8);  // 2 objects x 4 epochs, all measured
  EXPECT_EQ(report["x_axis"], "MJD");
}

TEST_F(PlotTest, FallsBackToTheEpochIndexWithoutMjd) {
  const std::string store = (dir_.path() / "keys-only.lcs").string();
  succeed({"create", store, "--objects", (kField / "coadd.ascii_head.cat").string(), "--epochs", "000,001,002,003"});
  populate(store);
  const fs::path png = out("index.png");
  const nlohmann::json report = nlohmann::json::parse(succeed({"plot", store, "12", "--out", png.string(), "--json"}));
  EXPECT_THAT(report["x_axis"].get<std::string>(), HasSubstr("epoch index"));
  EXPECT_EQ(png_size(png).width, 1200u);
  expect_failure(lcstore({"plot", store, "12", "--periodogram", "--out", out("periods.png").string()}), "not found",
                 {"a periodogram needs the epoch times"});
}

TEST_F(PlotTest, UnknownObjectFailsNamingItAndWritesNothing) {
  const fs::path png = out("unknown.png");
  expect_failure(lcstore({"plot", store_, "nosuchobject", "--out", png.string()}), "not found", {"nosuchobject"});
  EXPECT_FALSE(fs::exists(png));
  // Also among known objects.
  expect_failure(lcstore({"plot", store_, "5", "nosuchobject", "--out", png.string()}), "not found", {"nosuchobject"});
  EXPECT_FALSE(fs::exists(png));
}

TEST_F(PlotTest, UnknownMeasurementFails) {
  const fs::path png = out("measurement.png");
  expect_failure(lcstore({"plot", store_, "5", "--measurement", "nosuch", "--out", png.string()}), "not found",
                 {"nosuch"});
  EXPECT_FALSE(fs::exists(png));
}

TEST_F(PlotTest, UnsupportedExtensionFails) {
  const fs::path jpg = out("curves.jpg");
  expect_failure(lcstore({"plot", store_, "5", "--out", jpg.string()}), "invalid argument",
                 {"curves.jpg", ".png", ".svg"});
  EXPECT_FALSE(fs::exists(jpg));
}

TEST_F(PlotTest, NothingToPlotFails) {
  const std::string store = (dir_.path() / "empty.lcs").string();
  succeed({"create", store, "--objects", (kField / "coadd.ascii_head.cat").string(), "--epochs", "000,001"});
  const fs::path png = out("empty.png");
  expect_failure(lcstore({"plot", store, "5", "7", "--out", png.string()}), "not found", {"nothing to plot", "5, 7"});
  EXPECT_FALSE(fs::exists(png));
}

TEST_F(PlotTest, MissingOutputDirectoryFails) {
  const fs::path png = out("no-such-dir") / "curves.png";
  expect_failure(lcstore({"plot", store_, "5", "--out", png.string()}), "not found", {"no-such-dir"});
}

}  // namespace
}  // namespace lcstore::testing
