// Query results as a table of records, printed in the format the user asks
// for with --format (or --json):
//   table  aligned columns under a header, for people (missing values: nan)
//   csv    a header row, then comma-separated rows (missing values: nan)
//   json   an array of objects, one per row (missing values: null)
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace lcstore::cli {

enum class OutputFormat { kTable, kCsv, kJson };

// Adds --format table|csv|json and --json to `command`, writing into `format`.
void add_format_options(CLI::App* command, OutputFormat& format);

struct Records {
  std::vector<std::string> columns;
  // Each cell is a string, a number, or null for a missing value.
  std::vector<std::vector<nlohmann::json>> rows;

  void print(std::ostream& out, OutputFormat format) const;
};

// A float32 value as a JSON number printed in its shortest exact form
// (18.25, not 18.25000000000001), or null for NaN.
nlohmann::json float_cell(float value);
nlohmann::json double_cell(double value);

}  // namespace lcstore::cli
