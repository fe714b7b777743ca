// A source catalog in memory: named columns of equal length.
//
// Every reader (read_catalog.h) produces this one shape whatever the file
// format, so the layers above never see a format. Vector quantities are
// already expanded into scalar columns named as astropy names them:
// MAG_APER, MAG_APER_1, MAG_APER_2, ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

namespace lcstore::catalog {

enum class ColumnType {
  kInt64,    // integer quantities: NUMBER, FLAGS, ...
  kFloat64,  // measured quantities of text formats and FITS 'D' fields
  kString,   // only formats that declare text columns (FITS 'A', ECSV string)
  kFloat32,  // FITS 'E' fields, SExtractor's magnitudes: kept at their own
             // width, as widening them doubled the bytes parse and populate move
};

// "int64", "float64", "string" or "float32".
const char* to_string(ColumnType type);

// Allocates as std::allocator, but resize() leaves new numbers
// uninitialised: the FITS reader grows its columns a piece of rows at a
// time and writes every new cell at once, so zeroing them first is wasted.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  void construct(U* place) noexcept {
    ::new (static_cast<void*>(place)) U;
  }
  template <typename U, typename... Args>
  void construct(U* place, Args&&... args) {
    std::construct_at(place, std::forward<Args>(args)...);
  }
};

// The cells of a numeric column.
template <typename T>
using Numbers = std::vector<T, UninitializedAllocator<T>>;

class Column {
 public:
  // In the order of ColumnType.
  using Cells = std::variant<Numbers<int64_t>, Numbers<double>, std::vector<std::string>, Numbers<float>>;
  // The cells of a real-valued column, whichever its width.
  using MutableReals = std::variant<Numbers<float>*, Numbers<double>*>;

  Column(std::string name, Cells cells) : name_(std::move(name)), cells_(std::move(cells)) {}
  // A copy of numbers held in a plain std::vector.
  template <typename T>
  requires std::is_arithmetic_v<T> Column(std::string name, const std::vector<T>& cells)
      : Column(std::move(name), Numbers<T>(cells.begin(), cells.end())) {}

  const std::string& name() const { return name_; }
  ColumnType type() const { return static_cast<ColumnType>(cells_.index()); }
  size_t size() const;
  bool is_numeric() const { return type() != ColumnType::kString; }

  const Cells& cells() const { return cells_; }
  // The cells; each throws Error(kInvalidArgument) if the column has another type.
  const Numbers<int64_t>& int64s() const;
  const Numbers<double>& float64s() const;
  const Numbers<float>& float32s() const;
  const std::vector<std::string>& strings() const;

  // Cell `row` of a numeric column as a double (int64 and float32 converted
  // exactly), so callers need not care how a format happened to store a number.
  double number(size_t row) const;
  // The cells of a numeric column as reals, converting int64 cells to float64
  // in place first; for callers that rewrite values (e.g. invalid -> NaN).
  MutableReals mutable_reals();

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
