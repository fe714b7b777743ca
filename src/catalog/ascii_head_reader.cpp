// SExtractor ASCII_HEAD: one "#  <n> <NAME> <description> [unit]" line per
// parameter, <n> being the 1-based column where it starts, then rows of
// whitespace-separated numbers. A vector parameter (MAG_APER(4)) has one
// header line and spans the columns up to the next header's <n>.
#include <charconv>

#include "catalog/parse_support.h"
#include "catalog/readers.h"
#include "catalog/text_rows.h"

namespace lcstore::catalog::detail {

namespace {

struct HeaderColumn {
  size_t first;  // 1-based column number
  std::string name;
};

HeaderColumn parse_header_line(std::string_view line, const std::string& file, size_t line_number) {
  auto skip_blanks = [&](size_t i) { return std::min(line.find_first_not_of(" \t", i), line.size()); };
  HeaderColumn column{0, {}};
  size_t i = skip_blanks(1);  // after '#'
  auto [end, ec] = std::from_chars(line.data() + i, line.data() + line.size(), column.first);
  const size_t digits_end = static_cast<size_t>(end - line.data());
  const size_t name_begin = skip_blanks(digits_end);
  const size_t name_end = std::min(line.find_first_of(" \t", name_begin), line.size());
  if (ec != std::errc() || name_begin == digits_end || name_begin == name_end) {
    fail(at_line(file, line_number), "",
         "expected an ASCII_HEAD column header '#  <column number> <NAME> ...', found " + quote_cell(line));
  }
  column.name = line.substr(name_begin, name_end - name_begin);
  return column;
}

// The number of cells in the first row, which tells the width of the last
// parameter: the header gives no column number after it.
size_t first_row_width(LineReader lines) {
  std::string_view line;
  while (lines.next(line)) {
    if (is_blank_or_comment(line)) continue;
    return split_fields(line, Delimiter::kWhitespace).size();
  }
  return 0;
}

}  // namespace

Table read_ascii_head(std::string_view text, const std::string& file) {
  LineReader lines(text);
  std::vector<HeaderColumn> header;
  LineReader rows = lines;
  std::string_view line;
  while (lines.next(line) && line.starts_with('#')) {
    HeaderColumn column = parse_header_line(line, file, lines.line_number());
    if (header.empty() && column.first != 1)
      fail(at_line(file, lines.line_number()), column.name, "the first column must be number 1");
    if (!header.empty() && column.first <= header.back().first) {
      fail(at_line(file, lines.line_number()), column.name,
           "column number " + std::to_string(column.first) + " does not follow " + header.back().name + "'s " +
               std::to_string(header.back().first));
    }
    // Each number up to it is a column: one that no row of this file could reach is refused before it is made.
    if (column.first > text.size())
      fail(at_line(file, lines.line_number()), column.name,
           "column number " + std::to_string(column.first) + " is larger than the file");
    header.push_back(std::move(column));
    rows = lines;
  }
  if (header.empty()) fail(at_line(file, 1), "", "no ASCII_HEAD column header");

  const size_t row_width = first_row_width(rows);
  std::vector<ColumnSpec> columns;
  for (size_t i = 0; i < header.size(); ++i) {
    const size_t last = i + 1 < header.size() ? header[i + 1].first - 1 : std::max(row_width, header[i].first);
    columns.push_back({header[i].name, CellType::kInferred});
    // astropy's names for the further elements of a vector parameter.
    for (size_t k = 1; k <= last - header[i].first; ++k)
      columns.push_back({header[i].name + "_" + std::to_string(k), CellType::kInferred});
  }
  return parse_rows(rows, Delimiter::kWhitespace, columns, file, rows.line_number());
}

}  // namespace lcstore::catalog::detail
