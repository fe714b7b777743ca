// CSV: a row of column names, then rows of numbers, comma-separated. CSV
// declares no types, so a column is int64 if every cell is an integer and
// float64 otherwise; a cell that is not a number is an error (catalogs are
// numeric), an empty cell a missing value (NaN).
#include "catalog/parse_support.h"
#include "catalog/readers.h"
#include "catalog/text_rows.h"

namespace lcstore::catalog::detail {

Table read_csv(std::string_view text, const std::string& file) {
  // Spreadsheet programs start UTF-8 files with a byte order mark.
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  LineReader lines(text);
  std::string_view line;
  lines.next(line);
  std::vector<ColumnSpec> columns;
  for (std::string& name : split_fields(line, Delimiter::kComma))
    columns.push_back({std::move(name), CellType::kInferred});
  return parse_rows(lines, Delimiter::kComma, columns, file, 1);
}

}  // namespace lcstore::catalog::detail
