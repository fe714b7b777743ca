// A source catalog in memory: named columns of equal length.
//
// Every reader (read_catalog.h) produces this one shape whatever the file
// format, so the layers above never see a format. Vector quantities are
// already expanded into scalar columns named as astropy names them:
// MAG_APER, MAG_APER_1, MAG_APER_2, ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace lcstore::catalog {

enum class ColumnType {
  kInt64,    // integer quantities: NUMBER, FLAGS, ...
  kFloat64,  // everything measured; float32 FITS columns are widened exactly
  kString,   // only formats that declare text columns (FITS 'A', ECSV string)
};

// "int64", "float64" or "string".
const char* to_string(ColumnType type);

class Column {
 public:
  using Cells = std::variant<std::vector<int64_t>, std::vector<double>, std::vector<std::string>>;

  Column(std::string name, Cells cells) : name_(std::move(name)), cells_(std::move(cells)) {}

  const std::string& name() const { return name_; }
  ColumnType type() const { return static_cast<ColumnType>(cells_.index()); }
  size_t size() const;
  bool is_numeric() const { return type() != ColumnType::kString; }

  // The cells; each throws Error(kInvalidArgument) if the column has another type.
  const std::vector<int64_t>& int64s() const;
  const std::vector<double>& float64s() const;
  const std::vector<std::string>& strings() const;

  // Cell `row` of a numeric column as a double (int64 converted), so callers
  // need not care how a format happened to store a number.
  double number(size_t row) const;
  // The cells of a numeric column as float64, converting int64 cells in place
  // first; for callers that rewrite values (e.g. invalid -> NaN).
  std::vector<double>& mutable_float64s();

 private:
  std::string name_;
  Cells cells_;
};

class Table {
 public:
  // `source` names where the table came from (the file path); errors about
  // the table's content name it.
  explicit Table(std::string source = {}) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  // 0 for a table without columns, and for a catalog with a header but no rows.
  size_t num_rows() const { return columns_.empty() ? 0 : columns_.front().size(); }
  size_t num_columns() const { return columns_.size(); }
  const std::vector<Column>& columns() const { return columns_; }
  std::vector<std::string> column_names() const;

  // The column named exactly `name` (names are case-sensitive here; the
  // column mapping matches case-insensitively), or nullptr.
  const Column* find(std::string_view name) const;
  Column* find(std::string_view name);
  // As find, but throws Error(kBadInput) naming the source if there is none.
  const Column& column(std::string_view name) const;

  // Appends a column. Throws Error(kInvalidArgument) if the name is taken or
  // the column's length differs from the columns already there.
  void add_column(Column column);

 private:
  std::string source_;
  std::vector<Column> columns_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in columns_
};

}  // namespace lcstore::catalog
