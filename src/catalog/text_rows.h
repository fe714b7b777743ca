// The data section shared by the text formats (ASCII_HEAD, ECSV, CSV):
// lines of delimited cells, parsed straight from the file's buffer into
// columns without a std::string per cell.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/parse_support.h"
#include "lcstore/catalog/table.h"

namespace lcstore::catalog::detail {

// Successive lines of a text, without their "\n" or "\r\n".
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}

  // The next line, or false at the end of the text.
  bool next(std::string_view& line) {
    if (rest_.empty()) return false;
    const char* newline = static_cast<const char*>(std::memchr(rest_.data(), '\n', rest_.size()));
    const size_t length = newline == nullptr ? rest_.size() : static_cast<size_t>(newline - rest_.data());
    line = rest_.substr(0, length);
    rest_.remove_prefix(newline == nullptr ? length : length + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_number_;
    return true;
  }
  // 1-based number of the line next() returned last.
  size_t line_number() const { return line_number_; }
  // The text after that line.
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
  size_t line_number_ = 0;
};

// True for the lines between rows that carry no cells: blank lines and
// comments ('#' first).
inline bool is_blank_or_comment(std::string_view line) {
  const size_t first = line.find_first_not_of(" \t");
  return first == std::string_view::npos || line[first] == '#';
}

enum class Delimiter {
  kWhitespace,  // runs of blanks separate cells (SExtractor, ECSV default)
  kComma,       // one ',' separates cells, blanks around a cell are ignored
};

// One cell of a line, in place. Cells may be in double quotes (ECSV strings,
// CSV); text() is then what is inside, with "" standing for one '"'.
struct Field {
  const char* begin = nullptr;
  const char* end = nullptr;
  bool quoted = false;
  bool bad_quote = false;  // no closing quote, or text right after it

  std::string_view raw() const { return {begin, static_cast<size_t>(end - begin)}; }
  std::string text() const;
};

// The cells of one line, left to right.
class FieldCursor {
 public:
  FieldCursor(std::string_view line, Delimiter delimiter)
      : p_(line.data()), end_(line.data() + line.size()), delimiter_(delimiter) {}

  // The fast path of next() for the common cell: reads a cell that is
  // exactly one number (int64_t or double) into `value`. Otherwise returns
  // false without moving, for next() to deal with the cell.
  template <typename Number>
  [[gnu::always_inline]] bool next_number(Number& value) {
    const char* p = p_;
    while (p != end_ && is_space(*p)) ++p;
    const char* stop = parse_number(p, end_, value);
    if (stop == nullptr) return false;
    if (delimiter_ == Delimiter::kWhitespace) {
      if (stop != end_ && !is_space(*stop)) return false;
      p_ = stop;
      return true;
    }
    if (done_) return false;
    while (stop != end_ && is_space(*stop)) ++stop;
    if (stop == end_) {
      done_ = true;
    } else if (*stop == ',') {
      ++stop;
    } else {
      return false;
    }
    p_ = stop;
    return true;
  }

  // The next cell, or false if the line has no more. With commas "a,,b" has
  // an empty middle cell; with blanks there are no empty cells.
  bool next(Field& field) {
    if (delimiter_ == Delimiter::kWhitespace) {
      while (p_ != end_ && is_space(*p_)) ++p_;
      if (p_ == end_) return false;
      if (*p_ == '"') return quoted_field(field);
      field = Field{p_, p_, false, false};
      while (p_ != end_ && !is_space(*p_)) ++p_;
      field.end = p_;
      return true;
    }
    if (done_) return false;
    while (p_ != end_ && is_space(*p_)) ++p_;
    if (p_ != end_ && *p_ == '"') {
      quoted_field(field);
    } else {
      field = Field{p_, p_, false, false};
      const char* comma = static_cast<const char*>(std::memchr(p_, ',', static_cast<size_t>(end_ - p_)));
      p_ = comma == nullptr ? end_ : comma;
      field.end = p_;
      while (field.end != field.begin && is_space(field.end[-1])) --field.end;
    }
    while (p_ != end_ && is_space(*p_)) ++p_;
    if (p_ != end_ && *p_ == ',') {
      ++p_;
    } else {
      if (p_ != end_) field.bad_quote = true;
      done_ = true;
    }
    return true;
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
  bool quoted_field(Field& field);

  const char* p_;
  const char* end_;
  Delimiter delimiter_;
  bool done_ = false;
};

// The cells of `line` as strings, for header rows.
std::vector<std::string> split_fields(std::string_view line, Delimiter delimiter);

// How the cells of a column are parsed.
enum class CellType {
  kInferred,  // int64 while every cell is an integer, else float64 (formats without types)
  kInt64,
  kFloat64,
  kString,
};

struct ColumnSpec {
  std::string name;
  CellType type = CellType::kInferred;
};

// Parses every remaining line of `lines` as a row of `columns`, into a table
// whose source is `file`. Blank lines and lines starting with '#' are
// skipped. An empty cell (CSV ",,", ECSV "") is a missing value: NaN in a
// float64 column. Throws the catalog errors (fail()) naming the line and
// column: a cell that is not a number, too few or too many cells. A column
// of kInferred cells without any rows is float64. `header_line` is where the
// column names were, for an error about duplicate names.
Table parse_rows(LineReader& lines, Delimiter delimiter, const std::vector<ColumnSpec>& columns,
                 const std::string& file, size_t header_line);

}  // namespace lcstore::catalog::detail
