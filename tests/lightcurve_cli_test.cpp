// The light-curve commands of the lcstore program (`create`, `populate`,
// `rechunk`, `info`, `lightcurve`, `epoch`, `region`, `cone`), run as a
// subprocess on the real SExtractor catalogs of
// ../shared/fixtures/sextractor-field-a in each of their four formats:
//  * every query answer, in table, csv and json, holds the same rows, and its
//    values are the catalogs' own (same object NUMBER, float32 of the cell);
//  * the three populate strategies write byte-identical stores;
//  * the journal skips a catalog already populated unless --force;
//  * the read layout is current after rechunk and stale after a populate;
//  * bad catalogs and bad arguments fail with a message naming the culprit
//    and leave the store byte-for-byte unchanged;
//  * zarrita (node, tests/interop) reads the populated and rechunked store:
//    shapes, dimension names, labels and every value agree with lcstore.
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numbers>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lcstore/catalog/read_catalog.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kField = fs::path(LCSTORE_FIXTURES) / "sextractor-field-a";
const fs::path kInteropDir = LCSTORE_INTEROP_DIR;
const fs::path kZarritaReader = kInteropDir / "read_lightcurve_store.mjs";

const std::vector<std::string> kEpochs = {"000", "001", "002", "003"};
const std::vector<std::string> kMeasurements = {"auto", "iso", "aper", "aper_1", "aper_2", "aper_3"};
const std::vector<std::string> kValues = {"mag", "mag_err"};
constexpr size_t kObjects = 281;
constexpr uint64_t kValuesPerCatalog = kObjects * 6 * 2;
const char* const kStaleNote = "the read layout is missing or older than the last populate";

// ---------------------------------------------------------------------------
// Running the program.

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

// Runs a command that must succeed with nothing on stderr; returns stdout.
std::string succeed(const std::vector<std::string>& args) {
  CommandResult result = lcstore(args);
  EXPECT_EQ(result.exit_code, 0) << "lcstore " << join(args) << "\n" << result;
  EXPECT_EQ(result.err, "") << "lcstore " << join(args);
  return result.out;
}

json parse_json(const std::string& text) {
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(document.is_discarded()) << "not JSON:\n" << text.substr(0, 2000);
  return document;
}

// A command that must fail: non-zero exit, an "lcstore: " message on stderr
// containing every one of `parts`, and (for lcstore's own errors) nothing on
// stdout.
void expect_failure(const CommandResult& result, const std::vector<std::string>& parts) {
  EXPECT_NE(result.exit_code, 0) << result;
  EXPECT_NE(result.exit_code, 3) << "an internal error, not a clear message:\n" << result;
  EXPECT_THAT(result.err, Not(HasSubstr("internal error"))) << result;
  EXPECT_FALSE(result.err.empty()) << result;
  for (const std::string& part : parts) EXPECT_THAT(result.err, HasSubstr(part)) << result;
}

// ---------------------------------------------------------------------------
// The fixture catalogs.

struct Format {
  std::string suffix;  // file name after "coadd." / "epoch_000."
  std::string name;    // as populate --json reports it
};

const std::vector<Format> kFormats = {
    {"ascii_head.cat", "ascii_head"}, {"fits_1_0.cat", "fits_1.0"}, {"fits_ldac.cat", "fits_ldac"}, {"ecsv", "ecsv"}};

void PrintTo(const Format& format, std::ostream* out) { *out << format.name; }

fs::path fixture(const std::string& stem, const Format& format) { return kField / (stem + "." + format.suffix); }
fs::path epoch_catalog(size_t e, const Format& format) { return fixture("epoch_" + kEpochs[e], format); }

// One catalog read by lcstore's catalog layer, indexed by object NUMBER.
struct CatalogData {
  catalog::Table table;
  std::vector<std::string> keys;  // NUMBER of every row, in file order
  std::map<std::string, size_t> row_of;

  explicit CatalogData(const fs::path& path) : table(catalog::read_catalog(path).table) {
    const catalog::Column& number = table.column("NUMBER");
    for (size_t row = 0; row < table.num_rows(); ++row) {
      keys.push_back(std::to_string(static_cast<int64_t>(number.number(row))));
      row_of[keys.back()] = row;
    }
  }

  bool has(const std::string& object) const { return row_of.count(object) != 0; }
  double cell(const std::string& column, const std::string& object) const {
    return table.column(column).number(row_of.at(object));
  }
  // The catalog column of a store (measurement, value): auto/mag -> MAG_AUTO,
  // aper_2/mag_err -> MAGERR_APER_2.
  static std::string column_of(const std::string& measurement, const std::string& value) {
    std::string name = (value == "mag" ? "MAG_" : "MAGERR_") + measurement;
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
  }
  float value(const std::string& object, const std::string& measurement, const std::string& value) const {
    return static_cast<float>(cell(column_of(measurement, value), object));
  }
};

// truth.json: the epochs' AOR keys and MJDs.
struct Truth {
  std::vector<std::string> aorkeys;
  std::vector<double> mjds;
};

const Truth& truth() {
  static const Truth loaded = [] {
    Truth t;
    const json document = json::parse(read_file(kField / "truth.json"));
    for (const json& epoch : document.at("epochs")) {
      t.aorkeys.push_back(epoch.at("key"));
      t.mjds.push_back(epoch.at("mjd"));
    }
    return t;
  }();
  return loaded;
}

// The epoch table given to create: epoch,mjd,aorkey from truth.json, keys
// 000..003 as --epoch-from-name 'epoch_(\d+)' finds them in the file names.
fs::path write_epochs_file(const fs::path& directory) {
  std::string text = "epoch,mjd,aorkey\n";
  for (size_t e = 0; e < kEpochs.size(); ++e) {
    text += fmt::format("{},{},{}\n", kEpochs[e], truth().mjds.at(e), truth().aorkeys.at(e));
  }
  const fs::path path = directory / "epochs.csv";
  write_file(path, text);
  return path;
}

// ---------------------------------------------------------------------------
// Query output in its three formats, parsed into one shape: a header and rows
// of cell texts (JSON numbers printed as their shortest round-trip text, JSON
// null as "nan", as the csv and table formats print them).

struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> cells;

  size_t column(const std::string& name) const {
    auto found = std::find(columns.begin(), columns.end(), name);
    EXPECT_NE(found, columns.end()) << "no column " << name;
    return found == columns.end() ? 0 : static_cast<size_t>(found - columns.begin());
  }
  std::string at(size_t row, const std::string& name) const { return cells.at(row).at(column(name)); }
  bool operator==(const Rows&) const = default;
};

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

Rows parse_csv(const std::string& text) {
  Rows rows;
  std::vector<std::string> lines = lines_of(text);
  EXPECT_FALSE(lines.empty()) << "no csv header";
  if (lines.empty()) return rows;
  rows.columns = split_csv_line(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    rows.cells.push_back(split_csv_line(lines[i]));
    EXPECT_EQ(rows.cells.back().size(), rows.columns.size()) << "csv line " << i + 1 << ": " << lines[i];
  }
  return rows;
}

Rows parse_table(const std::string& text) {
  auto words = [](const std::string& line) {
    std::vector<std::string> out;
    std::stringstream stream(line);
    for (std::string word; stream >> word;) out.push_back(word);
    return out;
  };
  Rows rows;
  std::vector<std::string> lines = lines_of(text);
  EXPECT_FALSE(lines.empty()) << "no table header";
  if (lines.empty()) return rows;
  rows.columns = words(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    rows.cells.push_back(words(lines[i]));
    EXPECT_EQ(rows.cells.back().size(), rows.columns.size()) << "table line " << i + 1 << ": " << lines[i];
  }
  return rows;
}

// JSON records; `numeric` names the columns that must be numbers or null
// (every other column must be a string).
Rows parse_records(const std::string& text, const std::set<std::string>& numeric) {
  Rows rows;
  const json records = parse_json(text);
  EXPECT_TRUE(records.is_array()) << text.substr(0, 500);
  if (!records.is_array()) return rows;
  // Column order from the first record (nlohmann::json sorts keys, so read
  // the order from the text itself).
  if (!records.empty()) {
    const nlohmann::ordered_json first = nlohmann::ordered_json::parse(text).at(0);
    for (const auto& [key, value] : first.items()) rows.columns.push_back(key);
  }
  for (const json& record : records) {
    EXPECT_EQ(record.size(), rows.columns.size()) << record.dump();
    std::vector<std::string> cells;
    for (const std::string& column : rows.columns) {
      const json& cell = record.contains(column) ? record[column] : json();
      if (numeric.count(column)) {
        EXPECT_TRUE(cell.is_number() || cell.is_null()) << column << " is not a number or null: " << record.dump();
      } else {
        EXPECT_TRUE(cell.is_string()) << column << " is not a string: " << record.dump();
      }
      if (cell.is_null()) {
        cells.push_back("nan");
      } else if (cell.is_string()) {
        cells.push_back(cell.get<std::string>());
      } else if (cell.is_number_float()) {
        cells.push_back(fmt::format("{}", cell.get<double>()));
      } else {
        cells.push_back(cell.dump());
      }
    }
    rows.cells.push_back(std::move(cells));
  }
  return rows;
}

// Runs a query in all three formats (with `every_spelling`, also as
// --format table and --json), checks they agree, returns the rows.
// `expected_note`: what stderr must hold (nothing when empty).
Rows query(std::vector<std::string> args, const std::set<std::string>& numeric, const std::string& expected_note = "",
           bool every_spelling = false) {
  auto run = [&](const std::vector<std::string>& format) {
    std::vector<std::string> full = args;
    full.insert(full.end(), format.begin(), format.end());
    CommandResult result = lcstore(full);
    EXPECT_EQ(result.exit_code, 0) << "lcstore " << join(full) << "\n" << result;
    if (!expected_note.empty()) {
      EXPECT_THAT(result.err, HasSubstr(expected_note)) << "lcstore " << join(full);
    } else {
      EXPECT_EQ(result.err, "") << "lcstore " << join(full);
    }
    return result.out;
  };
  const Rows table = parse_table(run({}));
  const Rows csv = parse_csv(run({"--format", "csv"}));
  Rows records = parse_records(run({"--format", "json"}), numeric);
  // No rows: JSON says [], without column names.
  if (records.cells.empty() && records.columns.empty()) records.columns = csv.columns;
  EXPECT_TRUE(csv == table) << join(args) << ": csv and table differ";
  EXPECT_TRUE(records == csv) << join(args) << ": json and csv differ";
  if (every_spelling) {
    EXPECT_TRUE(parse_table(run({"--format", "table"})) == table)
        << join(args) << ": the default format is not the table";
    EXPECT_TRUE(parse_records(run({"--json"}), numeric) == records)
        << join(args) << ": --json and --format json differ";
  }
  return records;
}

// A printed number as float32 (shortest round-trip text gives it exactly).
float as_float(const std::string& text) {
  if (text == "nan") return NAN;
  return std::stof(text);
}

// Equal float32 values, NaN equal to NaN.
::testing::AssertionResult same_float(float got, float expected) {
  if ((std::isnan(got) && std::isnan(expected)) || got == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << fmt::format("{} instead of {}", got, expected);
}

const std::set<std::string> kLightCurveNumbers = {"epoch_mjd", "mag", "mag_err"};
const std::set<std::string> kEpochNumbers = {"mag", "mag_err"};
const std::set<std::string> kMatchNumbers = {"ra", "dec", "x_image", "y_image", "separation_arcsec"};

// ---------------------------------------------------------------------------
// Store snapshots: the content of every file below the store (lock files
// excluded: taking a lock may create one), and every directory.

using Snapshot = std::map<std::string, std::string>;

Snapshot snapshot(const fs::path& root) {
  Snapshot files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
    const std::string relative = fs::relative(entry.path(), root).string();
    if (entry.path().filename() == ".lcstore.lock") continue;
    if (entry.is_directory()) {
      files[relative + "/"] = "<directory>";
    } else {
      files[relative] = read_file(entry.path());
    }
  }
  return files;
}

::testing::AssertionResult same_snapshot(const Snapshot& before, const Snapshot& after) {
  std::vector<std::string> differences;
  for (const auto& [path, content] : before) {
    auto found = after.find(path);
    if (found == after.end())
      differences.push_back("removed " + path);
    else if (found->second != content)
      differences.push_back("changed " + path);
  }
  for (const auto& [path, content] : after) {
    if (!before.count(path)) differences.push_back("added " + path);
  }
  if (differences.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the store changed: " << join(differences);
}

// ---------------------------------------------------------------------------
// A store of the field built through the command line.

struct FieldStore {
  std::unique_ptr<TempDir> directory = std::make_unique<TempDir>();
  fs::path store = directory->path() / "field.lcs";
  fs::path epochs_file = write_epochs_file(directory->path());
  // populate --json of epoch 000 (--epoch) and of 001..003 (--epoch-from-name).
  json first_report, rest_report;
};

// create from the coadd catalog of `format` (with `extra` arguments).
void create(const FieldStore& field, const Format& format, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"create",        field.store.string(),
                                   "--objects",     fixture("coadd", format).string(),
                                   "--epochs-file", field.epochs_file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const std::string out = succeed(args);
  EXPECT_EQ(out, fmt::format("created {}: 281 objects x 6 measurements x 2 values x 4 epochs\n", field.store.string()));
}

// Every epoch of `format`: 000 with --epoch, the others with --epoch-from-name -j 2.
void populate_all(const FieldStore& field, const Format& format, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> first = {"populate", field.store.string(), "--epoch", "000",
                                    epoch_catalog(0, format).string()};
  first.insert(first.end(), extra.begin(), extra.end());
  const std::string out = succeed(first);
  EXPECT_THAT(out, HasSubstr("epoch 000 <- " + epoch_catalog(0, format).string() + ": 3372 values of 281 objects"));
  std::vector<std::string> rest = {"populate", field.store.string(), "--epoch-from-name", R"(epoch_(\d+))"};
  for (size_t e = 1; e < kEpochs.size(); ++e) rest.push_back(epoch_catalog(e, format).string());
  rest.insert(rest.end(), {"-j", "2"});
  rest.insert(rest.end(), extra.begin(), extra.end());
  const std::string summary = succeed(rest);
  EXPECT_THAT(summary, HasSubstr("3 catalogs: 3 written, 0 already done, 0 failed; 10116 values"));
}

json info(const fs::path& store) { return parse_json(succeed({"info", store.string(), "--json"})); }

// ===========================================================================
// Each catalog format, end to end.

class LightCurveCliFormat : public ::testing::TestWithParam<Format> {
 protected:
  // The store of this format, built once per process.
  static const FieldStore& store_of(const Format& format) {
    static std::map<std::string, std::unique_ptr<FieldStore>> stores;
    std::unique_ptr<FieldStore>& field = stores[format.name];
    if (!field) {
      field = std::make_unique<FieldStore>();
      create(*field, format);
      field->first_report = parse_json(
          succeed({"populate", field->store.string(), "--epoch", "000", epoch_catalog(0, format).string(), "--json"}));
      std::vector<std::string> args = {
          "populate", field->store.string(), "--epoch-from-name", R"(epoch_(\d+))", "-j", "2", "--json"};
      for (size_t e = 1; e < kEpochs.size(); ++e) args.push_back(epoch_catalog(e, format).string());
      field->rest_report = parse_json(succeed(args));
    }
    return *field;
  }
  static const CatalogData& catalog_of(const std::string& stem, const Format& format) {
    static std::map<std::string, std::unique_ptr<CatalogData>> catalogs;
    std::unique_ptr<CatalogData>& data = catalogs[stem + "." + format.suffix];
    if (!data) data = std::make_unique<CatalogData>(fixture(stem, format));
    return *data;
  }
};

TEST_P(LightCurveCliFormat, PopulateJsonReportsEveryCatalog) {
  const Format& format = GetParam();
  const FieldStore& field = store_of(format);
  // One catalog with --epoch.
  const json& one = field.first_report;
  ASSERT_TRUE(one.is_object()) << one.dump();
  EXPECT_EQ(one["failed"], 0);
  EXPECT_EQ(one["already_done"], 0);
  EXPECT_EQ(one["values_written"], kValuesPerCatalog);
  ASSERT_EQ(one["catalogs"].size(), 1u);
  // Several with --epoch-from-name, two at a time: reported in argument order.
  const json& rest = field.rest_report;
  EXPECT_EQ(rest["failed"], 0);
  EXPECT_EQ(rest["already_done"], 0);
  EXPECT_EQ(rest["values_written"], 3 * kValuesPerCatalog);
  ASSERT_EQ(rest["catalogs"].size(), 3u);
  std::vector<json> reports = {one["catalogs"][0], rest["catalogs"][0], rest["catalogs"][1], rest["catalogs"][2]};
  for (size_t e = 0; e < kEpochs.size(); ++e) {
    const json& report = reports[e];
    EXPECT_EQ(report["catalog"], epoch_catalog(e, format).string());
    EXPECT_EQ(report["epoch"], kEpochs[e]);
    EXPECT_EQ(report["status"], "written");
    EXPECT_EQ(report["format"], format.name);
    EXPECT_EQ(report["values_written"], kValuesPerCatalog);
    EXPECT_EQ(report["objects_written"], kObjects);
    EXPECT_EQ(report["unknown_objects_skipped"], 0);
    EXPECT_EQ(report["incomplete_measurements_skipped"], json::array());
    EXPECT_EQ(report["measurements_ignored"], json::array());
    EXPECT_FALSE(report.contains("error")) << report.dump();
  }
  const json summary = info(field.store);
  EXPECT_EQ(summary["populated_epochs"], json(kEpochs));
}

TEST_P(LightCurveCliFormat, InfoDescribesTheStore) {
  const Format& format = GetParam();
  const FieldStore& field = store_of(format);
  const json summary = info(field.store);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["shape"], json({281, 6, 2, 4}));
  EXPECT_EQ(summary["dimensions"], json({"object", "measurement", "value", "epoch"}));
  EXPECT_EQ(summary["n_objects"], kObjects);
  EXPECT_EQ(summary["measurements"], json(kMeasurements));
  EXPECT_EQ(summary["values"], json(kValues));
  EXPECT_EQ(summary["epochs"], json(kEpochs));
  EXPECT_EQ(summary["epoch_variables"], json({"epoch_aorkey", "epoch_mjd"}));
  EXPECT_EQ(summary["object_keys"], json({"1", "281"}));
  EXPECT_EQ(summary["populated_epochs"], json(kEpochs));
  EXPECT_EQ(summary["description"], "lcstore light curves");
  EXPECT_EQ(summary["write_layout"]["array"], "lightcurves");
  EXPECT_EQ(summary["write_layout"]["chunks"], json({281, 6, 2, 1}));
  EXPECT_EQ(summary["read_layout"]["status"], "absent");
  EXPECT_EQ(summary["queries_use"], "write layout");
  EXPECT_TRUE(summary["journal_generation"].is_number_unsigned());
  // Coordinate ranges are the coadd catalog's.
  const CatalogData& coadd = catalog_of("coadd", format);
  const auto& ra = coadd.table.column("ALPHA_J2000");
  const auto& dec = coadd.table.column("DELTA_J2000");
  double ra_min = INFINITY, ra_max = -INFINITY, dec_min = INFINITY, dec_max = -INFINITY;
  for (size_t row = 0; row < coadd.table.num_rows(); ++row) {
    ra_min = std::min(ra_min, ra.number(row));
    ra_max = std::max(ra_max, ra.number(row));
    dec_min = std::min(dec_min, dec.number(row));
    dec_max = std::max(dec_max, dec.number(row));
  }
  EXPECT_EQ(summary["ra_range"], json({ra_min, ra_max}));
  EXPECT_EQ(summary["dec_range"], json({dec_min, dec_max}));
  // The human summary says the same.
  const std::string text = succeed({"info", field.store.string()});
  EXPECT_THAT(text, HasSubstr("shape:        [281, 6, 2, 4] (object, measurement, value, epoch)"));
  EXPECT_THAT(text, HasSubstr("populated:    4 of 4 epochs (000, 001, 002, 003)"));
  EXPECT_THAT(text, HasSubstr("read layout:  absent (absent)"));
}

TEST_P(LightCurveCliFormat, LightCurvesAreTheCatalogValues) {
  const Format& format = GetParam();
  const FieldStore& field = store_of(format);
  const std::vector<std::string> objects = {"5", "1", "42", "150", "281"};
  std::vector<std::string> args = {"lightcurve", field.store.string()};
  args.insert(args.end(), objects.begin(), objects.end());
  const Rows rows = query(args, kLightCurveNumbers, kStaleNote, /*every_spelling=*/format.name == "ascii_head");
  EXPECT_EQ(rows.columns, std::vector<std::string>(
                              {"object", "epoch", "epoch_aorkey", "epoch_mjd", "measurement", "mag", "mag_err"}));
  // Objects in the order asked, then measurements, then epochs.
  ASSERT_EQ(rows.cells.size(), objects.size() * kMeasurements.size() * kEpochs.size());
  size_t row = 0;
  for (const std::string& object : objects) {
    for (const std::string& measurement : kMeasurements) {
      for (size_t e = 0; e < kEpochs.size(); ++e, ++row) {
        const CatalogData& catalog = catalog_of("epoch_" + kEpochs[e], format);
        SCOPED_TRACE(fmt::format("object {} {} epoch {}", object, measurement, kEpochs[e]));
        EXPECT_EQ(rows.at(row, "object"), object);
        EXPECT_EQ(rows.at(row, "epoch"), kEpochs[e]);
        EXPECT_EQ(rows.at(row, "epoch_aorkey"), truth().aorkeys[e]);
        EXPECT_EQ(std::stod(rows.at(row, "epoch_mjd")), truth().mjds[e]);
        EXPECT_EQ(rows.at(row, "measurement"), measurement);
        for (const std::string& value : kValues) {
          EXPECT_TRUE(same_float(as_float(rows.at(row, value)), catalog.value(object, measurement, value))) << value;
        }
      }
    }
  }
  // The example of the brief: object 5's MAG_AUTO per epoch is the epoch
  // catalog's row with NUMBER 5.
  const Rows auto_only =
      query({"lightcurve", field.store.string(), "5", "--measurement", "auto"}, kLightCurveNumbers, kStaleNote);
  ASSERT_EQ(auto_only.cells.size(), kEpochs.size());
  for (size_t e = 0; e < kEpochs.size(); ++e) {
    const CatalogData& catalog = catalog_of("epoch_" + kEpochs[e], format);
    EXPECT_EQ(auto_only.at(e, "measurement"), "auto");
    EXPECT_EQ(as_float(auto_only.at(e, "mag")), static_cast<float>(catalog.cell("MAG_AUTO", "5"))) << kEpochs[e];
    EXPECT_EQ(as_float(auto_only.at(e, "mag_err")), static_cast<float>(catalog.cell("MAGERR_AUTO", "5"))) << kEpochs[e];
  }
  // --objects-file gives the same rows as the keys on the command line.
  const fs::path ids = field.directory->path() / "ids.txt";
  write_file(ids, "5\r\n1\n\n42\n150\n281\n");
  CommandResult from_file = lcstore({"lightcurve", field.store.string(), "--objects-file", ids.string(), "--json"});
  EXPECT_EQ(from_file.exit_code, 0) << from_file;
  EXPECT_TRUE(parse_records(from_file.out, kLightCurveNumbers) == rows);
}

TEST_P(LightCurveCliFormat, EpochIsTheCatalog) {
  const Format& format = GetParam();
  const FieldStore& field = store_of(format);
  for (size_t e = 0; e < kEpochs.size(); ++e) {
    SCOPED_TRACE("epoch " + kEpochs[e]);
    const CatalogData& catalog = catalog_of("epoch_" + kEpochs[e], format);
    const CatalogData& coadd = catalog_of("coadd", format);
    // Every format for one epoch; JSON only for the others.
    const Rows rows =
        e == 0 ? query({"epoch", field.store.string(), kEpochs[e]}, kEpochNumbers)
               : parse_records(succeed({"epoch", field.store.string(), kEpochs[e], "--json"}), kEpochNumbers);
    EXPECT_EQ(rows.columns, std::vector<std::string>({"object", "measurement", "mag", "mag_err"}));
    ASSERT_EQ(rows.cells.size(), kObjects * kMeasurements.size());
    size_t row = 0, mismatches = 0;
    for (const std::string& object : coadd.keys) {
      for (const std::string& measurement : kMeasurements) {
        EXPECT_EQ(rows.at(row, "object"), object);
        EXPECT_EQ(rows.at(row, "measurement"), measurement);
        for (const std::string& value : kValues) {
          if (!same_float(as_float(rows.at(row, value)), catalog.value(object, measurement, value)) &&
              ++mismatches <= 5) {
            ADD_FAILURE() << object << " " << measurement << " " << value << ": " << rows.at(row, value)
                          << " instead of " << catalog.value(object, measurement, value);
          }
        }
        ++row;
      }
    }
    EXPECT_EQ(mismatches, 0u);
  }
}

// Objects of the coadd catalog as region/cone report them.
void expect_object_rows(const Rows& rows, const std::vector<std::string>& expected, const CatalogData& coadd) {
  std::vector<std::string> got;
  for (size_t row = 0; row < rows.cells.size(); ++row) got.push_back(rows.at(row, "object"));
  ASSERT_EQ(got, expected);
  for (size_t row = 0; row < rows.cells.size(); ++row) {
    const std::string& object = got[row];
    EXPECT_EQ(std::stod(rows.at(row, "ra")), coadd.cell("ALPHA_J2000", object)) << object;
    EXPECT_EQ(std::stod(rows.at(row, "dec")), coadd.cell("DELTA_J2000", object)) << object;
    EXPECT_EQ(as_float(rows.at(row, "x_image")), static_cast<float>(coadd.cell("X_IMAGE", object))) << object;
    EXPECT_EQ(as_float(rows.at(row, "y_image")), static_cast<float>(coadd.cell("Y_IMAGE", object))) << object;
  }
}

TEST_P(LightCurveCliFormat, RegionSelectsTheCatalogPositions) {
  const Format& format = GetParam();
  const FieldStore& field = store_of(format);
  const CatalogData& coadd = catalog_of("coadd", format);
  auto inside = [&](double ra_min, double ra_max, double dec_min, double dec_max) {
    std::vector<std::string> objects;
    for (const std::string& object : coadd.keys) {
      const double ra = coadd.cell("ALPHA_J2000", object), dec = coadd.cell("DELTA_J2000", object);
      const bool in_ra = ra_min > ra_max ? (ra >= ra_min || ra <= ra_max) : (ra >= ra_min && ra <= ra_max);
      if (in_ra && dec >= dec_min && dec <= dec_max) objects.push_back(object);
    }
    return objects;
  };
  const Rows box =
      query({"region", field.store.string(), "--ra", "265.0", "265.1", "--dec", "65.5", "65.58"}, kMatchNumbers);
  EXPECT_EQ(box.columns, std::vector<std::string>({"object", "ra", "dec", "x_image", "y_image"}));
  const std::vector<std::string> expected = inside(265.0, 265.1, 65.5, 65.58);
  EXPECT_GT(expected.size(), 20u);
  EXPECT_LT(expected.size(), kObjects / 2);
  expect_object_rows(box, expected, coadd);
  // RA_MIN > RA_MAX wraps through 0: [265.1, 360) and [0, 1].
  const Rows wrapped = query({"region", field.store.string(), "--ra", "265.1", "1", "--dec", "-90", "90"},
                             kMatchNumbers, "the box wraps through RA 0");
  const std::vector<std::string> expected_wrapped = inside(265.1, 1, -90, 90);
  EXPECT_GT(expected_wrapped.size(), 20u);
  expect_object_rows(wrapped, expected_wrapped, coadd);
  // An empty box: a header and no rows (json: an empty list).
  const Rows empty = query({"region", field.store.string(), "--ra", "10", "11", "--dec", "0", "1"}, kMatchNumbers);
  EXPECT_TRUE(empty.cells.empty());
  EXPECT_EQ(parse_json(succeed({"region", field.store.string(), "--ra", "10", "11", "--dec", "0", "1", "--json"})),
            json::array());
}

TEST_P(LightCurveCliFormat, ConeFindsTheNearestFirst) {
  const Format& format = GetParam();
  const FieldStore& field = store_of(format);
  const CatalogData& coadd = catalog_of("coadd", format);
  const double ra0 = 265.05, dec0 = 65.55, radius = 60;
  // Independent separation: the angle between unit vectors.
  auto separation_arcsec = [](double ra1, double dec1, double ra2, double dec2) {
    constexpr double k = std::numbers::pi / 180;
    const double x1 = std::cos(dec1 * k) * std::cos(ra1 * k), y1 = std::cos(dec1 * k) * std::sin(ra1 * k),
                 z1 = std::sin(dec1 * k);
    const double x2 = std::cos(dec2 * k) * std::cos(ra2 * k), y2 = std::cos(dec2 * k) * std::sin(ra2 * k),
                 z2 = std::sin(dec2 * k);
    const double cross = std::hypot(y1 * z2 - z1 * y2, z1 * x2 - x1 * z2, x1 * y2 - y1 * x2);
    return std::atan2(cross, x1 * x2 + y1 * y2 + z1 * z2) / k * 3600;
  };
  std::vector<std::pair<double, std::string>> near;
  for (const std::string& object : coadd.keys) {
    const double s = separation_arcsec(ra0, dec0, coadd.cell("ALPHA_J2000", object), coadd.cell("DELTA_J2000", object));
    ASSERT_GT(std::abs(s - radius), 1e-3) << object << " sits on the cone's edge; pick another radius";
    if (s <= radius) near.emplace_back(s, object);
  }
  std::sort(near.begin(), near.end());
  ASSERT_GE(near.size(), 5u);
  std::vector<std::string> expected;
  for (const auto& [s, object] : near) expected.push_back(object);
  const Rows rows = query({"cone", field.store.string(), "--ra", fmt::format("{}", ra0), "--dec",
                           fmt::format("{}", dec0), "--radius", fmt::format("{}", radius)},
                          kMatchNumbers);
  EXPECT_EQ(rows.columns, std::vector<std::string>({"object", "ra", "dec", "x_image", "y_image", "separation_arcsec"}));
  expect_object_rows(rows, expected, coadd);
  for (size_t row = 0; row < rows.cells.size() && row < near.size(); ++row) {
    EXPECT_NEAR(std::stod(rows.at(row, "separation_arcsec")), near[row].first, 1e-6) << near[row].second;
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogs, LightCurveCliFormat, ::testing::ValuesIn(kFormats), [](const auto& test) {
  std::string name = test.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
});

// ===========================================================================
// Populate: strategies, journal, partial catalogs.

const Format& kAscii = kFormats[0];

// The first `rows` object rows of an ASCII_HEAD catalog, written to `path`.
fs::path write_first_rows(const fs::path& source, size_t rows, const fs::path& path) {
  std::string kept;
  size_t data_rows = 0;
  for (const std::string& line : lines_of(read_file(source))) {
    if (!line.starts_with("#")) {
      if (data_rows == rows) break;
      ++data_rows;
    }
    kept += line + "\n";
  }
  EXPECT_EQ(data_rows, rows);
  write_file(path, kept);
  return path;
}

// An ASCII_HEAD catalog (default: the epoch 001 fixture) with the cell of
// `column` (1-based) in the row of NUMBER `number` replaced by `replacement`.
std::string ascii_with_cell(const std::string& number, size_t column, const std::string& replacement,
                            const fs::path& source = epoch_catalog(1, kAscii)) {
  std::string text;
  bool replaced = false;
  for (const std::string& line : lines_of(read_file(source))) {
    std::vector<std::string> cells;
    std::stringstream stream(line);
    for (std::string cell; stream >> cell;) cells.push_back(cell);
    if (line.starts_with("#") || cells.empty() || cells[0] != number) {
      text += line + "\n";
      continue;
    }
    cells.at(column - 1) = replacement;
    replaced = true;
    text += "   " + join(cells) + "\n";
  }
  EXPECT_TRUE(replaced) << "no row with NUMBER " << number;
  return text;
}

// An ASCII_HEAD catalog cut `extra` characters into object row `row` (1-based).
std::string truncated_in_row(const fs::path& source, size_t row, size_t extra) {
  const std::string text = read_file(source);
  size_t position = 0, rows_seen = 0;
  while (position < text.size()) {
    if (text[position] != '#' && ++rows_seen == row) break;
    position = text.find('\n', position) + 1;
  }
  EXPECT_EQ(rows_seen, row) << source;
  EXPECT_LT(position + extra, text.find('\n', position)) << "the cut is not inside the row";
  return text.substr(0, position + extra);
}

fs::path write_into(const fs::path& directory, const std::string& name, const std::string& text) {
  write_file(directory / name, text);
  return directory / name;
}

TEST(LightCurveCliPopulate, StrategiesWriteIdenticalStores) {
  // Objects chunked by 100 (3 chunks per epoch, the last ragged), epochs from
  // three formats two at a time, and a partial catalog that fills only part
  // of the chunks of its epoch.
  FieldStore field;
  create(field, kAscii, {"--object-chunk", "100"});
  const fs::path partial = write_first_rows(epoch_catalog(2, kAscii), 150, field.directory->path() / "partial.cat");
  std::map<std::string, Snapshot> stores;
  for (const std::string strategy : {"v0", "v1", "v2"}) {
    const fs::path copy = field.directory->path() / ("store_" + strategy);
    fs::copy(field.store, copy, fs::copy_options::recursive);
    succeed({"populate", copy.string(), "--strategy", strategy, "--epoch-from-name", R"(epoch_(\d+))", "-j", "2",
             epoch_catalog(0, kFormats[1]).string(), epoch_catalog(1, kFormats[2]).string(),
             epoch_catalog(3, kFormats[3]).string()});
    const std::string out =
        succeed({"populate", copy.string(), "--strategy", strategy, "--epoch", "002", partial.string()});
    EXPECT_THAT(out, HasSubstr("1800 values of 150 objects (ascii_head)"));
    Snapshot files = snapshot(copy);
    // The journal records the strategy used, and when each populate of the
    // two threads began and completed; everything else must be equal.
    ASSERT_TRUE(files.count(".lcstore/journal.json"));
    json journal = json::parse(files[".lcstore/journal.json"]);
    size_t entries = 0;
    for (auto& [epoch, history] : journal["epochs"].items()) {
      for (json& record : history) {
        EXPECT_EQ(record["strategy"], strategy);
        for (const char* key : {"strategy", "began", "completed"}) record.erase(key);
        ++entries;
      }
    }
    EXPECT_EQ(entries, 4u);
    files[".lcstore/journal.json"] = journal.dump();
    stores[strategy] = std::move(files);
  }
  EXPECT_TRUE(stores["v0"].count("lightcurves/c/2/0/0/3")) << "epoch 003, objects 200..280 not written";
  EXPECT_FALSE(stores["v0"].count("lightcurves/c/2/0/0/2")) << "the partial catalog wrote a chunk of fill values only";
  EXPECT_TRUE(same_snapshot(stores["v0"], stores["v1"])) << "v0 vs v1";
  EXPECT_TRUE(same_snapshot(stores["v0"], stores["v2"])) << "v0 vs v2";
}

TEST(LightCurveCliPopulate, MissingValuesAreNanAndNull) {
  FieldStore field;
  create(field, kAscii);
  const fs::path partial = write_first_rows(epoch_catalog(2, kAscii), 150, field.directory->path() / "partial.cat");
  succeed({"populate", field.store.string(), "--epoch", "002", partial.string()});
  succeed({"populate", field.store.string(), "--epoch", "000", epoch_catalog(0, kAscii).string()});
  // Object 200 is in neither epoch 001 nor 003 (never populated) nor 002 (partial).
  const Rows rows =
      query({"lightcurve", field.store.string(), "200", "150", "--measurement", "iso"}, kLightCurveNumbers, kStaleNote);
  ASSERT_EQ(rows.cells.size(), 8u);
  const CatalogData epoch0(epoch_catalog(0, kAscii)), epoch2(epoch_catalog(2, kAscii));
  for (size_t row = 0; row < 8; ++row) {
    const std::string object = rows.at(row, "object"), epoch = rows.at(row, "epoch");
    const bool present = epoch == "000" || (epoch == "002" && object == "150");
    SCOPED_TRACE(object + " " + epoch);
    if (present) {
      const CatalogData& catalog = epoch == "000" ? epoch0 : epoch2;
      EXPECT_EQ(as_float(rows.at(row, "mag")), catalog.value(object, "iso", "mag"));
    } else {
      EXPECT_EQ(rows.at(row, "mag"), "nan");
      EXPECT_EQ(rows.at(row, "mag_err"), "nan");
    }
  }
  // In JSON a missing value is null, not a string.
  const json records =
      parse_json(lcstore({"lightcurve", field.store.string(), "200", "--measurement", "iso", "--json"}).out);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_TRUE(records[1]["mag"].is_null()) << records.dump();
  EXPECT_TRUE(records[2]["mag_err"].is_null()) << records.dump();
  EXPECT_TRUE(records[0]["mag"].is_number()) << records.dump();
  // The epoch query: rows of objects past the first 150 are nan.
  const Rows epoch = query({"epoch", field.store.string(), "002"}, kEpochNumbers);
  ASSERT_EQ(epoch.cells.size(), kObjects * kMeasurements.size());
  EXPECT_NE(epoch.at(149 * 6, "mag"), "nan");
  EXPECT_EQ(epoch.at(150 * 6, "mag"), "nan");
  EXPECT_EQ(epoch.at(280 * 6 + 5, "mag_err"), "nan");
  EXPECT_EQ(parse_json(succeed({"info", field.store.string(), "--json"}))["populated_epochs"], json({"000", "002"}));
}

ino_t inode_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_ino;
}

TEST(LightCurveCliPopulate, JournalSkipsRepeatsAndForceRewrites) {
  FieldStore field;
  create(field, kAscii);
  const std::string catalog = epoch_catalog(1, kAscii).string();
  succeed({"populate", field.store.string(), "--epoch", "001", catalog});
  const fs::path chunk = field.store / "lightcurves/c/0/0/0/1";
  ASSERT_TRUE(fs::exists(chunk));
  const uint64_t generation = info(field.store)["journal_generation"];
  const Snapshot before = snapshot(field.store);
  const ino_t inode = inode_of(chunk);

  // The same catalog again: skipped, nothing written.
  const std::string again = succeed({"populate", field.store.string(), "--epoch", "001", catalog});
  EXPECT_EQ(again, "epoch 001 <- " + catalog + ": already populated from this catalog, skipped (--force rewrites)\n");
  const json again_json = parse_json(succeed({"populate", field.store.string(), "--epoch", "001", catalog, "--json"}));
  EXPECT_EQ(again_json["already_done"], 1);
  EXPECT_EQ(again_json["values_written"], 0);
  EXPECT_EQ(again_json["catalogs"][0]["status"], "already_done");
  // Also when named by --epoch-from-name among other catalogs.
  const std::string batch = succeed({"populate", field.store.string(), "--epoch-from-name", R"(epoch_(\d+))", catalog});
  EXPECT_THAT(batch, HasSubstr("already populated"));
  EXPECT_TRUE(same_snapshot(before, snapshot(field.store)));
  EXPECT_EQ(inode_of(chunk), inode);

  // --force writes it again: same values, a new chunk file, two journal steps.
  const std::string forced = succeed({"populate", field.store.string(), "--epoch", "001", catalog, "--force"});
  EXPECT_EQ(forced, "epoch 001 <- " + catalog + ": 3372 values of 281 objects (ascii_head)\n");
  EXPECT_NE(inode_of(chunk), inode) << "--force did not rewrite the chunk";
  EXPECT_EQ(read_file(chunk), before.at("lightcurves/c/0/0/0/1"));
  EXPECT_EQ(info(field.store)["journal_generation"], generation + 2);

  // The same epoch from another file (another content) is another journal entry.
  const std::string other =
      succeed({"populate", field.store.string(), "--epoch", "001", epoch_catalog(1, kFormats[2]).string()});
  EXPECT_THAT(other, HasSubstr("3372 values of 281 objects (fits_ldac)"));
}

// The populate --json report of one catalog.
json populate_report(const fs::path& store, const std::vector<std::string>& args) {
  std::vector<std::string> command = {"populate", store.string(), "--json"};
  command.insert(command.end(), args.begin(), args.end());
  const json report = parse_json(succeed(command));
  EXPECT_EQ(report["catalogs"].size(), 1u) << report.dump();
  return report["catalogs"][0];
}

TEST(LightCurveCliJournal, AnotherPopulateOfTheCellsInBetweenMakesARerunWrite) {
  FieldStore field;
  create(field, kAscii);
  // Epoch 000 of the fixtures holds SExtractor's 99s.
  const std::vector<std::string> with_nan = {"--epoch", "000", epoch_catalog(0, kAscii).string(), "--invalid-to-nan"};
  const std::vector<std::string> without = {"--epoch", "000", epoch_catalog(0, kAscii).string()};
  EXPECT_EQ(populate_report(field.store, with_nan)["status"], "written");
  const json nines = populate_report(field.store, without);
  EXPECT_EQ(nines["status"], "written");
  EXPECT_EQ(nines["finite_cells_overwritten"], 0) << "NaN became 99: no finite cell changed";
  const json again = populate_report(field.store, with_nan);
  EXPECT_EQ(again["status"], "written") << "skipped while the store holds the 99s";
  const uint64_t overwritten = again["finite_cells_overwritten"];
  EXPECT_GT(overwritten, 0u);
  EXPECT_EQ(populate_report(field.store, with_nan)["status"], "already_done");
  const json epoch = parse_json(succeed({"epoch", field.store.string(), "000", "--json"}));
  EXPECT_EQ(epoch.dump().find("99.0"), std::string::npos) << "a 99 survived --invalid-to-nan";

  // A, then B, then A: A is written again, over B's finite values.
  const std::vector<std::string> a = {"--epoch", "001", epoch_catalog(1, kAscii).string()};
  const std::vector<std::string> b = {"--epoch", "001", epoch_catalog(2, kAscii).string()};
  populate_report(field.store, a);
  const json b_report = populate_report(field.store, b);
  EXPECT_GT(b_report["finite_cells_overwritten"].get<uint64_t>(), 0u);
  const json a_again = populate_report(field.store, a);
  EXPECT_EQ(a_again["status"], "written");
  EXPECT_EQ(a_again["finite_cells_overwritten"], b_report["finite_cells_overwritten"]);
  EXPECT_THAT(
      succeed({"populate", field.store.string(), "--epoch", "001", epoch_catalog(2, kAscii).string()}),
      HasSubstr(fmt::format("; overwrote {} finite cells", b_report["finite_cells_overwritten"].get<uint64_t>())));
  EXPECT_EQ(populate_report(field.store, b)["status"], "already_done");

  // info names the catalogs that wrote each epoch, oldest first (a rerun
  // of the same catalog replaces its earlier record).
  const json summary = info(field.store);
  EXPECT_EQ(summary["epoch_catalogs"]["000"],
            json({epoch_catalog(0, kAscii).string(), epoch_catalog(0, kAscii).string()}))
      << "the 99s and the NaNs are two readings of the file";
  EXPECT_EQ(summary["epoch_catalogs"]["001"],
            json({epoch_catalog(1, kAscii).string(), epoch_catalog(2, kAscii).string()}));
  EXPECT_THAT(
      succeed({"info", field.store.string()}),
      HasSubstr("  001 written by: " + epoch_catalog(1, kAscii).string() + ", " + epoch_catalog(2, kAscii).string()));
}

TEST(LightCurveCliJournal, NoOverwriteRefusesACatalogThatChangesFiniteValues) {
  FieldStore field;
  create(field, kAscii);
  const fs::path partial = write_first_rows(epoch_catalog(2, kAscii), 150, field.directory->path() / "partial.cat");
  // Into empty cells, and the same values again: nothing finite changes.
  succeed({"populate", field.store.string(), "--epoch", "002", partial.string(), "--no-overwrite"});
  succeed({"populate", field.store.string(), "--epoch", "002", epoch_catalog(2, kAscii).string(), "--no-overwrite"});
  const Snapshot before = snapshot(field.store);
  const CommandResult refused = lcstore(
      {"populate", field.store.string(), "--epoch", "002", epoch_catalog(1, kAscii).string(), "--no-overwrite"});
  expect_failure(refused,
                 {"FAILED, nothing written", "would overwrite", "finite values of epoch 002", "--no-overwrite"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(same_snapshot(before, snapshot(field.store)));
}

TEST(LightCurveCliJournal, PopulateThatCannotTakeTheChunkLockLeavesTheReadLayoutCurrent) {
  FieldStore field;
  create(field, kAscii);
  succeed({"populate", field.store.string(), "--epoch", "000", epoch_catalog(0, kAscii).string()});
  succeed({"rechunk", field.store.string()});
  const json before = info(field.store);
  ASSERT_EQ(before["read_layout"]["status"], "current");
  // A directory where the write layout's lock file goes: no writer can take
  // a chunk's lock, whoever runs the test.
  const fs::path lock_file = field.store / "lightcurves" / ".lcstore.lock";
  fs::remove(lock_file);
  fs::create_directories(lock_file / "blocked");
  const CommandResult failed =
      lcstore({"populate", field.store.string(), "--epoch", "001", epoch_catalog(1, kAscii).string()});
  expect_failure(failed, {"FAILED, nothing written", ".lcstore.lock"});
  const json after = info(field.store);
  EXPECT_EQ(after["read_layout"]["status"], "current");
  EXPECT_EQ(after["journal_generation"], before["journal_generation"]);
  EXPECT_EQ(after["populated_epochs"], json({"000"}));

  // Once it can, the same populate writes and the read layout is stale.
  fs::remove_all(lock_file);
  succeed({"populate", field.store.string(), "--epoch", "001", epoch_catalog(1, kAscii).string()});
  EXPECT_EQ(info(field.store)["read_layout"]["status"], "stale");
}

TEST(LightCurveCliPopulate, MixedBatchWritesTheGoodCatalogsAndFailsTheBad) {
  FieldStore field;
  create(field, kAscii);
  // A truncated copy named like an epoch catalog.
  const fs::path bad = field.directory->path() / "epoch_002.cat";
  write_file(bad, truncated_in_row(epoch_catalog(2, kAscii), 150, 77));
  const CommandResult result = lcstore({"populate", field.store.string(), "--epoch-from-name", R"(epoch_(\d+))", "-j",
                                        "2", "--json", epoch_catalog(1, kAscii).string(), bad.string()});
  EXPECT_EQ(result.exit_code, 1) << result;
  const json report = parse_json(result.out);
  EXPECT_EQ(report["failed"], 1);
  EXPECT_EQ(report["values_written"], kValuesPerCatalog);
  ASSERT_EQ(report["catalogs"].size(), 2u);
  EXPECT_EQ(report["catalogs"][0]["status"], "written");
  EXPECT_EQ(report["catalogs"][1]["status"], "failed");
  EXPECT_EQ(report["catalogs"][1]["epoch"], "002");
  EXPECT_THAT(report["catalogs"][1]["error"].get<std::string>(), HasSubstr(bad.string()));
  EXPECT_TRUE(fs::exists(field.store / "lightcurves/c/0/0/0/1"));
  EXPECT_FALSE(fs::exists(field.store / "lightcurves/c/0/0/0/2"));
  EXPECT_EQ(info(field.store)["populated_epochs"], json({"001"}));
  // Without --json: the failure on stderr naming the file, the summary on stdout.
  const CommandResult text_result = lcstore({"populate", field.store.string(), "--epoch-from-name", R"(epoch_(\d+))",
                                             epoch_catalog(1, kAscii).string(), bad.string()});
  EXPECT_EQ(text_result.exit_code, 1) << text_result;
  EXPECT_THAT(text_result.err,
              HasSubstr("epoch 002 <- " + bad.string() + ": FAILED, nothing written: bad input: " + bad.string()));
  EXPECT_THAT(text_result.out, HasSubstr("2 catalogs: 0 written, 1 already done, 1 failed; 0 values"));
}

// ===========================================================================
// Bad catalogs leave the store unchanged.

struct BadCatalog {
  std::string name;
  // Writes the catalog into `directory`; returns its path.
  std::function<fs::path(const fs::path& directory)> write;
  std::string epoch = "001";
  std::vector<std::string> message;  // besides the file name
  // Whether the reason itself names the file (an unknown epoch is about the
  // argument; the report's head names the file).
  bool reason_names_file = true;
};

void PrintTo(const BadCatalog& bad, std::ostream* out) { *out << bad.name; }

// An ASCII_HEAD catalog keeping only the named columns of the epoch 001
// fixture (each a scalar column: header name and 1-based column number), in
// a new numbering.
std::string ascii_with_columns(const std::vector<std::pair<std::string, size_t>>& keep) {
  std::string text;
  for (size_t i = 0; i < keep.size(); ++i) text += fmt::format("# {:>3} {:<22} kept column\n", i + 1, keep[i].first);
  for (const std::string& line : lines_of(read_file(epoch_catalog(1, kAscii)))) {
    if (line.starts_with("#")) continue;
    std::vector<std::string> cells;
    std::stringstream stream(line);
    for (std::string cell; stream >> cell;) cells.push_back(cell);
    std::string row;
    for (const auto& [name, column] : keep) row += " " + cells.at(column - 1);
    text += row + "\n";
  }
  return text;
}

std::vector<BadCatalog> bad_catalogs() {
  return {
      {"Truncated",
       [](const fs::path& d) {
         // Cut 40 characters into the 101st object row (line 115 after 14 header lines).
         return write_into(d, "truncated.cat", truncated_in_row(epoch_catalog(1, kAscii), 101, 40));
       },
       "001",
       {":115:", "truncated"}},
      {"NoMagnitudeColumns",
       [](const fs::path& d) {
         return write_into(d, "no_mags.cat",
                           ascii_with_columns({{"NUMBER", 1},
                                               {"ALPHA_J2000", 2},
                                               {"DELTA_J2000", 3},
                                               {"X_IMAGE", 4},
                                               {"Y_IMAGE", 5},
                                               {"FLAGS", 20}}));
       },
       "001",
       {"has none of the store's measurements"}},
      {"NoNumberColumn",
       [](const fs::path& d) {
         return write_into(
             d, "no_number.cat",
             ascii_with_columns({{"ALPHA_J2000", 2}, {"DELTA_J2000", 3}, {"MAG_AUTO", 6}, {"MAGERR_AUTO", 7}}));
       },
       "001",
       {"NUMBER"}},
      {"MagnitudeWithoutError",
       [](const fs::path& d) {
         return write_into(d, "no_magerr.cat",
                           ascii_with_columns({{"NUMBER", 1}, {"MAG_AUTO", 6}, {"MAG_ISO", 8}, {"MAGERR_ISO", 9}}));
       },
       "001",
       {"measurement auto has no column for mag_err"}},
      {"NotANumber",
       [](const fs::path& d) { return write_into(d, "not_a_number.cat", ascii_with_cell("10", 6, "abc")); },
       "001",
       {"MAG_AUTO", "'abc' is not a number"}},
      {"Empty", [](const fs::path& d) { return write_into(d, "empty.cat", ""); }, "001", {"empty"}},
      {"UnknownEpoch",
       [](const fs::path& d) { return write_into(d, "good.cat", read_file(epoch_catalog(1, kAscii))); },
       "999",
       {"999", "no such epoch"},
       false},
      {"ObjectNotInTheStore",
       [](const fs::path& d) { return write_into(d, "unknown_object.cat", ascii_with_cell("17", 1, "9999")); },
       "001",
       {"not in the store", "9999", "--skip-unknown-objects"}},
      {"RepeatedObject",
       [](const fs::path& d) { return write_into(d, "repeated_object.cat", ascii_with_cell("17", 1, "18")); },
       "001",
       {"object 18 appears in two rows"}},
      {"MissingFile", [](const fs::path& d) { return d / "no_such_catalog.cat"; }, "001", {}},
  };
}

class LightCurveCliBadCatalog : public ::testing::TestWithParam<BadCatalog> {};

TEST_P(LightCurveCliBadCatalog, FailsNamingTheFileAndLeavesTheStoreUnchanged) {
  const BadCatalog& bad = GetParam();
  // A fresh store (no journal yet) and one with epoch 000 populated, built
  // once per process and copied for each case.
  static const FieldStore base = [] {
    FieldStore field;
    create(field, kAscii);
    fs::copy(field.store, field.directory->path() / "fresh.lcs", fs::copy_options::recursive);
    succeed({"populate", field.store.string(), "--epoch", "000", epoch_catalog(0, kAscii).string()});
    return field;
  }();
  TempDir directory;
  const fs::path populated = directory.path() / "populated.lcs", fresh = directory.path() / "fresh.lcs";
  fs::copy(base.store, populated, fs::copy_options::recursive);
  fs::copy(base.directory->path() / "fresh.lcs", fresh, fs::copy_options::recursive);
  const fs::path catalog = bad.write(directory.path());
  const std::vector<std::pair<fs::path, std::vector<std::string>>> runs = {
      {populated, {}}, {populated, {"--force", "--strategy", "v1", "--json"}}, {fresh, {"--strategy", "v2"}}};
  for (const auto& [store, extra] : runs) {
    {
      SCOPED_TRACE(store.filename().string() + " " + join(extra));
      const Snapshot before = snapshot(store);
      std::vector<std::string> args = {"populate", store.string(), "--epoch", bad.epoch, catalog.string()};
      args.insert(args.end(), extra.begin(), extra.end());
      const CommandResult result = lcstore(args);
      EXPECT_EQ(result.exit_code, 1) << result;
      if (std::find(extra.begin(), extra.end(), "--json") != extra.end()) {
        const json report = parse_json(result.out);
        EXPECT_EQ(report["failed"], 1);
        ASSERT_EQ(report["catalogs"].size(), 1u);
        EXPECT_EQ(report["catalogs"][0]["status"], "failed");
        const std::string error = report["catalogs"][0]["error"];
        EXPECT_EQ(report["catalogs"][0]["catalog"], catalog.string());
        if (bad.reason_names_file) {
          EXPECT_THAT(error, HasSubstr(catalog.filename().string()));
        }
        for (const std::string& part : bad.message) EXPECT_THAT(error, HasSubstr(part));
      } else {
        EXPECT_EQ(result.out, "");
        EXPECT_THAT(result.err,
                    HasSubstr("epoch " + bad.epoch + " <- " + catalog.string() + ": FAILED, nothing written: "));
        // The reason names the file itself, not only the report's head.
        const size_t head = result.err.find("nothing written: ");
        const std::string reason = head == std::string::npos ? result.err : result.err.substr(head);
        if (bad.reason_names_file) {
          EXPECT_THAT(reason, HasSubstr(catalog.filename().string())) << result;
        }
        for (const std::string& part : bad.message) EXPECT_THAT(reason, HasSubstr(part)) << result;
      }
      EXPECT_TRUE(same_snapshot(before, snapshot(store)));
    }
  }
  EXPECT_FALSE(fs::exists(fresh / ".lcstore" / "journal.json")) << "a failed populate started the journal";
}

INSTANTIATE_TEST_SUITE_P(Catalogs, LightCurveCliBadCatalog, ::testing::ValuesIn(bad_catalogs()),
                         [](const auto& test) { return test.param.name; });

// ===========================================================================
// Usage errors.

TEST(LightCurveCliUsage, UsageErrorsExitTwoWithAShortMessage) {
  FieldStore field;
  create(field, kAscii);
  const std::string store = field.store.string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"lightcurv", store, "5"}, "unknown command 'lightcurv' (did you mean 'lightcurve'?)"},
      {{"cone", store, "--ra", "400", "--dec", "65", "--radius", "10"}, "--ra: 400 is outside [0, 360)"},
      {{"cone", store, "--ra", "265", "--dec", "65", "--radius", "-1"}, "--radius: -1 is outside [0, 648000]"},
      {{"region", store, "--ra", "1", "2", "--dec", "5", "1"}, "--dec: DEC_MIN 5 is above DEC_MAX 1"},
      {{"region", store, "--ra", "-1", "2", "--dec", "0", "1"}, "--ra: -1 is outside [0, 360]"},
      {{"populate", store, "--epoch", "000", epoch_catalog(0, kAscii).string(), "--match", "position:-1"},
       "\"-1\" is not a positive radius in arcseconds"},
      {{"populate", store, "--epoch", "000", epoch_catalog(0, kAscii).string(), "--match", "nearest"},
       "\"nearest\" is not key, position or position:RADIUS"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("lcstore " + join(c.args));
    const CommandResult result = lcstore(c.args);
    EXPECT_EQ(result.exit_code, 2) << result;
    EXPECT_THAT(result.err, HasSubstr(c.message)) << result;
    EXPECT_LT(result.err.size(), 200u) << result;
  }
  EXPECT_THAT(succeed({"lightcurve", "--help"}), HasSubstr("table|csv|json"));
  EXPECT_THAT(succeed({"lightcurve", "--help"}), Not(HasSubstr("->")));
}

// The field's epoch catalogs list the coadd's objects at positions measured
// on each epoch, all within 1" of the coadd's: matched by position they fill
// the same cells as by NUMBER.
TEST(LightCurveCliPopulate, MatchingByPositionFillsTheCellsOfTheKeys) {
  FieldStore by_key, by_position;
  create(by_key, kAscii);
  create(by_position, kAscii);
  const std::string catalog = epoch_catalog(1, kAscii).string();
  succeed({"populate", by_key.store.string(), "--epoch", "001", catalog});
  const std::string report =
      succeed({"populate", by_position.store.string(), "--epoch", "001", catalog, "--match", "position"});
  EXPECT_THAT(report, Not(HasSubstr("skipped"))) << report;
  EXPECT_EQ(succeed({"epoch", by_position.store.string(), "001", "--format", "csv"}),
            succeed({"epoch", by_key.store.string(), "001", "--format", "csv"}));
  // A row 0.5" from an object, one far from all, two near one object: one
  // object written, the rest counted.
  const std::string listed =
      succeed({"region", by_position.store.string(), "--ra", "0", "360", "--dec", "-90", "90", "--format", "csv"});
  std::istringstream lines(listed);
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  std::istringstream fields(first);
  std::string key, ra, dec;
  std::getline(fields, key, ',');
  std::getline(fields, ra, ',');
  std::getline(fields, dec, ',');
  const fs::path catalog_file = by_position.directory->path() / "few.csv";
  write_file(catalog_file, fmt::format("NUMBER,ALPHA_J2000,DELTA_J2000,MAG_AUTO,MAGERR_AUTO\n"
                                       "1,{0},{1},20.5,0.1\n2,10.0,-80.0,21.0,0.1\n3,{0},{2},19.0,0.1\n",
                                       ra, std::stod(dec) + 0.5 / 3600, std::stod(dec) - 0.7 / 3600));
  const json few = parse_json(succeed({"populate", by_position.store.string(), "--epoch", "002", catalog_file.string(),
                                       "--match", "position", "--json"}));
  const json& written = few["catalogs"].at(0);
  EXPECT_EQ(written["objects_written"], 1) << few.dump(1);
  EXPECT_EQ(written["unmatched_rows_skipped"], 1) << few.dump(1);
  EXPECT_EQ(written["farther_rows_skipped"], 1) << few.dump(1);
  const CommandResult curve =
      lcstore({"lightcurve", by_position.store.string(), key, "--measurement", "auto", "--format", "csv"});
  EXPECT_THAT(curve.out, ContainsRegex("\n" + key + ",002,[^\n]*,auto,20.5,0.1\n")) << curve;
}

TEST(LightCurveCliUsage, ObjectsFilesIgnoreBlanksAndNameTheWrongLine) {
  FieldStore field;
  create(field, kAscii);
  succeed({"populate", field.store.string(), "--epoch", "000", epoch_catalog(0, kAscii).string()});
  succeed({"rechunk", field.store.string(), "-q"});
  const fs::path ids = field.directory->path() / "ids.txt";
  write_file(ids, "  5 \n\n\t7\r\n");
  const std::string csv =
      succeed({"lightcurve", field.store.string(), "--objects-file", ids.string(), "--format", "csv"});
  EXPECT_EQ(csv, succeed({"lightcurve", field.store.string(), "5", "7", "--format", "csv"}));
  write_file(ids, "5\n\n77777\n");
  const CommandResult result = lcstore({"lightcurve", field.store.string(), "--objects-file", ids.string()});
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.err, HasSubstr(ids.string() + ":3: "));
  EXPECT_THAT(result.err, HasSubstr("77777"));
  EXPECT_EQ(result.out, "");
}

TEST(LightCurveCliUsage, BadArgumentsFailWithAMessage) {
  FieldStore field;
  create(field, kAscii);
  succeed({"populate", field.store.string(), "--epoch", "000", epoch_catalog(0, kAscii).string()});
  const Snapshot before = snapshot(field.store);
  const std::string store = field.store.string();
  const std::string one = epoch_catalog(1, kAscii).string(), two = epoch_catalog(2, kAscii).string();
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases = {
      {{"populate", store, one}, {"give --epoch KEY or --epoch-from-name REGEX"}},
      {{"populate", store, "--epoch", "001", one, two}, {"--epoch", "takes exactly one catalog"}},
      {{"populate", store, "--epoch", "001", "--epoch-from-name", R"(epoch_(\d+))", one}, {"--epoch", "excludes"}},
      {{"populate", store, "--epoch", "001", "--strategy", "v3", one},
       {"--strategy", "\"v3\" is not masked_slab (v0), read_modify_write (v1) or scatter (v2)"}},
      {{"populate", store, "--epoch-from-name", R"(field_(\d+))", one}, {one, "does not match --epoch-from-name"}},
      {{"populate", store, "--epoch-from-name", R"(epoch_\d+)", one}, {"with a group"}},
      {{"populate", store, "--epoch-from-name", "epoch_(", one}, {"--epoch-from-name"}},
      {{"populate", store, "--epoch", "001"}, {"CATALOG"}},
      {{"populate", (field.directory->path() / "nowhere").string(), "--epoch", "001", one},
       {"nowhere", "no such directory"}},
      {{"rechunk", store, "--memory", "lots"}, {"--memory", "lots"}},
      {{"rechunk", store, "--memory", "10"}, {"--memory", "cannot hold"}},
      {{"rechunk", store, "--object-chunk", "0"}, {"--object-chunk", "must be positive"}},
      {{"lightcurve", store}, {"name at least one object"}},
      {{"lightcurve", store, "77777"}, {"77777", "no such object"}},
      {{"lightcurve", store, "5", "--measurement", "petro"}, {"petro", "no such measurement"}},
      {{"lightcurve", store, "5", "--format", "xml"}, {"--format", "xml"}},
      {{"epoch", store, "999"}, {"999", "no such epoch"}},
      {{"cone", store, "--ra", "265", "--dec", "95", "--radius", "10"}, {"--dec"}},
      {{"cone", store, "--ra", "265", "--dec", "65", "--radius", "-1"}, {"--radius"}},
      {{"region", store, "--ra", "1", "--dec", "0", "1"}, {"--ra"}},
      {{"create", (field.directory->path() / "other.lcs").string(), "--objects", fixture("coadd", kAscii).string()},
       {"--epochs"}},
      {{"create", store, "--objects", fixture("coadd", kAscii).string(), "--epochs", "a,b"},
       {"already holds a Zarr node"}},
      {{"info", (field.directory->path() / "nowhere").string()}, {"no such directory"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("lcstore " + join(c.args));
    const CommandResult result = lcstore(c.args);
    expect_failure(result, c.message);
    EXPECT_EQ(result.out.find("created"), std::string::npos) << result;
  }
  EXPECT_TRUE(same_snapshot(before, snapshot(field.store)));
  EXPECT_FALSE(fs::exists(field.directory->path() / "other.lcs" / "zarr.json"));
}

// ===========================================================================
// The read layout.

TEST(LightCurveCliRechunk, ReadLayoutIsCurrentThenStale) {
  FieldStore field;
  create(field, kAscii);
  populate_all(field, kAscii);
  const std::vector<std::string> curve = {"lightcurve", field.store.string(), "5", "42", "281", "--json"};
  const CommandResult from_write_layout = lcstore(curve);
  EXPECT_THAT(from_write_layout.err, HasSubstr(kStaleNote));
  EXPECT_EQ(info(field.store)["read_layout"]["status"], "absent");

  const std::string out =
      succeed({"rechunk", field.store.string(), "--object-chunk", "64", "--memory", "64MiB", "-j", "2"});
  EXPECT_THAT(
      out, ::testing::StartsWith("rechunked " + field.store.string() + ": read layout of 5 shards of 64 objects in "));
  json summary = info(field.store);
  EXPECT_EQ(summary["read_layout"]["status"], "current");
  EXPECT_EQ(summary["read_layout"]["array"], "lightcurves_by_object");
  EXPECT_EQ(summary["read_layout"]["shape"], json({281, 6, 2, 4}));
  EXPECT_EQ(summary["read_layout"]["shards"], json({64, 6, 2, 4}));
  EXPECT_EQ(summary["read_layout"]["chunks"], json({1, 6, 2, 4}));
  EXPECT_EQ(summary["queries_use"], "read layout");
  EXPECT_THAT(succeed({"info", field.store.string()}), HasSubstr("(current)"));

  // The read layout answers the same as the write layout did, without the note.
  const CommandResult from_read_layout = lcstore(curve);
  EXPECT_EQ(from_read_layout.exit_code, 0) << from_read_layout;
  EXPECT_EQ(from_read_layout.err, "");
  EXPECT_EQ(parse_json(from_read_layout.out), parse_json(from_write_layout.out));

  // A populate that is skipped changes nothing: still current.
  succeed({"populate", field.store.string(), "--epoch", "001", epoch_catalog(1, kAscii).string()});
  EXPECT_EQ(info(field.store)["read_layout"]["status"], "current");

  // A populate that writes makes it stale, even with the same values.
  succeed({"populate", field.store.string(), "--epoch", "001", epoch_catalog(1, kAscii).string(), "--force"});
  summary = info(field.store);
  EXPECT_EQ(summary["read_layout"]["status"], "stale");
  EXPECT_EQ(summary["queries_use"], "write layout");
  const CommandResult stale = lcstore(curve);
  EXPECT_EQ(stale.exit_code, 0) << stale;
  EXPECT_THAT(stale.err, HasSubstr(kStaleNote));
  EXPECT_THAT(stale.err, HasSubstr("lcstore rechunk"));
  EXPECT_EQ(parse_json(stale.out), parse_json(from_write_layout.out));
  // The note goes to stderr only: csv stays machine-readable.
  const CommandResult csv = lcstore({"lightcurve", field.store.string(), "5", "--format", "csv"});
  EXPECT_THAT(csv.out, ::testing::StartsWith("object,epoch,epoch_aorkey,epoch_mjd,measurement,mag,mag_err\n"));
  EXPECT_THAT(csv.out, Not(HasSubstr("note")));

  // New values populated after a rechunk are read (from the write layout)
  // at once, not the read layout's old copy; the next rechunk takes them in.
  succeed({"rechunk", field.store.string()});
  EXPECT_EQ(info(field.store)["read_layout"]["status"], "current");
  const fs::path changed = field.directory->path() / "changed.cat";
  write_file(changed, ascii_with_cell("5", 6, "12.5", epoch_catalog(3, kAscii)));
  succeed({"populate", field.store.string(), "--epoch", "003", changed.string()});
  const std::vector<std::string> auto_curve = {"lightcurve", field.store.string(), "5", "--measurement", "auto",
                                               "--json"};
  const CommandResult after_populate = lcstore(auto_curve);
  EXPECT_THAT(after_populate.err, HasSubstr(kStaleNote));
  const json new_curve = parse_json(after_populate.out);
  ASSERT_EQ(new_curve.size(), 4u);
  EXPECT_EQ(new_curve[3]["mag"], 12.5);
  EXPECT_EQ(new_curve[2], parse_json(from_write_layout.out)[2]);
  succeed({"rechunk", field.store.string()});
  EXPECT_EQ(info(field.store)["read_layout"]["status"], "current");
  EXPECT_EQ(parse_json(succeed(auto_curve)), new_curve);
}

// ===========================================================================
// zarrita reads the populated, rechunked store.

TEST(LightCurveCliZarrita, ReadsThePopulatedStore) {
  CommandResult node = run_command({"node", "--version"});
  ASSERT_EQ(node.exit_code, 0) << "node is required (apt-get install nodejs)\n" << node;
  for (const char* package : {"zarrita", "@zarrita/storage"}) {
    ASSERT_TRUE(fs::exists(kInteropDir / "node_modules" / package / "package.json"))
        << package << " is not installed in " << kInteropDir << " (run `make deps` or `npm ci` there)";
  }
  EXPECT_EQ(json::parse(read_file(kInteropDir / "node_modules/zarrita/package.json"))["version"], "0.7.5");

  const Format& format = kFormats[2];  // FITS_LDAC: full float32 precision
  FieldStore field;
  create(field, format, {"--object-chunk", "100", "--codec", "zstd:3"});
  succeed({"populate", field.store.string(), "--epoch-from-name", R"(epoch_(\d+))", "-j", "2",
           epoch_catalog(0, format).string(), epoch_catalog(1, format).string(), epoch_catalog(3, format).string()});
  // Epoch 002 from a partial catalog (objects 1..200), so the store holds
  // missing values too.
  const fs::path partial = write_first_rows(epoch_catalog(2, kAscii), 200, field.directory->path() / "partial.cat");
  succeed({"populate", field.store.string(), "--epoch", "002", partial.string(), "--invalid-to-nan"});
  succeed({"rechunk", field.store.string(), "--object-chunk", "64"});
  ASSERT_EQ(info(field.store)["read_layout"]["status"], "current");

  const std::vector<std::string> objects = {"1", "5", "64", "65", "150", "201", "281"};
  std::vector<size_t> rows;
  const CatalogData coadd(fixture("coadd", format));
  for (const std::string& object : objects) rows.push_back(coadd.row_of.at(object));
  std::string row_list;
  for (size_t row : rows) row_list += (row_list.empty() ? "" : ",") + std::to_string(row);
  const CommandResult read = run_command({"node", kZarritaReader.string(), field.store.string(), row_list});
  ASSERT_EQ(read.exit_code, 0) << "zarrita could not read the store:\n" << read;
  const json got = parse_json(read.out);
  ASSERT_TRUE(got.is_object());

  EXPECT_EQ(got["consolidated"], true);
  EXPECT_EQ(got["attributes"]["lcstore_format"], 1);
  EXPECT_EQ(got["attributes"]["n_objects"], kObjects);
  EXPECT_EQ(got["attributes"]["n_epochs"], 4);
  const json& arrays = got["arrays"];
  const json dimensions = {"object", "measurement", "value", "epoch"};
  for (const char* layout : {"lightcurves", "lightcurves_by_object"}) {
    SCOPED_TRACE(layout);
    ASSERT_TRUE(arrays.contains(layout));
    EXPECT_EQ(arrays[layout]["shape"], json({281, 6, 2, 4}));
    EXPECT_EQ(arrays[layout]["data_type"], "float32");
    EXPECT_EQ(arrays[layout]["dimension_names"], dimensions);
    EXPECT_EQ(arrays[layout]["attributes"]["coordinates"], "dec epoch_aorkey epoch_mjd ra x_image y_image");
    EXPECT_EQ(arrays[layout]["attributes"]["_FillValue"], "AAAAAAAA+H8=");
  }
  EXPECT_EQ(arrays["lightcurves"]["chunks"], json({100, 6, 2, 1}));
  EXPECT_EQ(arrays["lightcurves_by_object"]["chunks"], json({1, 6, 2, 4}));  // inner chunks of the shards
  // The coordinates.
  EXPECT_EQ(arrays["object"]["values"], json(coadd.keys));
  EXPECT_EQ(arrays["measurement"]["values"], json(kMeasurements));
  EXPECT_EQ(arrays["value"]["values"], json(kValues));
  EXPECT_EQ(arrays["epoch"]["values"], json(kEpochs));
  EXPECT_EQ(arrays["epoch_aorkey"]["values"], json(truth().aorkeys));
  EXPECT_EQ(arrays["epoch_mjd"]["values"], json(truth().mjds));
  for (const char* name : {"object", "measurement", "value", "epoch"}) {
    EXPECT_EQ(arrays[name]["data_type"], "string") << name;
    EXPECT_EQ(arrays[name]["dimension_names"], json({name})) << name;
  }
  for (const char* name : {"ra", "dec", "x_image", "y_image"})
    EXPECT_EQ(arrays[name]["dimension_names"], json({"object"})) << name;
  for (const char* name : {"epoch_aorkey", "epoch_mjd"})
    EXPECT_EQ(arrays[name]["dimension_names"], json({"epoch"})) << name;
  std::vector<double> ra;
  for (const std::string& object : coadd.keys) ra.push_back(coadd.cell("ALPHA_J2000", object));
  EXPECT_EQ(arrays["ra"]["values"], json(ra));

  // Both layouts hold the same cells.
  const json& by_epoch = arrays["lightcurves"]["values"];
  const json& by_object = arrays["lightcurves_by_object"]["values"];
  ASSERT_EQ(by_epoch.size(), kObjects * 6 * 2 * 4);
  EXPECT_TRUE(by_epoch == by_object) << "the two layouts differ";
  auto cell = [&](size_t o, size_t m, size_t v, size_t e) { return by_object[((o * 6 + m) * 2 + v) * 4 + e]; };
  auto as_json_float = [](const json& zarrita) -> json {
    if (zarrita == "NaN") return nullptr;
    return zarrita;
  };
  auto same = [](const json& zarrita, const json& lcstore_value) {
    if (zarrita == "NaN" || lcstore_value.is_null()) return zarrita == "NaN" && lcstore_value.is_null();
    return static_cast<float>(zarrita.get<double>()) == static_cast<float>(lcstore_value.get<double>());
  };

  // Every cell against `lcstore epoch --json`.
  size_t nan_cells = 0;
  for (size_t e = 0; e < kEpochs.size(); ++e) {
    const json records = parse_json(succeed({"epoch", field.store.string(), kEpochs[e], "--json"}));
    ASSERT_EQ(records.size(), kObjects * 6);
    size_t mismatches = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const size_t o = i / 6, m = i % 6;
      ASSERT_EQ(records[i]["object"], coadd.keys[o]);
      ASSERT_EQ(records[i]["measurement"], kMeasurements[m]);
      for (size_t v = 0; v < 2; ++v) {
        nan_cells += cell(o, m, v, e) == "NaN";
        if (!same(cell(o, m, v, e), records[i][kValues[v]]) && ++mismatches <= 5) {
          ADD_FAILURE() << "epoch " << kEpochs[e] << " object " << coadd.keys[o] << " " << kMeasurements[m] << " "
                        << kValues[v] << ": zarrita " << cell(o, m, v, e) << ", lcstore " << records[i][kValues[v]];
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << "epoch " << kEpochs[e];
  }
  EXPECT_GE(nan_cells, 81u * 12) << "objects 201..281 of epoch 002 should be missing";

  // The selected light curves against `lcstore lightcurve --json` (the read
  // layout), and zarrita's partial reads of one object against its full read.
  std::vector<std::string> args = {"lightcurve", field.store.string(), "--json"};
  args.insert(args.end(), objects.begin(), objects.end());
  const json curves = parse_json(succeed(args));
  ASSERT_EQ(curves.size(), objects.size() * 6 * 4);
  size_t i = 0;
  for (size_t k = 0; k < objects.size(); ++k) {
    const size_t o = rows[k];
    for (const char* layout : {"lightcurves", "lightcurves_by_object"}) {
      const json& block = got["rows"][layout][std::to_string(o)];
      ASSERT_EQ(block.size(), 6u * 2 * 4) << layout << " row " << o;
      for (size_t j = 0; j < block.size(); ++j) EXPECT_EQ(block[j], by_object[o * 48 + j]) << layout << " row " << o;
    }
    for (size_t m = 0; m < 6; ++m) {
      for (size_t e = 0; e < 4; ++e, ++i) {
        const json& record = curves[i];
        ASSERT_EQ(record["object"], objects[k]);
        ASSERT_EQ(record["measurement"], kMeasurements[m]);
        ASSERT_EQ(record["epoch"], kEpochs[e]);
        EXPECT_EQ(record["epoch_mjd"], arrays["epoch_mjd"]["values"][e]);
        EXPECT_EQ(record["epoch_aorkey"], arrays["epoch_aorkey"]["values"][e]);
        for (size_t v = 0; v < 2; ++v) {
          EXPECT_TRUE(same(cell(o, m, v, e), record[kValues[v]]))
              << objects[k] << " " << kMeasurements[m] << " " << kEpochs[e] << " " << kValues[v] << ": zarrita "
              << as_json_float(cell(o, m, v, e)) << ", lcstore " << record[kValues[v]];
        }
      }
    }
  }
  // Spot values straight from the catalogs: object 5, MAG_AUTO, epoch 000
  // (FITS_LDAC) and object 201 epoch 002 (missing from the partial catalog).
  const CatalogData epoch0(epoch_catalog(0, format));
  EXPECT_EQ(static_cast<float>(cell(coadd.row_of.at("5"), 0, 0, 0).get<double>()), epoch0.value("5", "auto", "mag"));
  EXPECT_EQ(cell(coadd.row_of.at("201"), 0, 0, 2), "NaN");
}

}  // namespace
}  // namespace lcstore::testing
