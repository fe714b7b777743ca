// Reading a source catalog file of any supported format into a Table.
//
//   auto catalog = lcstore::catalog::read_catalog("epoch_001.cat");
//   double first_mag = catalog.table.column("MAG_AUTO").number(0);
//
// The format is recognised from the file's content, never from its name:
//   FITS (SExtractor FITS_1.0 or FITS_LDAC)  the file starts with "SIMPLE  ="
//   ECSV (as astropy writes it)              the first line starts with "# %ECSV"
//   SExtractor ASCII_HEAD                    the first line is "#   1 NAME ..."
//   CSV with a header row                    otherwise, if the first line has a comma
// All formats give the same column names and values for the same catalog
// (text formats hold reals as float64, FITS keeps 'E' fields float32).
//
// Errors are lcstore::Error: kIo if the file cannot be read, kBadInput for
// anything wrong with its content (unknown format, truncated, a cell that is
// not a number, rows of the wrong width, ...); the message names the file,
// the line or FITS extension, the column and the reason, e.g.
//   "epoch_001.cat:57: column MAG_AUTO: 'abc' is not a number".
// A file with a valid header but no rows is refused unless
// ReadOptions::allow_empty (an epoch where nothing was detected).
#pragma once

#include <filesystem>

#include "lcstore/catalog/table.h"

namespace lcstore::catalog {

enum class Format {
  kAsciiHead,  // SExtractor ASCII_HEAD: "#  n NAME" header lines, whitespace-separated rows
  kFitsTable,  // SExtractor FITS_1.0: the first binary table extension ("OBJECTS")
  kFitsLdac,   // SExtractor FITS_LDAC: the "LDAC_OBJECTS" extension
  kEcsv,       // astropy ECSV 1.0: YAML header in "# " lines, then delimited rows
  kCsv,        // comma-separated rows under a header row of column names
};

// "ascii_head", "fits_1.0", "fits_ldac", "ecsv" or "csv".
const char* to_string(Format format);

struct ReadOptions {
  // SExtractor writes magnitude 99.0 (and error 99.0) for "no measurement".
  // By default values are kept exactly as in the file; when set, every
  // MAG_<m>/MAGERR_<m> pair goes through invalid_magnitudes_to_nan
  // (column_mapping.h).
  bool invalid_to_nan = false;
  // A catalog of no rows: an error (a truncated or misread file looks the
  // same), or an empty table.
  bool allow_empty = false;
};

struct Catalog {
  Format format;
  Table table;  // table.source() is the path
};

Catalog read_catalog(const std::filesystem::path& path, const ReadOptions& options = {});

}  // namespace lcstore::catalog
