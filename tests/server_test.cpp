// `lcstore serve`'s API (src/server), against the real server listening on
// 127.0.0.1 (an ephemeral port), with a store built by the lcstore program
// from ../shared/fixtures/sextractor-field-a and images from `lcstore
// simulate`:
//  * every endpoint of docs/openapi.yaml is requested, every answer's status
//    and content type is one the file documents and its JSON matches the
//    documented schema; every path of the file is tested;
//  * answers equal the library's own calls (cone, region, light curves,
//    epoch slice) and the CLI's output (CSV export); ECSV and VOTable
//    exports read back in astropy with the same cells;
//  * bad parameters answer 400 naming the parameter, unknown objects and
//    epochs 404, limits (too many objects, too large a cutout) 400;
//  * cutouts are PNGs of the size asked, centred by the image's WCS on the
//    simulator's true star position; image files never come from outside
//    the configured directory;
//  * cross-origin requests are refused; random query parameters never
//    crash the server nor answer anything but 200, 400 or 404 JSON;
//  * a populate and a rechunk beside the server: answers stay equal to the
//    data, and the rechunk's new read layout is seen without a restart.
#include "lcstore/server/server.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <png.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "lcstore/lightcurve/light_curve_store.h"
#include "server/images.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using lightcurve::LightCurveStore;
using nlohmann::json;
using ::testing::HasSubstr;

const fs::path kField = fs::path(LCSTORE_FIXTURES) / "sextractor-field-a";

// The store (281 objects x 6 measurements x 2 values x 4 epochs, rechunked),
// simulated images of 4 epochs and the coadd, and a server of both.
class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new TempDir();
    const fs::path root = directory_->path();
    const CommandResult simulated = lcstore(
        {"simulate", (root / "images").string(), "--stars", "40", "--epochs", "4", "--size", "256", "--seed", "7"});
    ASSERT_EQ(simulated.exit_code, 0) << simulated;
    // The simulator's epochs (keyed r<aorkey>) become the store's epochs 000..003 of the
    // fixture catalogs, with their mjd and aorkey; an image map names their images.
    std::istringstream simulated_epochs(read_file(root / "images" / "epochs.csv"));
    std::string line, epochs = "epoch,mjd,aorkey\n", map = "epoch,path\ncoadd,coadd.fits\n";
    std::getline(simulated_epochs, line);
    for (int e = 0; std::getline(simulated_epochs, line); ++e) {
      const std::string key = line.substr(0, line.find(','));
      epochs += fmt::format("{:03}{}\n", e, line.substr(key.size()));
      map += fmt::format("{:03},epoch_{}.fits\n", e, key);
    }
    write_file(root / "epochs.csv", epochs);
    write_file(root / "images" / "map.csv", map);
    const std::string store = (root / "field.lcs").string();
    const CommandResult created = lcstore({"create", store, "--objects", (kField / "coadd.fits_ldac.cat").string(),
                                           "--epochs-file", (root / "epochs.csv").string()});
    ASSERT_EQ(created.exit_code, 0) << created;
    std::vector<std::string> populate = {"populate", store, "--epoch-from-name", "epoch_(\\d+)"};
    for (const char* key : {"000", "001", "002", "003"})
      populate.push_back((kField / fmt::format("epoch_{}.fits_ldac.cat", key)).string());
    const CommandResult populated = lcstore(populate);
    ASSERT_EQ(populated.exit_code, 0) << populated;
    const CommandResult rechunked = lcstore({"rechunk", store, "--object-chunk", "64"});
    ASSERT_EQ(rechunked.exit_code, 0) << rechunked;

    server::ServerOptions options;
    options.store = store;
    options.port = 0;
    options.image_map = root / "images" / "map.csv";
    options.threads = 16;
    options.limits.max_curves = 50;
    options.limits.max_cutout_pixels = 512;
    server_ = new server::Server(options);
    thread_ = new std::thread([] { server_->run(); });
  }

  static void TearDownTestSuite() {
    server_->stop();
    thread_->join();
    delete thread_;
    delete server_;
    delete directory_;
  }

  static fs::path root() { return directory_->path(); }
  static std::string store_path() { return (root() / "field.lcs").string(); }
  static LightCurveStore open_store() { return LightCurveStore::open(std::make_shared<DirectoryStore>(store_path())); }

  static httplib::Result get(const std::string& target, const httplib::Headers& headers = {}) {
    httplib::Client client("127.0.0.1", server_->port());
    return client.Get(target.c_str(), headers);
  }
  static json get_json(const std::string& target, int status = 200) {
    httplib::Result result = get(target);
    EXPECT_TRUE(result) << target;
    if (!result) return {};
    EXPECT_EQ(result->status, status) << target << "\n" << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json") << target;
    return json::parse(result->body);
  }
  // A request that must fail with `status` and an error naming `subject`.
  static void expect_error(const std::string& target, int status, const std::string& subject) {
    const json body = get_json(target, status);
    ASSERT_TRUE(body.contains("error")) << target << ": " << body;
    EXPECT_EQ(body["error"]["subject"], subject) << target << ": " << body;
    EXPECT_FALSE(body["error"]["reason"].get<std::string>().empty());
  }

  static TempDir* directory_;
  static server::Server* server_;
  static std::thread* thread_;
};

TempDir* ServerTest::directory_ = nullptr;
server::Server* ServerTest::server_ = nullptr;
std::thread* ServerTest::thread_ = nullptr;

// ---------------------------------------------------------------------------
// The OpenAPI file against the real server.

// Checks `value` against an OpenAPI 3.0 schema: $ref, allOf, type,
// nullable, required, properties, additionalProperties, items, enum.
class SchemaChecker {
 public:
  explicit SchemaChecker(YAML::Node document) : document_(std::move(document)) {}

  void check(const json& value, const YAML::Node& schema, const std::string& where) const {
    if (schema["$ref"]) {
      const std::string ref = schema["$ref"].as<std::string>();
      const std::string prefix = "#/components/schemas/";
      ASSERT_TRUE(ref.starts_with(prefix)) << ref;
      check(value, document_["components"]["schemas"][ref.substr(prefix.size())], where);
      return;
    }
    if (schema["allOf"]) {
      for (const YAML::Node& part : schema["allOf"]) check(value, part, where);
      return;
    }
    if (value.is_null()) {
      EXPECT_TRUE(schema["nullable"] && schema["nullable"].as<bool>()) << where << " is null";
      return;
    }
    const std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
    if (type == "object") {
      ASSERT_TRUE(value.is_object()) << where << ": " << value.dump().substr(0, 200);
      for (const YAML::Node& name : schema["required"])
        EXPECT_TRUE(value.contains(name.as<std::string>())) << where << " lacks " << name.as<std::string>();
      for (const auto& [name, member] : value.items()) {
        if (schema["properties"] && schema["properties"][name]) {
          check(member, schema["properties"][name], where + "." + name);
        } else if (schema["additionalProperties"]) {
          check(member, schema["additionalProperties"], where + "." + name);
        }
      }
    } else if (type == "array") {
      ASSERT_TRUE(value.is_array()) << where;
      if (schema["items"])
        for (size_t i = 0; i < value.size(); ++i)
          check(value[i], schema["items"], where + "[" + std::to_string(i) + "]");
    } else if (type == "string") {
      ASSERT_TRUE(value.is_string()) << where;
      if (schema["enum"]) {
        std::set<std::string> choices;
        for (const YAML::Node& choice : schema["enum"]) choices.insert(choice.as<std::string>());
        EXPECT_TRUE(choices.contains(value.get<std::string>())) << where;
      }
    } else if (type == "integer") {
      EXPECT_TRUE(value.is_number_integer()) << where << ": " << value;
    } else if (type == "number") {
      EXPECT_TRUE(value.is_number()) << where << ": " << value;
    } else if (type == "boolean") {
      EXPECT_TRUE(value.is_boolean()) << where;
    }
  }

 private:
  YAML::Node document_;
};

// The response object of a status, following a $ref into components/responses.
YAML::Node response_of(const YAML::Node& document, const YAML::Node& operation, int status) {
  YAML::Node response = operation["responses"][std::to_string(status)];
  if (response && response["$ref"]) {
    const std::string ref = response["$ref"].as<std::string>();
    response = document["components"]["responses"][ref.substr(ref.rfind('/') + 1)];
  }
  return response;
}

TEST_F(ServerTest, EveryEndpointAnswersAsTheOpenApiFileSays) {
  const YAML::Node document = YAML::LoadFile(LCSTORE_OPENAPI);
  const SchemaChecker checker(document);
  const LightCurveStore store = open_store();
  const std::string ra = fmt::format("{}", store.object_table().ra[0]);
  const std::string dec = fmt::format("{}", store.object_table().dec[0]);
  const std::string cutout = "epoch=000&ra=265.05&dec=65.55&size=64&markers=1,2";
  // (path template, request, expected status): every documented path, with
  // answers and errors.
  const std::vector<std::tuple<std::string, std::string, int>> requests = {
      {"/api/info", "/api/info", 200},
      {"/api/info", "/api/info?x=1", 400},
      {"/api/objects", "/api/objects?limit=5", 200},
      {"/api/objects", "/api/objects?ra=" + ra + "&dec=" + dec + "&radius=60", 200},
      {"/api/objects", "/api/objects?ra_min=265&ra_max=265.1&dec_min=65.5&dec_max=65.6&sort=dec&order=desc", 200},
      {"/api/objects", "/api/objects?ids=3,1,2", 200},
      {"/api/objects", "/api/objects?ids=nope", 404},
      {"/api/objects", "/api/objects?radius=x", 400},
      {"/api/lightcurve/{object}", "/api/lightcurve/5", 200},
      {"/api/lightcurve/{object}", "/api/lightcurve/5?measurement=auto", 200},
      {"/api/lightcurve/{object}", "/api/lightcurve/999999", 404},
      {"/api/lightcurve/{object}", "/api/lightcurve/5?measurement=nope", 400},
      {"/api/lightcurves", "/api/lightcurves?ids=5,1&measurement=iso", 200},
      {"/api/lightcurves", "/api/lightcurves", 400},
      {"/api/lightcurves", "/api/lightcurves?ids=5,nope", 404},
      {"/api/epoch/{epoch}", "/api/epoch/001?limit=10&offset=5", 200},
      {"/api/epoch/{epoch}", "/api/epoch/001?measurement=aper_2", 200},
      {"/api/epoch/{epoch}", "/api/epoch/nope", 404},
      {"/api/epoch/{epoch}", "/api/epoch/001?limit=0", 400},
      {"/api/export", "/api/export?ids=5,1", 200},
      {"/api/export", "/api/export?ids=5&format=ecsv", 200},
      {"/api/export", "/api/export?ids=5&format=votable", 200},
      {"/api/export", "/api/export?ids=5&format=xls", 400},
      {"/api/export", "/api/export?ids=nope", 404},
      {"/api/images", "/api/images", 200},
      {"/api/cutout", "/api/cutout?" + cutout, 200},
      {"/api/cutout", "/api/cutout?" + cutout + "&norm=asinh&cmap=viridis&pmin=5&pmax=95", 200},
      {"/api/cutout", "/api/cutout?epoch=coadd&ra=265.05&dec=65.55", 200},
      {"/api/cutout", "/api/cutout?epoch=000&ra=265.05", 400},
      {"/api/cutout", "/api/cutout?epoch=009&ra=265.05&dec=65.55", 404},
      {"/api/cutout/markers", "/api/cutout/markers?" + cutout, 200},
      {"/api/cutout/markers", "/api/cutout/markers?" + cutout + "&cmap=jet", 400},
  };
  std::set<std::string> tested, documented;
  for (const auto& path : document["paths"]) documented.insert(path.first.as<std::string>());
  for (const auto& [path, target, status] : requests) {
    SCOPED_TRACE(target);
    tested.insert(path);
    const YAML::Node operation = document["paths"][path]["get"];
    ASSERT_TRUE(operation) << path << " is not documented";
    httplib::Result result = get(target);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, status) << result->body.substr(0, 300);
    const YAML::Node response = response_of(document, operation, result->status);
    ASSERT_TRUE(response) << "status " << result->status << " is not documented for " << path;
    std::string type = result->get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    const YAML::Node content = response["content"][type];
    ASSERT_TRUE(content) << type << " is not documented for " << path << " " << result->status;
    if (type == "application/json") checker.check(json::parse(result->body), content["schema"], "body");
  }
  EXPECT_EQ(tested, documented);
}

// ---------------------------------------------------------------------------
// Answers against the library and the CLI.

TEST_F(ServerTest, InfoDescribesTheStore) {
  const json info = get_json("/api/info");
  EXPECT_EQ(info["shape"], json({281, 6, 2, 4}));
  EXPECT_EQ(info["measurements"], json({"auto", "iso", "aper", "aper_1", "aper_2", "aper_3"}));
  EXPECT_EQ(info["values"], json({"mag", "mag_err"}));
  EXPECT_EQ(info["epochs"]["epoch"], json({"000", "001", "002", "003"}));
  EXPECT_EQ(info["epochs"]["epoch_mjd"].size(), 4u);
  EXPECT_THAT(info["epoch_variables"].get<std::vector<std::string>>(),
              ::testing::UnorderedElementsAre("epoch_mjd", "epoch_aorkey"));
  EXPECT_EQ(info["images"], json({"coadd", "000", "001", "002", "003"}));
  EXPECT_EQ(info["read_layout"]["status"], "current");
  EXPECT_EQ(info["read_layout"]["shards"], json({64, 6, 2, 4}));
  EXPECT_EQ(info["write_layout"]["chunks"][3], 1);
}

TEST_F(ServerTest, ConeBoxAndIdsAreTheLibrarysAnswersPaged) {
  const LightCurveStore store = open_store();
  const auto& table = store.object_table();
  const auto cone = store.cone(265.05, 65.55, 120);
  ASSERT_GT(cone.size(), 5u);
  const json page = get_json("/api/objects?ra=265.05&dec=65.55&radius=120&offset=2&limit=3");
  EXPECT_EQ(page["total"], cone.size());
  ASSERT_EQ(page["objects"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const json& row = page["objects"][i];
    EXPECT_EQ(row["object"], table.keys[cone[i + 2].index]);
    EXPECT_EQ(row["ra"].get<double>(), table.ra[cone[i + 2].index]);
    EXPECT_DOUBLE_EQ(row["separation_arcsec"].get<double>(), cone[i + 2].separation_arcsec);
  }

  const auto box = store.region(265.0, 265.1, 65.5, 65.6);
  const json boxed = get_json("/api/objects?ra_min=265&ra_max=265.1&dec_min=65.5&dec_max=65.6&limit=10000");
  ASSERT_EQ(boxed["objects"].size(), box.size());
  for (size_t i = 0; i < box.size(); ++i) EXPECT_EQ(boxed["objects"][i]["index"], box[i].index);

  const json by_ra = get_json("/api/objects?sort=ra&order=desc&limit=10000");
  ASSERT_EQ(by_ra["objects"].size(), 281u);
  for (size_t i = 1; i < 281; ++i)
    EXPECT_GE(by_ra["objects"][i - 1]["ra"].get<double>(), by_ra["objects"][i]["ra"].get<double>());

  const json ids = get_json("/api/objects?ids=7,3,250");
  ASSERT_EQ(ids["objects"].size(), 3u);
  EXPECT_EQ(ids["objects"][0]["object"], "7");
  EXPECT_EQ(ids["objects"][2]["object"], "250");
  EXPECT_EQ(static_cast<float>(ids["objects"][1]["x"].get<double>()), table.x[store.object_index("3")]);
}

TEST_F(ServerTest, LightCurvesAreTheStoredValues) {
  const LightCurveStore store = open_store();
  const json many = get_json("/api/lightcurves?ids=5,281,1");
  ASSERT_EQ(many["curves"].size(), 3u);
  const std::vector<std::string> asked = {"5", "281", "1"};
  for (size_t k = 0; k < asked.size(); ++k) {
    const lightcurve::LightCurve curve = store.light_curve(asked[k]);
    const json& answer = many["curves"][k];
    EXPECT_EQ(answer["object"], asked[k]);
    for (size_t m = 0; m < curve.measurements.size(); ++m) {
      for (size_t v = 0; v < curve.values.size(); ++v) {
        const json& column = answer["data"][curve.measurements[m]][curve.values[v]];
        ASSERT_EQ(column.size(), 4u);
        for (size_t e = 0; e < 4; ++e) {
          const float stored = curve.data[(m * curve.values.size() + v) * 4 + e];
          if (std::isnan(stored)) {
            EXPECT_TRUE(column[e].is_null());
          } else {
            EXPECT_EQ(static_cast<float>(column[e].get<double>()), stored);
          }
        }
      }
    }
  }
  const json one = get_json("/api/lightcurve/5?measurement=auto");
  EXPECT_EQ(one["data"].size(), 1u);
  EXPECT_EQ(one["data"]["auto"], many["curves"][0]["data"]["auto"]);
  // Shortest form: the float32 20.924364 prints as such, not as its double expansion.
  const httplib::Result raw = get("/api/lightcurve/5?measurement=auto");
  EXPECT_THAT(raw->body, HasSubstr("20.924364"));
  EXPECT_THAT(raw->body, ::testing::Not(HasSubstr("20.9243640")));
}

TEST_F(ServerTest, EpochSliceIsTheLibrarysPaged) {
  const LightCurveStore store = open_store();
  const lightcurve::EpochSlice slice = store.epoch("002");
  const json page = get_json("/api/epoch/002?measurement=iso&offset=270&limit=100");
  EXPECT_EQ(page["total"], 281);
  ASSERT_EQ(page["objects"].size(), 11u);
  EXPECT_EQ(page["objects"][0], store.objects()[270]);
  ASSERT_EQ(page["data"].size(), 1u);
  for (size_t i = 0; i < 11; ++i) {
    const float stored = slice.data[((270 + i) * 6 + 1) * 2 + 1];  // iso, mag_err
    const json& cell = page["data"]["iso"]["mag_err"][i];
    if (std::isnan(stored)) {
      EXPECT_TRUE(cell.is_null());
    } else {
      EXPECT_EQ(static_cast<float>(cell.get<double>()), stored);
    }
  }
}

TEST_F(ServerTest, CsvExportIsTheCliOutput) {
  const CommandResult cli = lcstore({"lightcurve", store_path(), "5", "17", "2", "--format", "csv"});
  ASSERT_EQ(cli.exit_code, 0) << cli;
  const httplib::Result exported = get("/api/export?ids=5,17,2");
  ASSERT_TRUE(exported);
  EXPECT_EQ(exported->status, 200);
  EXPECT_EQ(exported->body, cli.out);
  EXPECT_THAT(exported->get_header_value("Content-Disposition"), HasSubstr("lightcurves.csv"));
  const CommandResult one = lcstore({"lightcurve", store_path(), "9", "--measurement", "aper_1", "--format", "csv"});
  EXPECT_EQ(get("/api/export?ids=9&measurement=aper_1")->body, one.out);
}

TEST_F(ServerTest, EcsvAndVotableExportsReadInAstropyWithTheCsvCells) {
  const std::string csv = get("/api/export?ids=5,17&measurement=auto")->body;
  write_file(root() / "export.csv", csv);
  write_file(root() / "export.ecsv", get("/api/export?ids=5,17&measurement=auto&format=ecsv")->body);
  write_file(root() / "export.vot", get("/api/export?ids=5,17&measurement=auto&format=votable")->body);
  // Each file's table as CSV through astropy, with the column types it read.
  const std::string script = R"(
import sys, warnings
from astropy.table import Table
warnings.simplefilter("error")
for path, fmt in (("export.ecsv", "ascii.ecsv"), ("export.vot", "votable")):
    t = Table.read(sys.argv[1] + "/" + path, format=fmt)
    print(path, len(t), [str(t[c].dtype) for c in ("object", "epoch_mjd", "mag", "mag_err")],
          ["%r" % float(t["mag"][i]) for i in range(len(t))])
)";
  write_file(root() / "read.py", script);
  const CommandResult read = run_command({LCSTORE_PYTHON, (root() / "read.py").string(), root().string()});
  ASSERT_EQ(read.exit_code, 0) << read;
  // The CSV's mag column as Python prints the float32 values widened to float64.
  std::vector<std::string> mags;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);  // header: object,epoch,epoch_mjd,epoch_aorkey,measurement,mag,mag_err
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    mags.push_back(fmt::format("{}", static_cast<double>(std::stof(cells.at(5)))));
  }
  ASSERT_EQ(mags.size(), 8u);
  std::istringstream out(read.out);
  for (const char* file : {"export.ecsv", "export.vot"}) {
    std::getline(out, line);
    SCOPED_TRACE(line);
    EXPECT_THAT(line, HasSubstr(std::string(file) + " 8 "));
    EXPECT_THAT(line, HasSubstr("'float64', 'float32', 'float32'"));
    for (const std::string& mag : mags) EXPECT_THAT(line, HasSubstr("'" + mag + "'"));
  }
}

// ---------------------------------------------------------------------------
// Bad requests and limits.

TEST_F(ServerTest, BadParametersAreNamed) {
  expect_error("/api/objects?ra=265&dec=65", 400, "radius");
  expect_error("/api/objects?ra=abc&dec=65&radius=3", 400, "ra");
  expect_error("/api/objects?ra=265&dec=91&radius=3", 400, "dec");
  expect_error("/api/objects?ra=265&dec=65&radius=-1", 400, "radius");
  expect_error("/api/objects?ra=265&dec=65&radius=nan", 400, "radius");
  expect_error("/api/objects?ra=265&dec=65&radius=1e999", 400, "radius");
  expect_error("/api/objects?ra_min=1&ra_max=2&dec_min=3&dec_max=1", 400, "dec_min");
  expect_error("/api/objects?ids=1,,2", 400, "ids");
  expect_error("/api/objects?ids=1&ra=2&dec=3&radius=4", 400, "ids");
  expect_error("/api/objects?sort=separation", 400, "sort");
  expect_error("/api/objects?sort=brightness", 400, "sort");
  expect_error("/api/objects?limit=-1", 400, "limit");
  expect_error("/api/objects?offset=1.5", 400, "offset");
  expect_error("/api/objects?limit=1&limit=2", 400, "limit");
  expect_error("/api/objects?colour=red", 400, "colour");
  expect_error("/api/lightcurve/5?measurement=", 400, "measurement");
  expect_error("/api/export?ids=5&format=", 400, "format");
  expect_error("/api/cutout?epoch=000&ra=265.05&dec=65.55&pmin=50&pmax=40", 400, "pmin");
  expect_error("/api/cutout?epoch=000&ra=265.05&dec=65.55&norm=cube", 400, "norm");
  expect_error("/api/cutout?epoch=000&ra=10&dec=-30", 400, "ra");  // off the image
}

TEST_F(ServerTest, UnknownObjectsEpochsAndPathsAre404) {
  expect_error("/api/lightcurve/0", 404, "0");
  expect_error("/api/lightcurves?ids=1,2,1000", 404, "1000");
  expect_error("/api/objects?ids=1,x", 404, "x");
  expect_error("/api/epoch/004", 404, "004");
  expect_error("/api/cutout?epoch=004&ra=265.05&dec=65.55", 404, "004");
  expect_error("/api/cutout?epoch=000&ra=265.05&dec=65.55&markers=1,77777", 404, "77777");
  expect_error("/api/nothing", 404, "/api/nothing");
}

TEST_F(ServerTest, LimitsAreEnforced) {
  std::string ids;
  for (int i = 1; i <= 51; ++i) ids += (i > 1 ? "," : "") + std::to_string(i);
  expect_error("/api/lightcurves?ids=" + ids, 400, "ids");
  expect_error("/api/export?ids=" + ids, 400, "ids");
  EXPECT_EQ(get_json("/api/lightcurves?ids=" + ids.substr(0, ids.rfind(',')))["curves"].size(), 50u);
  expect_error("/api/objects?limit=10001", 400, "limit");
  expect_error("/api/cutout?epoch=000&ra=265.05&dec=65.55&size=513", 400, "size");
  expect_error("/api/cutout?epoch=000&ra=265.05&dec=65.55&size=8", 400, "size");
  // A request body is refused beyond its bound (the API takes none).
  httplib::Client client("127.0.0.1", server_->port());
  const httplib::Result posted = client.Post("/api/info", std::string(32 << 10, 'x'), "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_GE(posted->status, 400);
}

// ---------------------------------------------------------------------------
// Cutouts.

struct DecodedPng {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

DecodedPng decode_png(const std::string& bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()));
  image.format = PNG_FORMAT_RGB;
  DecodedPng decoded{image.width, image.height, std::vector<uint8_t>(PNG_IMAGE_SIZE(image))};
  EXPECT_TRUE(png_image_finish_read(&image, nullptr, decoded.rgb.data(), 0, nullptr));
  return decoded;
}

TEST_F(ServerTest, CutoutsAreCentredOnTheTruePositionOfAStar) {
  const json truth = json::parse(read_file(root() / "images" / "truth.json"));
  // The brightest simulated star well inside the 256-pixel image.
  size_t star = SIZE_MAX;
  for (size_t s = 0; s < truth["x"].size(); ++s) {
    const double x = truth["x"][s], y = truth["y"][s];
    if (x < 40 || y < 40 || x > 216 || y > 216) continue;
    if (star == SIZE_MAX || truth["mag0"][s].get<double>() < truth["mag0"][star].get<double>()) star = s;
  }
  ASSERT_NE(star, SIZE_MAX);
  const std::string where =
      fmt::format("ra={}&dec={}", truth["ra"][star].get<double>(), truth["dec"][star].get<double>());
  const json geometry = get_json("/api/cutout/markers?epoch=coadd&size=64&" + where);
  EXPECT_NEAR(geometry["center"]["x"].get<double>(), truth["x"][star].get<double>(), 1e-6);
  EXPECT_NEAR(geometry["center"]["y"].get<double>(), truth["y"][star].get<double>(), 1e-6);

  const httplib::Result png = get("/api/cutout?epoch=coadd&size=64&pmin=0&pmax=100&" + where);
  ASSERT_TRUE(png);
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  const DecodedPng image = decode_png(png->body);
  ASSERT_EQ(image.width, 64u);
  ASSERT_EQ(image.height, 64u);
  // With the whole range stretched, the star's peak is the brightest pixel, at the centre.
  size_t brightest = 0;
  for (size_t p = 0; p < 64 * 64; ++p)
    if (image.rgb[3 * p] > image.rgb[3 * brightest]) brightest = p;
  EXPECT_NEAR(static_cast<double>(brightest % 64), 32.0, 1.0);
  EXPECT_NEAR(static_cast<double>(brightest / 64), 31.0, 1.0);  // PNG rows go down
}

TEST_F(ServerTest, MarkersFallOnTheirObjectsAndAreDrawn) {
  const LightCurveStore store = open_store();
  const uint64_t row = store.object_index("137");
  const std::string where =
      fmt::format("epoch=001&ra={}&dec={}&size=128", store.object_table().ra[row], store.object_table().dec[row]);
  const json geometry = get_json("/api/cutout/markers?markers=137,121&" + where);
  ASSERT_GE(geometry["markers"].size(), 1u);
  EXPECT_EQ(geometry["markers"][0]["object"], "137");
  const double x = geometry["markers"][0]["x"], y = geometry["markers"][0]["y"];
  EXPECT_NEAR(x, 64.0, 0.5);
  EXPECT_NEAR(y, 63.0, 0.5);
  const DecodedPng plain = decode_png(get("/api/cutout?" + where)->body);
  const DecodedPng marked = decode_png(get("/api/cutout?markers=137&" + where)->body);
  // The ring, 7 pixels from the marker, is cyan on the gray image.
  const size_t ring = (static_cast<size_t>(std::lround(y)) * 128 + static_cast<size_t>(std::lround(x + 7))) * 3;
  EXPECT_EQ(marked.rgb[ring], 0);
  EXPECT_EQ(marked.rgb[ring + 1], 255);
  EXPECT_EQ(marked.rgb[ring + 2], 255);
  EXPECT_EQ(plain.rgb[ring], plain.rgb[ring + 1]);  // gray there without it
}

TEST_F(ServerTest, ImageFilesNeverComeFromOutsideTheirDirectory) {
  TempDir scratch;
  const fs::path images = scratch.path() / "images";
  fs::create_directories(images);
  fs::copy_file(root() / "images" / "coadd.fits", scratch.path() / "outside.fits");
  fs::copy_file(root() / "images" / "coadd.fits", images / "epoch_001.fits");
  fs::create_symlink(scratch.path() / "outside.fits", images / "epoch_000.fits");
  const server::ImageFiles from_directory = server::ImageFiles::from_directory(images);
  EXPECT_FALSE(from_directory.find("000"));  // a link out of the directory
  EXPECT_TRUE(from_directory.find("001"));
  EXPECT_FALSE(from_directory.find("/../../outside"));
  EXPECT_FALSE(from_directory.find("../outside"));
  write_file(images / "map.csv", "epoch,path\n001,epoch_001.fits\n002,../outside.fits\n003," +
                                     (scratch.path() / "outside.fits").string() + "\n");
  const server::ImageFiles from_map = server::ImageFiles::from_map(images / "map.csv");
  EXPECT_EQ(from_map.find("001"), fs::canonical(images / "epoch_001.fits"));
  EXPECT_FALSE(from_map.find("002"));
  EXPECT_FALSE(from_map.find("003"));
  EXPECT_EQ(from_map.available({"000", "001", "002", "003"}), std::vector<std::string>({"001"}));
  write_file(images / "bad.csv", "001\n");
  EXPECT_TRUE(ThrowsError(ErrorKind::kBadInput, [&] { server::ImageFiles::from_map(images / "bad.csv"); }));
  // Through the server: an epoch key is looked up in the store before any file.
  expect_error("/api/cutout?epoch=..%2F..%2Fetc%2Fpasswd&ra=265.05&dec=65.55", 404, "../../etc/passwd");
}

// ---------------------------------------------------------------------------
// Safety and robustness.

TEST_F(ServerTest, CrossOriginRequestsAreRefused) {
  const httplib::Result plain = get("/api/info");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_header("Access-Control-Allow-Origin"));
  const httplib::Result foreign = get("/api/info", {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403);
  const httplib::Result own = get("/api/info", {{"Origin", fmt::format("http://127.0.0.1:{}", server_->port())}});
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
}

TEST_F(ServerTest, FuzzedQueryParametersAnswer200Or400Or404Json) {
  const std::vector<std::string> endpoints = {"/api/objects",       "/api/lightcurve/5", "/api/lightcurves",
                                              "/api/epoch/000",     "/api/export",       "/api/cutout",
                                              "/api/cutout/markers"};
  const std::vector<std::string> names = {"ra",      "dec",    "radius",      "ra_min", "ra_max", "dec_min",
                                          "dec_max", "ids",    "sort",        "order",  "offset", "limit",
                                          "epoch",   "size",   "norm",        "pmin",   "pmax",   "cmap",
                                          "markers", "format", "measurement", "zzz"};
  const std::vector<std::string> values = {"",
                                           "0",
                                           "-0",
                                           "1",
                                           "-1",
                                           "265.05",
                                           "65.55",
                                           "90",
                                           "1e308",
                                           "1e-320",
                                           "nan",
                                           "inf",
                                           "-inf",
                                           "0x10",
                                           "１",
                                           "1,2",
                                           ",",
                                           "1,,2",
                                           "5",
                                           "coadd",
                                           "000",
                                           "auto",
                                           "csv",
                                           "asc",
                                           "ra",
                                           "%00",
                                           "%ff%fe",
                                           "../",
                                           "%2e%2e%2f",
                                           "18446744073709551616",
                                           "999999999999",
                                           std::string(3000, '9'),
                                           "<script>",
                                           "\"",
                                           "'",
                                           "%0d%0aX-Injected:%201"};
  std::mt19937 random(12345);
  auto pick = [&](const auto& items) { return items[random() % items.size()]; };
  httplib::Client client("127.0.0.1", server_->port());
  for (int request = 0; request < 1500; ++request) {
    std::string target = pick(endpoints) + "?";
    const auto count = static_cast<unsigned>(random() % 5);
    for (unsigned p = 0; p < count; ++p) target += (p ? "&" : "") + pick(names) + "=" + pick(values);
    const httplib::Result result = client.Get(target.c_str());
    ASSERT_TRUE(result) << target;
    ASSERT_TRUE(result->status == 200 || result->status == 400 || result->status == 404)
        << target << " -> " << result->status << " " << result->body.substr(0, 300);
    EXPECT_FALSE(result->has_header("X-Injected"));
    if (result->status != 200) {
      const json body = json::parse(result->body);
      ASSERT_TRUE(body["error"]["subject"].is_string()) << target;
    }
  }
  EXPECT_EQ(get_json("/api/info")["n_objects"], 281);
}

TEST_F(ServerTest, ConcurrentClientsGetTheSameAnswers) {
  const std::string expected = get("/api/lightcurves?ids=5,6,7")->body;
  std::atomic<int> mismatches = 0, failures = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < 12; ++c) {
    clients.emplace_back([&] {
      httplib::Client client("127.0.0.1", server_->port());
      for (int i = 0; i < 40; ++i) {
        const httplib::Result result = client.Get("/api/lightcurves?ids=5,6,7");
        if (!result || result->status != 200) {
          ++failures;
        } else if (result->body != expected) {
          ++mismatches;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
}

// Last (gtest runs a suite's tests in order): it rewrites the store.
TEST_F(ServerTest, PopulateAndRechunkBesideTheServer) {
  const std::string expected = get("/api/lightcurves?ids=1,100,200&measurement=auto")->body;
  std::atomic<bool> done = false;
  std::atomic<int> mismatches = 0, answers = 0;
  std::thread reader([&] {
    httplib::Client client("127.0.0.1", server_->port());
    while (!done) {
      const httplib::Result result = client.Get("/api/lightcurves?ids=1,100,200&measurement=auto");
      ++answers;
      if (!result || result->status != 200 || result->body != expected) ++mismatches;
    }
  });
  // The same catalogs written again: every answer meanwhile holds the same values.
  std::vector<std::string> populate = {"populate", store_path(), "--force", "--epoch-from-name", "epoch_(\\d+)"};
  for (const char* key : {"000", "001", "002", "003"})
    populate.push_back((kField / fmt::format("epoch_{}.fits_ldac.cat", key)).string());
  const CommandResult populated = lcstore(populate);
  EXPECT_EQ(populated.exit_code, 0) << populated;
  EXPECT_EQ(get_json("/api/info")["read_layout"]["status"], "stale");
  const CommandResult rechunked = lcstore({"rechunk", store_path(), "--object-chunk", "32"});
  EXPECT_EQ(rechunked.exit_code, 0) << rechunked;
  done = true;
  reader.join();
  EXPECT_GT(answers, 0);
  EXPECT_EQ(mismatches, 0);
  // The new read layout (32 objects a shard) is served without a restart.
  const json info = get_json("/api/info");
  EXPECT_EQ(info["read_layout"]["status"], "current");
  EXPECT_EQ(info["read_layout"]["shards"], json({32, 6, 2, 4}));
  EXPECT_EQ(get("/api/lightcurves?ids=1,100,200&measurement=auto")->body, expected);
}

}  // namespace
}  // namespace lcstore::testing
