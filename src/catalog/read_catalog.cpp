#include "lcstore/catalog/read_catalog.h"

#include <optional>
#include <string_view>

#include "catalog/catalog_file.h"
#include "catalog/parse_support.h"
#include "catalog/readers.h"
#include "lcstore/catalog/column_mapping.h"
#include "lcstore/error.h"

namespace lcstore::catalog {

const char* to_string(Format format) {
  switch (format) {
    case Format::kAsciiHead:
      return "ascii_head";
    case Format::kFitsTable:
      return "fits_1.0";
    case Format::kFitsLdac:
      return "fits_ldac";
    case Format::kEcsv:
      return "ecsv";
    case Format::kCsv:
      return "csv";
  }
  return "unknown";
}

namespace {

// "#   1 NUMBER ...": '#', blanks, the column number 1, a blank.
bool is_first_ascii_head_header(std::string_view line) {
  if (!line.starts_with('#')) return false;
  line.remove_prefix(1);
  const size_t number = line.find_first_not_of(" \t");
  if (number == 0 || number == std::string_view::npos) return false;
  line.remove_prefix(number);
  return line.starts_with("1 ") || line.starts_with("1\t");
}

// FITS_1.0 and FITS_LDAC differ only in their extensions; the FITS reader
// tells them apart.
constexpr std::string_view kFitsSignature = "SIMPLE  =";

// Decided by the first line alone.
std::optional<Format> detect_text_format(std::string_view contents) {
  // Text formats have no NUL bytes; binary junk must not pass for a CSV
  // because a comma byte happens to come before the first newline byte.
  if (contents.substr(0, 4096).find('\0') != std::string_view::npos) return std::nullopt;
  const std::string_view first_line = contents.substr(0, contents.find('\n'));
  if (first_line.starts_with("# %ECSV")) return Format::kEcsv;
  if (is_first_ascii_head_header(first_line)) return Format::kAsciiHead;
  if (first_line.find(',') != std::string_view::npos) return Format::kCsv;
  return std::nullopt;
}

}  // namespace

Catalog read_catalog(const std::filesystem::path& path, const ReadOptions& options) {
  detail::CatalogFile file(path.string());
  Catalog catalog{Format::kFitsTable, Table(file.path())};
  if (file.prefix(kFitsSignature.size()).starts_with(kFitsSignature)) {
    catalog.table = detail::read_fits(file, catalog.format);
  } else {
    const std::string_view contents = file.whole();
    if (contents.empty()) detail::fail(file.path(), "", "the file is empty");
    const std::optional<Format> detected = detect_text_format(contents);
    if (!detected) {
      detail::fail(file.path(), "",
                   "unknown catalog format: not FITS, ECSV, SExtractor ASCII_HEAD or CSV (first line " +
                       detail::quote_cell(contents.substr(0, contents.find('\n'))) + ")");
    }
    catalog.format = *detected;
    switch (*detected) {
      case Format::kAsciiHead:
        catalog.table = detail::read_ascii_head(contents, file.path());
        break;
      case Format::kEcsv:
        catalog.table = detail::read_ecsv(contents, file.path());
        break;
      case Format::kCsv:
        catalog.table = detail::read_csv(contents, file.path());
        break;
      case Format::kFitsTable:
      case Format::kFitsLdac:
        break;  // not text
    }
  }
  if (catalog.table.num_rows() == 0 && !options.allow_empty) {
    detail::fail(file.path(), "", std::string("the ") + to_string(catalog.format) + " catalog has no rows");
  }
  if (options.invalid_to_nan) invalid_magnitudes_to_nan(catalog.table);
  return catalog;
}

}  // namespace lcstore::catalog
