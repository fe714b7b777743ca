// The catalog layer on real SExtractor 2.25 output (fixtures/sextractor-field-a):
// every catalog in every format reads to the same table, the format is found
// from the content, the column mapping, the 99.0 rule, and broken catalogs
// fail with a lcstore::Error naming file, line and column.
#include <fitsio.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lcstore/catalog/column_mapping.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/catalog/table.h"
#include "lcstore/error.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using catalog::Catalog;
using catalog::ColumnMapping;
using catalog::ColumnType;
using catalog::Format;
using catalog::MappingOptions;
using catalog::read_catalog;
using catalog::Table;
using catalog::Value;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

const fs::path kField = fs::path(LCSTORE_FIXTURES) / "sextractor-field-a";
const std::vector<std::string> kCatalogs = {"coadd", "epoch_000", "epoch_001", "epoch_002", "epoch_003"};
constexpr size_t kRows = 281;
constexpr size_t kAsciiHeaderLines = 14;  // the ASCII_HEAD fixtures' "#  n NAME" lines

struct FormatFile {
  const char* suffix;
  Format format;
};
const std::vector<FormatFile> kFormats = {{".ascii_head.cat", Format::kAsciiHead},
                                          {".fits_1_0.cat", Format::kFitsTable},
                                          {".fits_ldac.cat", Format::kFitsLdac},
                                          {".ecsv", Format::kEcsv}};

const std::vector<std::string> kColumns = {
    "NUMBER",        "ALPHA_J2000",   "DELTA_J2000",   "X_IMAGE",    "Y_IMAGE",      "MAG_AUTO",   "MAGERR_AUTO",
    "MAG_ISO",       "MAGERR_ISO",    "MAG_APER",      "MAG_APER_1", "MAG_APER_2",   "MAG_APER_3", "MAGERR_APER",
    "MAGERR_APER_1", "MAGERR_APER_2", "MAGERR_APER_3", "FLUX_AUTO",  "FLUXERR_AUTO", "FLAGS"};

fs::path fixture(const std::string& name, const char* suffix) { return kField / (name + suffix); }

// The printf conversion SExtractor wrote each column of the ASCII catalogs
// with (the TDISP of the FITS catalogs: F11.7, F11.4, F8.4, G12.7).
const char* ascii_conversion(const std::string& column) {
  if (column.starts_with("ALPHA") || column.starts_with("DELTA")) return "%.7f";
  if (column.starts_with("FLUX")) return "%.7g";
  return "%.4f";
}

std::string printed(const char* conversion, double value) {
  char text[64];
  std::snprintf(text, sizeof text, conversion, value);
  return text;
}

// How the tables of two formats must agree: same names, types, rows; cells
// bit-identical, or (FITS against text) identical once printed as the ASCII
// catalog prints them.
void expect_same_table(const Table& expected, const Table& actual, bool round_to_ascii) {
  ASSERT_EQ(expected.column_names(), actual.column_names()) << actual.source();
  ASSERT_EQ(expected.num_rows(), actual.num_rows()) << actual.source();
  for (const catalog::Column& want : expected.columns()) {
    const catalog::Column& got = actual.column(want.name());
    // Text formats hold every real as float64; FITS keeps 'E' fields float32.
    if (round_to_ascii) {
      ASSERT_EQ(want.type() == ColumnType::kInt64, got.type() == ColumnType::kInt64)
          << actual.source() << " " << want.name();
    } else {
      ASSERT_EQ(want.type(), got.type()) << actual.source() << " " << want.name();
    }
    if (want.type() == ColumnType::kInt64) {
      EXPECT_EQ(want.int64s(), got.int64s()) << actual.source() << " " << want.name();
      continue;
    }
    size_t mismatches = 0;
    for (size_t row = 0; row < want.size(); ++row) {
      const double a = want.number(row);
      const double b = got.number(row);
      const bool same = round_to_ascii
                            ? printed(ascii_conversion(want.name()), a) == printed(ascii_conversion(want.name()), b)
                            : std::memcmp(&a, &b, sizeof a) == 0;
      if (!same && mismatches++ < 3) {
        ADD_FAILURE() << actual.source() << " " << want.name() << " row " << row + 1 << ": " << printed("%.17g", a)
                      << " vs " << printed("%.17g", b);
      }
    }
    EXPECT_EQ(mismatches, 0u) << actual.source() << " " << want.name();
  }
}

// `text` with the cell `cell` (0-based) of the row whose first cell is
// `number` replaced; sets `line` to that row's 1-based line number.
std::string edit_row(const std::string& text, const std::string& number, size_t cell, const std::string& replacement,
                     char delimiter, size_t& line) {
  std::istringstream in(text);
  std::string out, row;
  line = 0;
  for (size_t n = 1; std::getline(in, row); ++n) {
    std::vector<std::string> cells;
    std::string current;
    std::istringstream row_in(row);
    if (delimiter == ' ') {
      while (row_in >> current) cells.push_back(current);
    } else {
      while (std::getline(row_in, current, delimiter)) cells.push_back(current);
    }
    if (line == 0 && !cells.empty() && cells[0] == number) {
      line = n;
      cells.at(cell) = replacement;
      row.clear();
      for (size_t i = 0; i < cells.size(); ++i) row += (i ? std::string(1, delimiter) : "") + cells[i];
    }
    out += row + "\n";
  }
  return out;
}

// The table as CSV, every real printed so it reads back exactly.
std::string to_csv(const Table& table) {
  std::string text;
  for (size_t c = 0; c < table.num_columns(); ++c) text += (c ? "," : "") + table.columns()[c].name();
  text += "\n";
  for (size_t row = 0; row < table.num_rows(); ++row) {
    for (size_t c = 0; c < table.num_columns(); ++c) {
      const catalog::Column& column = table.columns()[c];
      if (c) text += ",";
      text += column.type() == ColumnType::kInt64 ? std::to_string(column.int64s()[row])
                                                  : printed("%.17g", column.number(row));
    }
    text += "\n";
  }
  return text;
}

// Expects read_catalog(path) to throw kBadInput whose message contains every
// one of `parts`.
void expect_bad_input(const fs::path& path, const std::vector<std::string>& parts) {
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { read_catalog(path); },
      [&](const Error& error) {
        for (const std::string& part : parts)
          EXPECT_NE(std::string(error.what()).find(part), std::string::npos)
              << "message: " << error.what() << "\nmissing: " << part;
      }))
      << path;
}

// --- Every fixture, every format ---------------------------------------------

TEST(CatalogFixtures, EveryCatalogReadsInEveryFormat) {
  for (const std::string& name : kCatalogs) {
    for (const FormatFile& format : kFormats) {
      const fs::path path = fixture(name, format.suffix);
      const Catalog catalog = read_catalog(path);
      EXPECT_EQ(catalog.format, format.format) << path;
      EXPECT_EQ(catalog.table.source(), path.string());
      EXPECT_EQ(catalog.table.column_names(), kColumns) << path;
      EXPECT_EQ(catalog.table.num_rows(), kRows) << path;
      const bool fits = format.format == Format::kFitsTable || format.format == Format::kFitsLdac;
      for (const catalog::Column& column : catalog.table.columns()) {
        const bool integer = column.name() == "NUMBER" || column.name() == "FLAGS";
        // SExtractor writes coordinates as FITS 'D' and photometry as 'E'.
        const bool coordinate = column.name().ends_with("_J2000");
        const ColumnType expected = integer               ? ColumnType::kInt64
                                    : fits && !coordinate ? ColumnType::kFloat32
                                                          : ColumnType::kFloat64;
        EXPECT_EQ(column.type(), expected) << path << " " << column.name();
      }
      const auto& numbers = catalog.table.column("NUMBER").int64s();
      for (size_t row = 0; row < kRows; ++row) EXPECT_EQ(numbers[row], static_cast<int64_t>(row + 1)) << path;
    }
  }
}

// A pipe is read as the file is, in every format.
TEST(CatalogFixtures, APipeReadsAsTheFile) {
  TempDir dir;
  const fs::path pipe = dir.path() / "pipe";
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  for (const FormatFile& format : kFormats) {
    const fs::path path = fixture("epoch_001", format.suffix);
    const std::string bytes = read_file(path);
    std::thread writer([&] { write_file(pipe, bytes); });
    const Catalog piped = read_catalog(pipe);
    writer.join();
    const Catalog file = read_catalog(path);
    EXPECT_EQ(piped.format, file.format) << path;
    EXPECT_EQ(piped.format, format.format) << path;
    expect_same_table(file.table, piped.table, false);
  }
}

TEST(CatalogFixtures, KnownCellsOfTheFirstRow) {
  // epoch_000.ascii_head.cat, object 1: "+65.4720373 ... 16.6602  16.2900  16.2508  16.2534 ... 3170.206"
  for (const FormatFile& format : kFormats) {
    const Table table = read_catalog(fixture("epoch_000", format.suffix)).table;
    EXPECT_EQ(printed("%.7f", table.column("DELTA_J2000").number(0)), "65.4720373");
    EXPECT_EQ(printed("%.4f", table.column("MAG_APER").number(0)), "16.6602");
    EXPECT_EQ(printed("%.4f", table.column("MAG_APER_3").number(0)), "16.2534");
    EXPECT_EQ(printed("%.4f", table.column("MAGERR_APER_2").number(0)), "0.0109");
    EXPECT_EQ(printed("%.7g", table.column("FLUX_AUTO").number(0)), "3170.206");
    EXPECT_EQ(table.column("FLAGS").int64s()[7], 2);
  }
}

// ASCII_HEAD and ECSV hold the same decimal text, so they parse to the same
// doubles. FITS holds the float32 (float64 for ALPHA/DELTA) values SExtractor
// printed the ASCII catalog from, so printing them the same way must give the
// ASCII text back: equal after rounding to the ASCII precision, the tightest
// comparison that is exact. (A fixed tolerance could not be both: FLUX_AUTO
// has 7 significant digits, magnitudes 4 decimals.)
TEST(CatalogFixtures, AllFormatsGiveTheSameTable) {
  for (const std::string& name : kCatalogs) {
    SCOPED_TRACE(name);
    const Table ascii = read_catalog(fixture(name, ".ascii_head.cat")).table;
    const Table ecsv = read_catalog(fixture(name, ".ecsv")).table;
    const Table fits = read_catalog(fixture(name, ".fits_1_0.cat")).table;
    const Table ldac = read_catalog(fixture(name, ".fits_ldac.cat")).table;
    expect_same_table(ascii, ecsv, false);
    expect_same_table(fits, ldac, false);
    expect_same_table(ascii, fits, true);
  }
}

TEST(CatalogFixtures, CsvOfTheSameCatalogGivesTheSameTable) {
  TempDir dir;
  const Table ascii = read_catalog(fixture("epoch_001", ".ascii_head.cat")).table;
  write_file(dir.path() / "epoch_001.csv", to_csv(ascii));
  const Catalog csv = read_catalog(dir.path() / "epoch_001.csv");
  EXPECT_EQ(csv.format, Format::kCsv);
  expect_same_table(ascii, csv.table, false);
}

TEST(CatalogFixtures, FormatComesFromTheContentNotTheName) {
  TempDir dir;
  const char* misleading[] = {".fits", ".csv", ".ecsv", ""};
  for (const FormatFile& format : kFormats) {
    const fs::path original = fixture("epoch_002", format.suffix);
    const Table expected = read_catalog(original).table;
    for (const char* extension : misleading) {
      const fs::path copy = dir.path() / (std::string("catalog-") + catalog::to_string(format.format) + extension);
      write_file(copy, read_file(original));
      const Catalog catalog = read_catalog(copy);
      EXPECT_EQ(catalog.format, format.format) << copy;
      expect_same_table(expected, catalog.table, false);
    }
  }
}

// The light-curve layer reads the catalogs of many epochs at once; CFITSIO
// (its memory files, its error stack) and the parsers must allow that.
TEST(CatalogFixtures, ConcurrentReadsGiveTheSameTables) {
  std::vector<fs::path> paths;
  std::vector<Table> expected;
  for (const std::string& name : kCatalogs) {
    for (const FormatFile& format : kFormats) {
      paths.push_back(fixture(name, format.suffix));
      expected.push_back(read_catalog(paths.back()).table);
    }
  }
  constexpr int kThreads = 4;
  std::vector<std::vector<Table>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round)
        for (const fs::path& path : paths) results[t].push_back(read_catalog(path).table);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::vector<Table>& tables : results) {
    ASSERT_EQ(tables.size(), 3 * paths.size());
    for (size_t i = 0; i < tables.size(); ++i) expect_same_table(expected[i % paths.size()], tables[i], false);
  }
}

// --- Text format details -------------------------------------------------------

TEST(CatalogText, CsvQuotesBlanksCrLfAndByteOrderMark) {
  TempDir dir;
  const fs::path path = dir.path() / "a.csv";
  write_file(path,
             "\xEF\xBB\xBF\"id\", mag_auto ,magerr_auto\r\n"
             "1, 20.5 ,0.1\r\n"
             "\r\n"
             "2,\"21.25\",\r\n"
             "3,+22,1e-2\r\n");
  const Catalog csv = read_catalog(path);
  EXPECT_EQ(csv.format, Format::kCsv);
  EXPECT_EQ(csv.table.column_names(), (std::vector<std::string>{"id", "mag_auto", "magerr_auto"}));
  EXPECT_THAT(csv.table.column("id").int64s(), ElementsAre(1, 2, 3));
  EXPECT_THAT(csv.table.column("mag_auto").float64s(), ElementsAre(20.5, 21.25, 22.0));
  const auto& errors = csv.table.column("magerr_auto").float64s();
  EXPECT_EQ(errors[0], 0.1);
  EXPECT_TRUE(std::isnan(errors[1])) << "an empty cell is a missing value";
  EXPECT_EQ(errors[2], 0.01);
}

TEST(CatalogText, EcsvStringsCommaDelimiterAndMissingValues) {
  TempDir dir;
  const fs::path path = dir.path() / "a.txt";
  write_file(path,
             "# %ECSV 1.0\n"
             "# ---\n"
             "# delimiter: ','\n"
             "# datatype:\n"
             "# - {name: id, datatype: int32}\n"
             "# - {name: label, datatype: string}\n"
             "# - {name: MAG_AUTO, datatype: float32}\n"
             "# schema: astropy-2.0\n"
             "id,label,MAG_AUTO\n"
             "7,\"a, \"\"b\"\"\",nan\n"
             "8,plain,\"\"\n");
  const Catalog ecsv = read_catalog(path);
  EXPECT_EQ(ecsv.format, Format::kEcsv);
  EXPECT_THAT(ecsv.table.column("id").int64s(), ElementsAre(7, 8));
  EXPECT_EQ(ecsv.table.column("label").strings(), (std::vector<std::string>{"a, \"b\"", "plain"}));
  EXPECT_TRUE(std::isnan(ecsv.table.column("MAG_AUTO").float64s()[0]));
  EXPECT_TRUE(std::isnan(ecsv.table.column("MAG_AUTO").float64s()[1]));
}

TEST(CatalogText, AsciiHeadLastParameterMayBeAVector) {
  TempDir dir;
  const fs::path path = dir.path() / "a.cat";
  write_file(path,
             "#   1 NUMBER   Running object number\n"
             "#   2 MAG_APER Fixed aperture magnitude vector [mag]\n"
             "   1  20.1 20.2 99.0000\n"
             "   2  21.1 21.2 21.3\n");
  const Table table = read_catalog(path).table;
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"NUMBER", "MAG_APER", "MAG_APER_1", "MAG_APER_2"}));
  EXPECT_THAT(table.column("MAG_APER_2").float64s(), ElementsAre(99.0, 21.3));
}

// A header and no rows is an error by default; with allow_empty it is a
// catalog of no objects (an epoch where nothing was detected): the columns are
// there, with no cells.
TEST(CatalogText, HeaderWithoutRowsIsAnEmptyCatalogOnlyIfAllowed) {
  TempDir dir;
  for (const FormatFile& format : kFormats) {
    const std::string text = read_file(fixture("coadd", format.suffix));
    std::string header;
    if (format.format == Format::kAsciiHead) {
      header = text.substr(0, text.find("\n         1 ") + 1);
    } else if (format.format == Format::kEcsv) {
      header = text.substr(0, text.find("\n1 ") + 1);
    } else {
      // NAXIS2 (the row count) of the objects table set to 0; the rows stay
      // behind the table as unused bytes.
      header = text;
      const std::string rows = "NAXIS2  =                  281";
      const size_t at = header.find(rows);
      ASSERT_NE(at, std::string::npos);
      header.replace(at, rows.size(), "NAXIS2  =                    0");
    }
    const fs::path path = dir.path() / (std::string("empty-") + catalog::to_string(format.format));
    write_file(path, header);
    expect_bad_input(
        path, {path.filename().string() + ": the " + catalog::to_string(format.format) + " catalog has no rows"});
    const Catalog catalog = read_catalog(path, {.allow_empty = true});
    EXPECT_EQ(catalog.format, format.format);
    EXPECT_EQ(catalog.table.num_rows(), 0u) << path;
    EXPECT_EQ(catalog.table.column_names(), kColumns) << path;
  }
  write_file(dir.path() / "empty.csv", "NUMBER,MAG_AUTO\n");
  const Table csv = read_catalog(dir.path() / "empty.csv", {.allow_empty = true}).table;
  EXPECT_EQ(csv.num_rows(), 0u);
  EXPECT_EQ(csv.num_columns(), 2u);
}

// --- Column mapping --------------------------------------------------------------

std::vector<std::string> names_of(const ColumnMapping& mapping) {
  std::vector<std::string> names;
  for (const catalog::Measurement& measurement : mapping.measurements()) names.push_back(measurement.name);
  return names;
}

TEST(ColumnMapping, SExtractorMeasurementsWithMagnitudes) {
  for (const FormatFile& format : kFormats) {
    const Table table = read_catalog(fixture("epoch_001", format.suffix)).table;
    const ColumnMapping mapping(table, MappingOptions{});
    EXPECT_EQ(names_of(mapping), (std::vector<std::string>{"auto", "iso", "aper", "aper_1", "aper_2", "aper_3"}));
    for (const catalog::Measurement& measurement : mapping.measurements()) {
      EXPECT_TRUE(measurement.complete()) << measurement.name;
    }
    const catalog::Measurement* aper_2 = mapping.find("aper_2");
    ASSERT_NE(aper_2, nullptr);
    EXPECT_EQ(*aper_2->column(Value::kMag), "MAG_APER_2");
    EXPECT_EQ(*aper_2->column(Value::kMagErr), "MAGERR_APER_2");
    EXPECT_EQ(*mapping.find("aper")->column(Value::kMag), "MAG_APER");
    EXPECT_EQ(*mapping.find("iso")->column(Value::kMagErr), "MAGERR_ISO");
    // Values found beyond the requested ones are reported too.
    EXPECT_EQ(*mapping.find("auto")->column(Value::kFlux), "FLUX_AUTO");
    EXPECT_EQ(*mapping.find("auto")->column(Value::kFluxErr), "FLUXERR_AUTO");
    EXPECT_EQ(mapping.find("iso")->column(Value::kFlux), nullptr);

    EXPECT_EQ(mapping.object_key_column(), "NUMBER");
    EXPECT_EQ(mapping.coordinates().ra, "ALPHA_J2000");
    EXPECT_EQ(mapping.coordinates().dec, "DELTA_J2000");
    EXPECT_EQ(mapping.coordinates().x, "X_IMAGE");
    EXPECT_EQ(mapping.coordinates().y, "Y_IMAGE");
  }
}

TEST(ColumnMapping, FluxesAndIncompleteMeasurements) {
  const Table table = read_catalog(fixture("epoch_001", ".fits_ldac.cat")).table;
  const ColumnMapping fluxes(table, {.values = {Value::kFlux, Value::kFluxErr}});
  EXPECT_EQ(names_of(fluxes), std::vector<std::string>{"auto"});
  EXPECT_TRUE(fluxes.measurements()[0].complete());

  const ColumnMapping mixed(table, {.values = {Value::kMag, Value::kMagErr, Value::kFlux}});
  EXPECT_EQ(names_of(mixed).size(), 6u);
  EXPECT_TRUE(mixed.find("auto")->complete());
  EXPECT_EQ(mixed.find("iso")->missing, std::vector<Value>{Value::kFlux});
}

TEST(ColumnMapping, TableKeyAndObjectKeyPrefixes) {
  const Table table = read_catalog(fixture("coadd", ".ascii_head.cat")).table;
  const ColumnMapping mapping(table, {.keys = {.table_key = "ch1_sci", .object_key_prefix = "I"}});
  EXPECT_EQ(names_of(mapping), (std::vector<std::string>{"ch1_sci-auto", "ch1_sci-iso", "ch1_sci-aper",
                                                         "ch1_sci-aper_1", "ch1_sci-aper_2", "ch1_sci-aper_3"}));
  EXPECT_EQ(*mapping.find("ch1_sci-auto")->column(Value::kMag), "MAG_AUTO");
  EXPECT_EQ(mapping.find("auto"), nullptr);
  const std::vector<std::string> keys = mapping.object_keys(table);
  ASSERT_EQ(keys.size(), kRows);
  EXPECT_EQ(keys[0], "I1");
  EXPECT_EQ(keys[122], "I123");

  const ColumnMapping by_flags(table, {.keys = {.object_key_column = "flags"}});
  EXPECT_EQ(by_flags.object_key_column(), "FLAGS");
  EXPECT_EQ(by_flags.object_keys(table)[7], "2");
}

TEST(ColumnMapping, LowerCaseNamesIdAndPlainCoordinates) {
  TempDir dir;
  write_file(dir.path() / "a.csv",
             "id,ra,dec,x,y,mag_auto,magerr_auto,Mag_Iso,flux_radius,FLUX_AUTO\n"
             "17.0,265.1,65.5,10.5,20.5,20.1,0.1,20.2,3.1,100.0\n");
  const Table table = read_catalog(dir.path() / "a.csv").table;
  const ColumnMapping mapping(table, {.keys = {.object_key_prefix = "I"}});
  EXPECT_EQ(names_of(mapping), (std::vector<std::string>{"auto", "iso"}));
  EXPECT_TRUE(mapping.find("auto")->complete());
  EXPECT_EQ(*mapping.find("iso")->column(Value::kMag), "Mag_Iso");
  EXPECT_EQ(mapping.find("iso")->missing, std::vector<Value>{Value::kMagErr});
  EXPECT_EQ(mapping.object_key_column(), "id");
  EXPECT_EQ(mapping.object_keys(table), std::vector<std::string>{"I17"});
  EXPECT_EQ(mapping.coordinates().ra, "ra");
  EXPECT_EQ(mapping.coordinates().dec, "dec");
  EXPECT_EQ(mapping.coordinates().x, "x");
  EXPECT_EQ(mapping.coordinates().y, "y");
  // FLUX_RADIUS is a size, not a flux.
  const ColumnMapping fluxes(table, {.values = {Value::kFlux}});
  EXPECT_EQ(names_of(fluxes), std::vector<std::string>{"auto"});
}

TEST(ColumnMapping, ErrorsNameTheCatalog) {
  TempDir dir;
  const fs::path no_key = dir.path() / "no-key.csv";
  write_file(no_key, "object,MAG_AUTO\n1,20\n");
  const Table without_key = read_catalog(no_key).table;
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { (void)ColumnMapping(without_key, {}); },
      [&](const Error& error) {
        EXPECT_EQ(error.subject(), no_key.string());
        EXPECT_NE(error.reason().find("NUMBER or id"), std::string::npos) << error.what();
      }));
  EXPECT_NO_THROW((void)ColumnMapping(without_key, {.keys = {.object_key_column = "OBJECT"}}));
  EXPECT_LCSTORE_ERROR(ColumnMapping(without_key, {.keys = {.object_key_column = "number"}}), kBadInput);

  const fs::path text = dir.path() / "text.ecsv";
  write_file(text,
             "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: NUMBER, datatype: int64}\n"
             "# - {name: MAG_AUTO, datatype: string}\nNUMBER MAG_AUTO\n1 bright\n");
  const Table with_text = read_catalog(text, {.invalid_to_nan = true}).table;
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { (void)ColumnMapping(with_text, {}); },
      [&](const Error& error) {
        EXPECT_EQ(std::string(error.what()), text.string() + ": column MAG_AUTO: holds text, not numbers");
      }));

  const fs::path twice = dir.path() / "twice.csv";
  write_file(twice, "NUMBER,MAG_AUTO,mag_auto\n1,20,20\n");
  const Table table = read_catalog(twice).table;
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { (void)ColumnMapping(table, {}); },
      [&](const Error& error) {
        EXPECT_NE(std::string(error.what()).find("MAG_AUTO"), std::string::npos) << error.what();
      }));
}

TEST(ColumnMapping, ValueNames) {
  for (Value value : {Value::kMag, Value::kMagErr, Value::kFlux, Value::kFluxErr})
    EXPECT_EQ(catalog::parse_value(catalog::to_string(value)), value);
  EXPECT_LCSTORE_ERROR(catalog::parse_value("magnitude"), kInvalidArgument);
}

// --- invalid_to_nan ------------------------------------------------------------

TEST(InvalidToNan, SExtractorNoMeasurementIsKeptByDefault) {
  // epoch_000, object 126: MAG_APER_3 and MAGERR_APER_3 are 99.0000.
  constexpr size_t kRow = 125;
  for (const FormatFile& format : kFormats) {
    const fs::path path = fixture("epoch_000", format.suffix);
    const Table raw = read_catalog(path).table;
    EXPECT_EQ(raw.column("MAG_APER_3").number(kRow), 99.0) << path;
    EXPECT_EQ(raw.column("MAGERR_APER_3").number(kRow), 99.0) << path;

    const Table cleaned = read_catalog(path, {.invalid_to_nan = true}).table;
    EXPECT_TRUE(std::isnan(cleaned.column("MAG_APER_3").number(kRow))) << path;
    EXPECT_TRUE(std::isnan(cleaned.column("MAGERR_APER_3").number(kRow))) << path;
    EXPECT_EQ(cleaned.column("MAG_APER_2").number(kRow), raw.column("MAG_APER_2").number(kRow));
    // Every other magnitude of this catalog is valid and unchanged.
    size_t nans = 0;
    for (const catalog::Column& column : cleaned.columns()) {
      if (!column.name().starts_with("MAG")) continue;
      for (size_t row = 0; row < column.size(); ++row) nans += std::isnan(column.number(row));
    }
    EXPECT_EQ(nans, 4u) << path << ": two objects with both cells of MAG_APER_3/MAGERR_APER_3 at 99";
  }
}

TEST(InvalidToNan, ValidityRuleOnPairsAndLoneColumns) {
  TempDir dir;
  write_file(dir.path() / "a.csv",
             "NUMBER,MAG_AUTO,MAGERR_AUTO,MAG_ISO,FLUX_AUTO\n"
             "1,20,0.1,20,99\n"     // valid
             "2,99,99,99,1\n"       // no measurement
             "3,20,0,0,1\n"         // error 0, magnitude 0
             "4,20,10,50,1\n"       // error 10, magnitude 50
             "5,-1,0.1,49.9,1\n"    // negative magnitude
             "6,nan,0.1,inf,1\n"    // not finite
             "7,20,inf,-inf,1\n");  // not finite
  const Table table = read_catalog(dir.path() / "a.csv", {.invalid_to_nan = true}).table;
  const auto& mag = table.column("MAG_AUTO").float64s();
  const auto& err = table.column("MAGERR_AUTO").float64s();
  const auto& iso = table.column("MAG_ISO").float64s();
  EXPECT_EQ(mag[0], 20.0);
  EXPECT_EQ(err[0], 0.1);
  for (size_t row = 1; row < 7; ++row) {
    EXPECT_TRUE(std::isnan(mag[row]) && std::isnan(err[row])) << "row " << row + 1 << ": both cells of the pair";
  }
  const std::vector<bool> iso_valid = {true, false, false, false, true, false, false};
  for (size_t row = 0; row < 7; ++row) EXPECT_EQ(!std::isnan(iso[row]), iso_valid[row]) << "row " << row + 1;
  EXPECT_EQ(table.column("FLUX_AUTO").int64s()[0], 99) << "fluxes are not magnitudes";
  EXPECT_EQ(table.column("NUMBER").int64s()[1], 2);

  // Two columns of one measurement's magnitude are each judged.
  write_file(dir.path() / "twice.csv", "NUMBER,MAG_AUTO,mag_auto\n1,99,20\n2,20,99\n");
  const Table twice = read_catalog(dir.path() / "twice.csv", {.invalid_to_nan = true}).table;
  EXPECT_TRUE(std::isnan(twice.column("MAG_AUTO").float64s()[0]));
  EXPECT_EQ(twice.column("MAG_AUTO").float64s()[1], 20.0);
  EXPECT_EQ(twice.column("mag_auto").float64s()[0], 20.0);
  EXPECT_TRUE(std::isnan(twice.column("mag_auto").float64s()[1]));
}

// --- Broken catalogs -------------------------------------------------------------

TEST(BadCatalog, NonNumericCellNamesFileLineAndColumn) {
  TempDir dir;
  struct Case {
    const char* suffix;
    char delimiter;
  };
  for (const Case& c : {Case{".ascii_head.cat", ' '}, Case{".ecsv", ' '}}) {
    size_t line = 0;
    const std::string text = edit_row(read_file(fixture("epoch_001", c.suffix)), "57", 5, "abc", c.delimiter, line);
    const fs::path path = dir.path() / (std::string("bad") + c.suffix);
    write_file(path, text);
    ASSERT_GT(line, 0u);
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kBadInput, [&] { read_catalog(path); },
        [&](const Error& error) {
          EXPECT_EQ(std::string(error.what()),
                    path.string() + ":" + std::to_string(line) + ": column MAG_AUTO: 'abc' is not a number");
        }));
  }
  {
    size_t line = 0;
    const fs::path path = dir.path() / "bad.csv";
    write_file(path, edit_row(to_csv(read_catalog(fixture("epoch_001", ".ecsv")).table), "57", 7, "1.2.3", ',', line));
    expect_bad_input(path, {path.string() + ":" + std::to_string(line) + ": column MAG_ISO: '1.2.3' is not a number"});
  }
  {
    // A declared int64 column wants integers.
    size_t line = 0;
    const fs::path path = dir.path() / "float-number.ecsv";
    write_file(path, edit_row(read_file(fixture("coadd", ".ecsv")), "3", 0, "3.5", ' ', line));
    expect_bad_input(path, {":" + std::to_string(line) + ": column NUMBER: '3.5' is not a 64-bit integer"});
  }
}

TEST(BadCatalog, TruncatedTextCatalogs) {
  TempDir dir;
  for (const char* suffix : {".ascii_head.cat", ".ecsv"}) {
    const std::string text = read_file(fixture("epoch_003", suffix));
    // Cut in the middle of a row: the row ends after its 8th cell.
    const size_t row_start =
        text.find("\n       100 ") != std::string::npos ? text.find("\n       100 ") + 1 : text.find("\n100 ") + 1;
    size_t cut = row_start;
    for (int cell = 0; cell < 8; ++cell) {
      cut = text.find_first_not_of(' ', cut);
      cut = text.find(' ', cut);
    }
    const fs::path path = dir.path() / (std::string("truncated") + suffix);
    write_file(path, text.substr(0, cut));
    const size_t line = static_cast<size_t>(std::count(text.begin(), text.begin() + row_start, '\n')) + 1;
    expect_bad_input(path, {path.string() + ":" + std::to_string(line) + ": column MAGERR_ISO: missing",
                            "8 of 20 cells", "truncated"});
  }
}

TEST(BadCatalog, InconsistentRowWidths) {
  TempDir dir;
  const std::string text = read_file(fixture("epoch_003", ".ascii_head.cat"));
  size_t line = 0;
  const fs::path path = dir.path() / "wide.cat";
  write_file(path, edit_row(text, "12", 19, "0 7", ' ', line));
  expect_bad_input(path, {path.string() + ":" + std::to_string(line) + ": ", "the row has 21 cells",
                          "20 columns (NUMBER ... FLAGS)"});

  write_file(dir.path() / "narrow.csv", "NUMBER,MAG_AUTO,MAGERR_AUTO\n1,20,0.1\n2,20\n");
  expect_bad_input(dir.path() / "narrow.csv", {"narrow.csv:3: column MAGERR_AUTO: missing", "2 of 3 cells"});
  write_file(dir.path() / "wide.csv", "NUMBER,MAG_AUTO\n1,20\n2,20,\n");
  expect_bad_input(dir.path() / "wide.csv", {"wide.csv:3: the row has 3 cells, but there are 2 columns"});
}

TEST(BadCatalog, WrongColumns) {
  TempDir dir;
  // ECSV: the row of names disagrees with the YAML header.
  std::string ecsv = read_file(fixture("coadd", ".ecsv"));
  const size_t names = ecsv.find("NUMBER ALPHA_J2000");
  ecsv.replace(names, 6, "OBJECT");
  write_file(dir.path() / "renamed.ecsv", ecsv);
  expect_bad_input(dir.path() / "renamed.ecsv", {"renamed.ecsv:25: ", "'OBJECT'", "'NUMBER'"});

  // ECSV: a row of names lacking a column.
  ecsv = read_file(fixture("coadd", ".ecsv"));
  ecsv.replace(ecsv.find(" FLAGS\n"), 6, "");
  write_file(dir.path() / "short-names.ecsv", ecsv);
  expect_bad_input(dir.path() / "short-names.ecsv", {"short-names.ecsv:25: ", "column 20", "'FLAGS'"});

  // ASCII_HEAD: column numbers that do not increase.
  std::string ascii = read_file(fixture("coadd", ".ascii_head.cat"));
  ascii.replace(ascii.find("#  14 MAGERR_APER"), 17, "#   9 MAGERR_APER");
  write_file(dir.path() / "numbers.cat", ascii);
  expect_bad_input(dir.path() / "numbers.cat", {"numbers.cat:11: column MAGERR_APER: column number 9"});

  // Duplicate names in a CSV header.
  write_file(dir.path() / "twice.csv", "NUMBER,MAG_AUTO,MAG_AUTO\n1,2,3\n");
  expect_bad_input(dir.path() / "twice.csv", {"twice.csv:1: column MAG_AUTO: named twice"});

  // ECSV column types lcstore does not read.
  ecsv = read_file(fixture("coadd", ".ecsv"));
  ecsv.replace(ecsv.find("datatype: int64"), 15, "datatype: complex128");
  write_file(dir.path() / "complex.ecsv", ecsv);
  expect_bad_input(dir.path() / "complex.ecsv", {"complex.ecsv:4: column NUMBER: ECSV datatype 'complex128'"});
}

TEST(BadCatalog, BrokenEcsvHeader) {
  TempDir dir;
  std::string ecsv = read_file(fixture("coadd", ".ecsv"));
  ecsv.replace(ecsv.find("# - {name: MAG_ISO"), 18, "# - {name: [MAG_ISO");
  write_file(dir.path() / "yaml.ecsv", ecsv);
  expect_bad_input(dir.path() / "yaml.ecsv", {"yaml.ecsv:", "not valid YAML"});

  write_file(dir.path() / "no-datatype.ecsv", "# %ECSV 1.0\n# ---\n# meta: {}\na b\n1 2\n");
  expect_bad_input(dir.path() / "no-datatype.ecsv", {"no-datatype.ecsv:2: ", "no 'datatype' list"});

  write_file(dir.path() / "no-names.ecsv", "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: a, datatype: int64}\n");
  expect_bad_input(dir.path() / "no-names.ecsv", {"no-names.ecsv", "no row of column names"});
}

TEST(BadCatalog, EmptyGarbageAndUnreadableFiles) {
  TempDir dir;
  write_file(dir.path() / "empty.cat", "");
  expect_bad_input(dir.path() / "empty.cat", {"empty.cat: the file is empty"});
  write_file(dir.path() / "words.cat", "hello world\n1 2 3\n");
  expect_bad_input(dir.path() / "words.cat", {"words.cat: unknown catalog format", "'hello world'"});
  std::string binary(5000, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>((i * 7919) % 251);
  write_file(dir.path() / "binary.fits", binary);
  expect_bad_input(dir.path() / "binary.fits", {"binary.fits: unknown catalog format", "(first line '\\x00"});
  write_file(dir.path() / "fake.fits", "SIMPLE  = nothing else here");
  expect_bad_input(dir.path() / "fake.fits", {"fake.fits: not a readable FITS file"});
  write_file(dir.path() / "header-only.cat", "#   1 NUMBER\n#   2 MAG_AUTO\n#   x broken\n");
  expect_bad_input(dir.path() / "header-only.cat", {"header-only.cat:3: expected an ASCII_HEAD column header"});

  EXPECT_LCSTORE_ERROR(read_catalog(dir.path() / "missing.cat"), kIo);
  EXPECT_LCSTORE_ERROR(read_catalog(dir.path()), kIo);
  EXPECT_LCSTORE_ERROR(read_catalog("/dev/zero"), kIo);
}

TEST(BadCatalog, TruncatedFits) {
  TempDir dir;
  for (const char* suffix : {".fits_1_0.cat", ".fits_ldac.cat"}) {
    const std::string bytes = read_file(fixture("epoch_001", suffix));
    // Mid-row in the objects table, in the last table's header, and right
    // after the primary header.
    // In the objects table's rows; in its header; in or right after the
    // primary header.
    const size_t mid_rows = bytes.size() - 20000, mid_header = bytes.size() - 2880 * 10 - 100, early = 2880;
    for (size_t cut : {mid_rows, mid_header, early}) {
      const fs::path path = dir.path() / ("cut-" + std::to_string(cut) + suffix);
      write_file(path, bytes.substr(0, cut));
      if (cut == mid_rows) {
        expect_bad_input(path,
                         {path.string() + ", HDU ", "OBJECTS): file truncated: the table's 281 rows end at byte"});
      } else if (cut == mid_header) {
        expect_bad_input(path, {path.string() + ": ", "file truncated"});
      } else {
        expect_bad_input(path, {path.string() + ": "});
      }
    }
  }
}

// Plain numeric fields are decoded from the file's bytes, the rest (scaled
// integers, logicals, text) by CFITSIO; a table with every kind, read back,
// holds exactly what CFITSIO wrote, including the fields after a text one.
TEST(FitsFieldTypes, EveryFieldTypeReadsAsWritten) {
  TempDir dir;
  const fs::path path = dir.path() / "types.fits";
  constexpr long kTypeRows = 5;
  const char* names[] = {"B", "I", "J", "K", "E", "D", "TEXT", "FLAG", "SCALED", "UNSIGNED", "VEC"};
  const char* forms[] = {"1B", "1I", "1J", "1K", "1E", "1D", "7A", "1L", "1I", "1I", "3E"};
  fitsfile* file = nullptr;
  int status = 0;
  fits_create_file(&file, path.c_str(), &status);
  fits_create_img(file, BYTE_IMG, 0, nullptr, &status);
  fits_create_tbl(file, BINARY_TBL, kTypeRows, 11, const_cast<char**>(names), const_cast<char**>(forms), nullptr,
                  "OBJECTS", &status);
  double scale = 0.5, unsigned_zero = 32768;
  fits_write_key(file, TDOUBLE, "TSCAL9", &scale, nullptr, &status);
  fits_write_key(file, TDOUBLE, "TZERO10", &unsigned_zero, nullptr, &status);
  fits_set_tscale(file, 9, scale, 0.0, &status);
  fits_set_tscale(file, 10, 1.0, unsigned_zero, &status);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> b = {0, 1, 127, 200, 255}, i = {-32768, -1, 0, 1, 32767},
                      j = {-2147483648.0, -7, 0, 7, 2147483647.0}, e = {-1.5, 0.25, nan, 99.0, 1e30},
                      d = {265.123456789012, -0.1, 1e-300, nan, 65.5}, scaled = {-3.5, 0, 0.5, 1, 100},
                      unsigned_values = {0, 1, 32768, 40000, 65535}, vec(kTypeRows * 3);
  std::vector<long long> k = {-9000000000000000000LL, -1, 0, 1, 9000000000000000000LL};
  for (size_t n = 0; n < vec.size(); ++n) vec[n] = static_cast<double>(n) * 0.125;
  std::vector<std::string> texts = {"a", "bb", "c", "seven77", "x y"};
  std::vector<char*> text_pointers;
  for (std::string& text : texts) text_pointers.push_back(text.data());
  char flags[] = {1, 0, 1, 1, 0};
  fits_write_col(file, TDOUBLE, 1, 1, 1, kTypeRows, b.data(), &status);
  fits_write_col(file, TDOUBLE, 2, 1, 1, kTypeRows, i.data(), &status);
  fits_write_col(file, TDOUBLE, 3, 1, 1, kTypeRows, j.data(), &status);
  fits_write_col(file, TLONGLONG, 4, 1, 1, kTypeRows, k.data(), &status);
  fits_write_col(file, TDOUBLE, 5, 1, 1, kTypeRows, e.data(), &status);
  fits_write_col(file, TDOUBLE, 6, 1, 1, kTypeRows, d.data(), &status);
  fits_write_col(file, TSTRING, 7, 1, 1, kTypeRows, text_pointers.data(), &status);
  fits_write_col(file, TLOGICAL, 8, 1, 1, kTypeRows, flags, &status);
  fits_write_col(file, TDOUBLE, 9, 1, 1, kTypeRows, scaled.data(), &status);
  fits_write_col(file, TDOUBLE, 10, 1, 1, kTypeRows, unsigned_values.data(), &status);
  fits_write_col(file, TDOUBLE, 11, 1, 1, kTypeRows * 3, vec.data(), &status);
  fits_close_file(file, &status);
  ASSERT_EQ(status, 0);

  const Table table = read_catalog(path).table;
  ASSERT_EQ(table.num_rows(), static_cast<size_t>(kTypeRows));
  auto expect_numbers = [&](const std::string& name, ColumnType type, const std::vector<double>& expected) {
    const catalog::Column& column = table.column(name);
    EXPECT_EQ(column.type(), type) << name;
    for (size_t row = 0; row < expected.size(); ++row) {
      const double want = name == "E" ? static_cast<double>(static_cast<float>(expected[row])) : expected[row];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(column.number(row))) << name << " row " << row;
      } else {
        EXPECT_EQ(column.number(row), want) << name << " row " << row;
      }
    }
  };
  expect_numbers("B", ColumnType::kInt64, b);
  expect_numbers("I", ColumnType::kInt64, i);
  expect_numbers("J", ColumnType::kInt64, j);
  expect_numbers("E", ColumnType::kFloat32, e);
  expect_numbers("D", ColumnType::kFloat64, d);
  expect_numbers("SCALED", ColumnType::kFloat64, scaled);
  expect_numbers("UNSIGNED", ColumnType::kInt64, unsigned_values);
  expect_numbers("FLAG", ColumnType::kInt64, {1, 0, 1, 1, 0});
  EXPECT_THAT(table.column("K").int64s(), ElementsAreArray(k));
  EXPECT_EQ(table.column("TEXT").strings(), texts);
  for (size_t n = 0; n < 3; ++n) {
    const std::string name = n == 0 ? "VEC" : "VEC_" + std::to_string(n);
    for (size_t row = 0; row < static_cast<size_t>(kTypeRows); ++row) {
      EXPECT_EQ(table.column(name).type(), ColumnType::kFloat32) << name;
      EXPECT_EQ(table.column(name).number(row), vec[row * 3 + n]) << name << " row " << row;
    }
  }
}

// Tables larger than the headers the reader holds in memory (256 KiB) are
// read a piece at a time, and float32 cells next to each other are decoded
// eight rows by eight cells at a time. Every cell of such a table, with
// every field type that is decoded this way, reads back exactly, and a file
// the pieces cannot be used for reads exactly as a small one.
class LargeFitsTable {
 public:
  // 10,007 rows: not a whole number of pieces, blocks of 64 rows or tiles
  // of 8; rows of 127 bytes, so that pieces do not start on a cell.
  static constexpr long kRows = 10007;
  static constexpr int kPhotometry = 19;  // a run of 21 float32 cells with E and VEC

  // The field's value at `row`: exact in its type, NaN now and then.
  static double value(int field, long row) {
    const long n = row * 31 + field * 7;
    switch (field) {
      case 1:  // B
        return static_cast<double>(n % 256);
      case 2:  // I
        return static_cast<double>(n % 65536 - 32768);
      case 3:  // J
        return static_cast<double>(n * 40503 % 4294967296 - 2147483648);
      case 5:  // D
        return row % 97 == 0 ? std::numeric_limits<double>::quiet_NaN() : 265.0 + static_cast<double>(n) * 1e-9;
      default:  // E, VEC, PHOT: float32
        return row % 89 == field ? std::numeric_limits<double>::quiet_NaN()
                                 : static_cast<double>(static_cast<float>(static_cast<double>(n) * 0.001 - 7.0));
    }
  }

  // Writes the table as extension `extname`, after an LDAC_IMHEAD when
  // `ldac`, and followed by a small table named `then` when not empty.
  static void write(const fs::path& path, const char* extname, bool ldac, const char* then = "") {
    fitsfile* file = nullptr;
    int status = 0;
    fits_create_file(&file, path.c_str(), &status);
    fits_create_img(file, BYTE_IMG, 0, nullptr, &status);
    if (ldac) {
      const char* names[] = {"Field Header Card"};
      const char* forms[] = {"1680A"};
      fits_create_tbl(file, BINARY_TBL, 1, 1, const_cast<char**>(names), const_cast<char**>(forms), nullptr,
                      "LDAC_IMHEAD", &status);
      std::string header(1680, ' ');
      char* cards[] = {header.data()};
      fits_write_col(file, TSTRING, 1, 1, 1, 1, cards, &status);
    }
    const char* names[] = {"B", "I", "J", "K", "D", "E", "VEC", "PHOT"};
    const char* forms[] = {"1B", "1I", "1J", "1K", "1D", "1E", "2E", "19E"};
    fits_create_tbl(file, BINARY_TBL, kRows, 8, const_cast<char**>(names), const_cast<char**>(forms), nullptr, extname,
                    &status);
    for (int field = 1; field <= 3; ++field) {
      std::vector<double> cells(kRows);
      for (long row = 0; row < kRows; ++row) cells[static_cast<size_t>(row)] = value(field, row);
      fits_write_col(file, TDOUBLE, field, 1, 1, kRows, cells.data(), &status);
    }
    std::vector<long long> k(kRows);
    for (long row = 0; row < kRows; ++row) k[static_cast<size_t>(row)] = row * 1000000007LL - 5000000000000LL;
    fits_write_col(file, TLONGLONG, 4, 1, 1, kRows, k.data(), &status);
    const int widths[] = {1, 1, 2, kPhotometry};  // D, E, VEC, PHOT
    int cell_field = 5;
    for (int field = 5; field <= 8; ++field) {
      const int width = widths[field - 5];
      std::vector<double> cells(static_cast<size_t>(kRows * width));
      for (long row = 0; row < kRows; ++row)
        for (int c = 0; c < width; ++c) cells[static_cast<size_t>(row * width + c)] = value(cell_field + c, row);
      fits_write_col(file, TDOUBLE, field, 1, 1, kRows * width, cells.data(), &status);
      cell_field += width;
    }
    if (*then != '\0') {
      const char* small_names[] = {"NUMBER"};
      const char* small_forms[] = {"1J"};
      fits_create_tbl(file, BINARY_TBL, 3, 1, const_cast<char**>(small_names), const_cast<char**>(small_forms), nullptr,
                      then, &status);
      int numbers[] = {7, 8, 9};
      fits_write_col(file, TINT, 1, 1, 1, 3, numbers, &status);
    }
    fits_close_file(file, &status);
    ASSERT_EQ(status, 0);
  }

  static void expect_every_cell(const Table& table) {
    ASSERT_EQ(table.num_rows(), static_cast<size_t>(kRows));
    const auto& k = table.column("K").int64s();
    std::vector<std::string> names = {"B", "I", "J", "D", "E", "VEC", "VEC_1"};
    for (int n = 0; n < kPhotometry; ++n) names.push_back(n == 0 ? "PHOT" : "PHOT_" + std::to_string(n));
    for (long row = 0; row < kRows; ++row) {
      ASSERT_EQ(k[static_cast<size_t>(row)], row * 1000000007LL - 5000000000000LL) << "row " << row;
      for (size_t c = 0; c < names.size(); ++c) {
        const int field = c < 4 ? static_cast<int>(c) + 1 + (c == 3) : static_cast<int>(c) + 2;
        const double want = value(field, row), got = table.column(names[c]).number(static_cast<size_t>(row));
        if (std::isnan(want)) {
          ASSERT_TRUE(std::isnan(got)) << names[c] << " row " << row;
        } else {
          ASSERT_EQ(got, want) << names[c] << " row " << row;
        }
      }
    }
  }
};

TEST(LargeFitsTables, EveryCellReadsAsWritten) {
  TempDir dir;
  const fs::path fits = dir.path() / "large.fits", ldac = dir.path() / "large_ldac.fits";
  LargeFitsTable::write(fits, "OBJECTS", false);
  LargeFitsTable::write(ldac, "LDAC_OBJECTS", true);
  ASSERT_GT(fs::file_size(fits), 1u << 20) << "larger than the headers held in memory";
  const Catalog fits_catalog = read_catalog(fits);
  EXPECT_EQ(fits_catalog.format, Format::kFitsTable);
  EXPECT_EQ(fits_catalog.table.column("PHOT_18").type(), ColumnType::kFloat32);
  LargeFitsTable::expect_every_cell(fits_catalog.table);
  const Catalog ldac_catalog = read_catalog(ldac);
  EXPECT_EQ(ldac_catalog.format, Format::kFitsLdac);
  LargeFitsTable::expect_every_cell(ldac_catalog.table);
}

// The headers in memory end before the rest of the file: an LDAC_OBJECTS
// extension after a large first table is still found, as in a small file.
TEST(LargeFitsTables, AnLdacObjectsExtensionAfterALargeTableIsFound) {
  TempDir dir;
  const fs::path path = dir.path() / "then_ldac.fits";
  LargeFitsTable::write(path, "OBJECTS", false, "LDAC_OBJECTS");
  const Catalog catalog = read_catalog(path);
  EXPECT_EQ(catalog.format, Format::kFitsLdac);
  EXPECT_THAT(catalog.table.column("NUMBER").int64s(), ElementsAre(7, 8, 9));
  // Another table after it does not change which one is read.
  const fs::path other = dir.path() / "then_other.fits";
  LargeFitsTable::write(other, "OBJECTS", false, "OTHER");
  LargeFitsTable::expect_every_cell(read_catalog(other).table);
}

TEST(LargeFitsTables, TruncatedRowsFailCleanly) {
  TempDir dir;
  const fs::path whole = dir.path() / "large.fits";
  LargeFitsTable::write(whole, "OBJECTS", false);
  const std::string bytes = read_file(whole);
  for (size_t cut : {bytes.size() - 2880, bytes.size() / 2, size_t{300000}}) {
    const fs::path path = dir.path() / ("cut-" + std::to_string(cut) + ".fits");
    write_file(path, bytes.substr(0, cut));
    expect_bad_input(path, {path.string() + ", HDU 2 (OBJECTS): file truncated: the table's 10007 rows end at byte"});
  }
}

// Headers that promise more than the file holds must fail before anything
// that large is allocated.
TEST(BadCatalog, CorruptFitsHeaders) {
  TempDir dir;
  const std::string bytes = read_file(fixture("epoch_000", ".fits_1_0.cat"));
  auto corrupt = [&](const std::string& name, const std::string& card, const std::string& replacement) {
    std::string changed = bytes;
    const size_t at = changed.find(card);
    EXPECT_NE(at, std::string::npos) << card;
    changed.replace(at, replacement.size(), replacement);
    const fs::path path = dir.path() / name;
    write_file(path, changed);
    return path;
  };
  const std::string objects = ", HDU 2 (OBJECTS): ";
  fs::path path = corrupt("rows.fits", "NAXIS2  =                  281", "NAXIS2  =          99999999999");
  expect_bad_input(path, {path.string() + objects + "file truncated: the table's 99999999999 rows"});
  path = corrupt("names.fits", "TTYPE4  = 'X_IMAGE '", "TTYPE4  = 'NUMBER  '");
  expect_bad_input(path, {path.string() + objects + "column NUMBER: named twice"});
  path = corrupt("repeat.fits", "TFORM10 = '4E      '", "TFORM10 = '999999999E'");
  expect_bad_input(path, {path.string() + objects + "column MAG_APER: TFORM10 = 999999999E is wider than a row"});
  path = corrupt("complex.fits", "TFORM6  = '1E      '", "TFORM6  = '1C      '");
  expect_bad_input(path, {path.string() + objects + "column MAG_AUTO: FITS field type", "is not supported"});
}

// Whatever prefix of a catalog a crash or full disk leaves behind reads as a
// table (cut between rows) or throws kBadInput; nothing else.
TEST(BadCatalog, EveryTruncationFailsCleanly) {
  TempDir dir;
  for (const FormatFile& format : kFormats) {
    const std::string bytes = read_file(fixture("epoch_002", format.suffix));
    const bool fits = format.format == Format::kFitsTable || format.format == Format::kFitsLdac;
    const fs::path path = dir.path() / (std::string("cut") + format.suffix);
    for (size_t cut = 1; cut < bytes.size(); cut += fits ? 331 : 97) {
      // A new file each time: ext4 flushes a file truncated and rewritten.
      fs::remove(path);
      write_file(path, bytes.substr(0, cut));
      try {
        const Table table = read_catalog(path).table;
        EXPECT_LE(table.num_rows(), kRows);
        EXPECT_FALSE(fits) << "a FITS file cut at " << cut << " bytes read without error";
      } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << error.what();
        EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
      }
    }
  }
}

}  // namespace
}  // namespace lcstore::testing
