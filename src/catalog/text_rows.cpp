#include "catalog/text_rows.h"

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <utility>

#include "catalog/parse_support.h"

namespace lcstore::catalog::detail {

std::string Field::text() const {
  if (!quoted) return std::string(raw());
  std::string text;
  text.reserve(static_cast<size_t>(end - begin));
  for (const char* p = begin; p != end; ++p) {
    text += *p;
    if (*p == '"' && p + 1 != end && p[1] == '"') ++p;
  }
  return text;
}

bool FieldCursor::quoted_field(Field& field) {
  ++p_;  // the opening quote
  field = Field{p_, end_, true, true};
  while (p_ != end_) {
    if (*p_ == '"') {
      if (p_ + 1 != end_ && p_[1] == '"') {
        p_ += 2;
        continue;
      }
      field.end = p_++;
      field.bad_quote = delimiter_ == Delimiter::kWhitespace && p_ != end_ && !is_space(*p_);
      return true;
    }
    ++p_;
  }
  return true;  // unterminated: bad_quote stays set
}

std::vector<std::string> split_fields(std::string_view line, Delimiter delimiter) {
  std::vector<std::string> fields;
  FieldCursor cursor(line, delimiter);
  Field field;
  while (cursor.next(field)) fields.push_back(field.text());
  return fields;
}

namespace {

// The cells of one column while rows are parsed. An inferred column holds
// int64 cells until the first cell that is not an integer, then turns float64.
struct ColumnBuilder {
  CellType type;
  Numbers<int64_t> ints;
  Numbers<double> floats;
  std::vector<std::string> strings;

  void reserve(size_t rows) {
    if (type == CellType::kInferred || type == CellType::kInt64) ints.reserve(rows);
    if (type == CellType::kFloat64) floats.reserve(rows);
    if (type == CellType::kString) strings.reserve(rows);
  }

  void widen_to_float64() {
    floats.reserve(ints.capacity());
    for (int64_t cell : ints) floats.push_back(static_cast<double>(cell));
    ints = {};
    type = CellType::kFloat64;
  }

  Column finish(std::string name) && {
    switch (type) {
      case CellType::kInferred:
        // Without rows nothing says the column holds integers.
        if (ints.empty()) return Column(std::move(name), Numbers<double>{});
        return Column(std::move(name), std::move(ints));
      case CellType::kInt64:
        return Column(std::move(name), std::move(ints));
      case CellType::kFloat64:
        return Column(std::move(name), std::move(floats));
      case CellType::kString:
        break;
    }
    return Column(std::move(name), std::move(strings));
  }
};

// Lines in `text`, an upper bound on its rows to reserve for (memchr, as
// std::count goes byte by byte).
size_t count_lines(std::string_view text) {
  size_t lines = 1;
  const char* end = text.data() + text.size();
  for (const char* p = text.data();
       (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) != nullptr; ++p) {
    ++lines;
  }
  return lines;
}

class RowParser {
 public:
  RowParser(Delimiter delimiter, const std::vector<ColumnSpec>& columns, const std::string& file)
      : delimiter_(delimiter), columns_(columns), file_(file) {
    builders_.reserve(columns.size());
    for (const ColumnSpec& column : columns) builders_.push_back(ColumnBuilder{column.type, {}, {}, {}});
  }

  void parse(LineReader& lines) {
    const size_t max_rows = count_lines(lines.rest());

    std::string_view line;
    while (lines.next(line)) {
      if (is_blank_or_comment(line)) continue;
      line_ = lines.line_number();
      FieldCursor cursor(line, delimiter_);
      Field field;
      for (size_t c = 0; c < builders_.size(); ++c) {
        ColumnBuilder& builder = builders_[c];
        if (builder.type == CellType::kFloat64) {
          double cell;
          if (cursor.next_number(cell)) {
            builder.floats.push_back(cell);
            continue;
          }
        } else if (builder.type != CellType::kString) {
          int64_t cell;
          if (cursor.next_number(cell)) {
            builder.ints.push_back(cell);
            continue;
          }
        }
        if (!cursor.next(field)) too_few_cells(c);
        store(builder, c, field);
      }
      if (cursor.next(field)) too_many_cells(line);
      // Inferred columns know their type after the first row.
      if (++rows_ == 1)
        for (ColumnBuilder& builder : builders_) builder.reserve(max_rows);
    }
  }

  Table finish() && {
    Table table(file_);
    for (size_t c = 0; c < builders_.size(); ++c) table.add_column(std::move(builders_[c]).finish(columns_[c].name));
    return table;
  }

 private:
  // A cell the fast path in parse() did not take: quoted, empty, text, the
  // first non-integer of an inferred column, or bad.
  void store(ColumnBuilder& builder, size_t c, const Field& field) {
    if (field.bad_quote) bad_cell(c, field, "has unbalanced double quotes");
    switch (builder.type) {
      case CellType::kInferred: {
        int64_t cell;
        if (parse_whole_number(field.begin, field.end, cell)) {
          builder.ints.push_back(cell);
          return;
        }
        builder.widen_to_float64();
        [[fallthrough]];
      }
      case CellType::kFloat64: {
        double cell;
        if (parse_whole_number(field.begin, field.end, cell)) {
          builder.floats.push_back(cell);
        } else if (field.begin == field.end) {
          builder.floats.push_back(std::numeric_limits<double>::quiet_NaN());
        } else {
          bad_cell(c, field, "is not a number");
        }
        return;
      }
      case CellType::kInt64: {
        int64_t cell;
        if (parse_whole_number(field.begin, field.end, cell)) {
          builder.ints.push_back(cell);
        } else {
          bad_cell(c, field, field.begin == field.end ? "missing value in an int64 column" : "is not a 64-bit integer");
        }
        return;
      }
      case CellType::kString:
        builder.strings.push_back(field.text());
        return;
    }
  }

  [[noreturn]] [[gnu::cold]] void bad_cell(size_t c, const Field& field, std::string_view reason) const {
    std::string message =
        field.begin == field.end ? std::string(reason) : quote_cell(field.raw()) + " " + std::string(reason);
    fail(at_line(file_, line_), columns_[c].name, message);
  }

  [[noreturn]] [[gnu::cold]] void too_few_cells(size_t c) const {
    fail(at_line(file_, line_), columns_[c].name,
         "missing: the row has " + std::to_string(c) + " of " + std::to_string(columns_.size()) +
             " cells (file truncated?)");
  }

  [[noreturn]] [[gnu::cold]] void too_many_cells(std::string_view line) const {
    fail(at_line(file_, line_), "",
         "the row has " + std::to_string(split_fields(line, delimiter_).size()) + " cells, but there are " +
             std::to_string(columns_.size()) + " columns (" + columns_.front().name + " ... " + columns_.back().name +
             ")");
  }

  Delimiter delimiter_;
  const std::vector<ColumnSpec>& columns_;
  const std::string& file_;
  std::vector<ColumnBuilder> builders_;
  size_t line_ = 0;  // of the row being parsed
  size_t rows_ = 0;
};

}  // namespace

Table parse_rows(LineReader& lines, Delimiter delimiter, const std::vector<ColumnSpec>& columns,
                 const std::string& file, size_t header_line) {
  if (columns.empty()) fail(at_line(file, header_line), "", "the header names no columns");
  std::unordered_set<std::string_view> names;
  for (const ColumnSpec& column : columns) {
    if (column.name.empty()) fail(at_line(file, header_line), "", "a column has an empty name");
    if (!names.insert(column.name).second) fail(at_line(file, header_line), column.name, "named twice in the header");
  }
  RowParser parser(delimiter, columns, file);
  parser.parse(lines);
  return std::move(parser).finish();
}

}  // namespace lcstore::catalog::detail
