// The per-format readers behind read_catalog(). Each text reader parses a
// whole file already in memory; `file` is its path, named in every error.
#pragma once

#include <string>
#include <string_view>

#include "catalog/catalog_file.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/catalog/table.h"

namespace lcstore::catalog::detail {

Table read_ascii_head(std::string_view text, const std::string& file);
Table read_ecsv(std::string_view text, const std::string& file);
Table read_csv(std::string_view text, const std::string& file);
// A FITS file is FITS_LDAC if it has an LDAC_OBJECTS extension, else
// FITS_1.0 (the first table extension); `format` is set to which.
Table read_fits(CatalogFile& file, Format& format);

}  // namespace lcstore::catalog::detail
