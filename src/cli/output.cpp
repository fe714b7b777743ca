#include "cli/output.h"

#include <algorithm>
#include <cmath>
#include <ostream>

#include <fmt/core.h>

namespace lcstore::cli {

using nlohmann::json;

void add_format_options(CLI::App* command, OutputFormat& format) {
  std::map<std::string, OutputFormat> names = {
      {"table", OutputFormat::kTable}, {"csv", OutputFormat::kCsv}, {"json", OutputFormat::kJson}};
  command->add_option("--format", format, "Output format: table, csv or json")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
      ->default_str("table");
  command->add_flag_callback("--json", [&format] { format = OutputFormat::kJson; }, "Same as --format json");
}

json float_cell(float value) {
  if (std::isnan(value)) return nullptr;
  return std::stod(fmt::format("{}", value));
}

json double_cell(double value) {
  if (std::isnan(value)) return nullptr;
  return value;
}

namespace {

std::string text_of(const json& cell) {
  if (cell.is_null()) return "nan";
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_number_float()) return fmt::format("{}", cell.get<double>());
  return cell.dump();
}

}  // namespace

void Records::print(std::ostream& out, OutputFormat format) const {
  if (format == OutputFormat::kJson) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& row : rows) {
      nlohmann::ordered_json record = nlohmann::ordered_json::object();
      for (size_t c = 0; c < columns.size(); ++c) record[columns[c]] = row[c];
      list.push_back(std::move(record));
    }
    out << list.dump(1) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> texts;
  for (const auto& row : rows) {
    std::vector<std::string> text;
    for (const json& cell : row) text.push_back(text_of(cell));
    texts.push_back(std::move(text));
  }
  if (format == OutputFormat::kCsv) {
    auto quoted = [](const std::string& cell) {
      if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
      std::string text = "\"";
      for (char c : cell) text += c == '"' ? std::string("\"\"") : std::string(1, c);
      return text + "\"";
    };
    auto print_line = [&](const std::vector<std::string>& cells) {
      for (size_t c = 0; c < cells.size(); ++c) out << (c ? "," : "") << quoted(cells[c]);
      out << "\n";
    };
    print_line(columns);
    for (const auto& text : texts) print_line(text);
    return;
  }
  std::vector<size_t> widths;
  for (const std::string& column : columns) widths.push_back(column.size());
  for (const auto& text : texts) {
    for (size_t c = 0; c < text.size(); ++c) widths[c] = std::max(widths[c], text[c].size());
  }
  auto print_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      line += fmt::format("{:>{}}", cells[c], widths[c]);
      if (c + 1 < cells.size()) line += "  ";
    }
    out << line << "\n";
  };
  print_line(columns);
  for (const auto& text : texts) print_line(text);
}

}  // namespace lcstore::cli
