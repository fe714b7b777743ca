// Query results as records, printed in the format the user asks for with
// --format (or --json):
//   table  aligned columns under a header, for people (missing values: nan)
//   csv    a header row, then comma-separated rows (missing values: nan)
//   json   an array of objects, one per row (missing values: null)
//
// Records are printed as they are added, so that memory does not grow with
// their number: extracting many light curves prints millions of rows. A table
// holds back only its first kTableWidthRows rows, to size its columns; a
// later row with a wider cell is printed out of line rather than held.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lcstore::cli {

enum class OutputFormat { kTable, kCsv, kJson };

// Adds --format table|csv|json and --json to `command`, writing into `format`.
void add_format_options(CLI::App* command, OutputFormat& format);

// One cell of a record: text, a number printed in its shortest exact form
// (18.25, not 18.25000000000001), or a missing value (NaN). Text is viewed,
// not copied: it must outlive the RecordWriter::add call.
class Cell {
 public:
  Cell(std::string_view text) : kind_(Kind::kText), text_(text) {}
  Cell(const std::string& text) : Cell(std::string_view(text)) {}
  Cell(const char* text) : Cell(std::string_view(text)) {}
  Cell(float value) : kind_(Kind::kFloat32), float_(value) {}
  Cell(double value) : kind_(Kind::kFloat64), double_(value) {}
  template <std::integral T>
  Cell(T value) : kind_(Kind::kInteger), integer_(static_cast<int64_t>(value)) {}
  static Cell missing() { return Cell(Kind::kMissing); }

  // The cell as csv and table print it ("nan" when missing).
  void append_text(fmt::memory_buffer& out) const;
  // The cell as a JSON value (null when missing or not finite).
  void append_json(fmt::memory_buffer& out) const;

 private:
  enum class Kind { kText, kFloat32, kFloat64, kInteger, kMissing };
  explicit Cell(Kind kind) : kind_(kind) {}
  bool missing_number() const;

  Kind kind_;
  union {
    std::string_view text_;
    float float_;
    double double_;
    int64_t integer_;
  };
};

class RecordWriter {
 public:
  static constexpr size_t kTableWidthRows = 10'000;

  RecordWriter(std::ostream& out, OutputFormat format, std::vector<std::string> columns);
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // One record: a cell per column.
  void add(std::span<const Cell> record);
  void add(std::initializer_list<Cell> record) { add(std::span(record.begin(), record.size())); }
  // Prints what is still held back: a short table, the end of the json
  // array. Records added after it are not printed.
  void finish();

 private:
  void print_table_line(const std::vector<std::string>& cells);
  void print_held_table();
  void flush_if_full();

  std::ostream& out_;
  OutputFormat format_;
  std::vector<std::string> columns_;
  fmt::memory_buffer buffer_;
  uint64_t records_ = 0;
  bool finished_ = false;
  // Table only: the rows held back and the column widths once known.
  std::vector<std::vector<std::string>> held_rows_;
  std::vector<size_t> widths_;
  // Json only: what precedes each column's value in a record (",\n  \"name\": ").
  std::vector<std::string> json_keys_;
};

}  // namespace lcstore::cli
