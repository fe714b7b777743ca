#include "cli/output.h"

#include <fmt/compile.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <ostream>

namespace lcstore::cli {

void add_format_options(CLI::App* command, OutputFormat& format) {
  std::map<std::string, OutputFormat> names = {
      {"table", OutputFormat::kTable}, {"csv", OutputFormat::kCsv}, {"json", OutputFormat::kJson}};
  command->add_option("--format", format, "Output format: table, csv or json")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case).description("table|csv|json"))
      ->default_str("table");
  command->add_flag_callback(
      "--json", [&format] { format = OutputFormat::kJson; }, "Same as --format json");
}

bool Cell::missing_number() const {
  return kind_ == Kind::kMissing || (kind_ == Kind::kFloat32 && std::isnan(float_)) ||
         (kind_ == Kind::kFloat64 && std::isnan(double_));
}

void Cell::append_text(fmt::memory_buffer& out) const {
  auto to = std::back_inserter(out);
  if (missing_number()) {
    fmt::format_to(to, "nan");
    return;
  }
  switch (kind_) {
    case Kind::kText:
      out.append(text_);
      break;
    case Kind::kFloat32:
      fmt::format_to(to, FMT_COMPILE("{}"), float_);
      break;
    case Kind::kFloat64:
      fmt::format_to(to, FMT_COMPILE("{}"), double_);
      break;
    case Kind::kInteger:
      fmt::format_to(to, FMT_COMPILE("{}"), integer_);
      break;
    case Kind::kMissing:
      break;
  }
}

void Cell::append_json(fmt::memory_buffer& out) const {
  const bool finite =
      (kind_ != Kind::kFloat32 || std::isfinite(float_)) && (kind_ != Kind::kFloat64 || std::isfinite(double_));
  if (missing_number() || !finite) {
    fmt::format_to(std::back_inserter(out), "null");
    return;
  }
  if (kind_ == Kind::kText) {
    // Most text needs no escaping; the rest goes through nlohmann::json,
    // which also replaces bytes that are not UTF-8.
    const bool plain = std::all_of(text_.begin(), text_.end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x80 && c != '"' && c != '\\';
    });
    if (plain) {
      fmt::format_to(std::back_inserter(out), "\"{}\"", text_);
    } else {
      const std::string quoted =
          nlohmann::json(std::string(text_)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out.append(quoted);
    }
    return;
  }
  const size_t start = out.size();
  append_text(out);
  // A floating-point number keeps a decimal point (18.0, not 18), as JSON
  // writers print them.
  if (kind_ != Kind::kInteger &&
      std::none_of(out.begin() + start, out.end(), [](char c) { return c == '.' || c == 'e'; })) {
    fmt::format_to(std::back_inserter(out), ".0");
  }
}

RecordWriter::RecordWriter(std::ostream& out, OutputFormat format, std::vector<std::string> columns)
    : out_(out), format_(format), columns_(std::move(columns)) {
  switch (format_) {
    case OutputFormat::kCsv: {
      std::vector<Cell> header(columns_.begin(), columns_.end());
      add(header);
      records_ = 0;
      break;
    }
    case OutputFormat::kTable:
      for (const std::string& column : columns_) widths_.push_back(column.size());
      break;
    case OutputFormat::kJson:
      // Each record repeats the column names: they are quoted once here.
      for (size_t c = 0; c < columns_.size(); ++c) {
        fmt::memory_buffer key;
        fmt::format_to(std::back_inserter(key), "{}\n  ", c == 0 ? "" : ",");
        Cell(columns_[c]).append_json(key);
        fmt::format_to(std::back_inserter(key), ": ");
        json_keys_.emplace_back(key.data(), key.size());
      }
      break;
  }
}

void RecordWriter::add(std::span<const Cell> record) {
  if (finished_) return;
  switch (format_) {
    case OutputFormat::kJson: {
      fmt::format_to(std::back_inserter(buffer_), "{}\n {{", records_ == 0 ? "[" : ",");
      for (size_t c = 0; c < record.size(); ++c) {
        buffer_.append(json_keys_[c]);
        record[c].append_json(buffer_);
      }
      fmt::format_to(std::back_inserter(buffer_), "\n }}");
      break;
    }
    case OutputFormat::kCsv:
      for (size_t c = 0; c < record.size(); ++c) {
        if (c > 0) buffer_.push_back(',');
        const size_t start = buffer_.size();
        record[c].append_text(buffer_);
        const std::string_view text(buffer_.data() + start, buffer_.size() - start);
        if (std::none_of(text.begin(), text.end(), [](char ch) { return ch == ',' || ch == '"' || ch == '\n'; }))
          continue;
        std::string quoted = "\"";
        for (char ch : text) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        quoted += '"';
        buffer_.resize(start);
        buffer_.append(quoted);
      }
      buffer_.push_back('\n');
      break;
    case OutputFormat::kTable: {
      std::vector<std::string> cells;
      fmt::memory_buffer text;
      for (const Cell& cell : record) {
        text.clear();
        cell.append_text(text);
        cells.emplace_back(text.data(), text.size());
      }
      if (records_ < kTableWidthRows) {
        for (size_t c = 0; c < cells.size(); ++c) widths_[c] = std::max(widths_[c], cells[c].size());
        held_rows_.push_back(std::move(cells));
        if (held_rows_.size() == kTableWidthRows) print_held_table();
      } else {
        print_table_line(cells);
      }
      break;
    }
  }
  ++records_;
  flush_if_full();
}

void RecordWriter::print_table_line(const std::vector<std::string>& cells) {
  for (size_t c = 0; c < cells.size(); ++c) {
    fmt::format_to(std::back_inserter(buffer_), "{:>{}}{}", cells[c], widths_[c], c + 1 < cells.size() ? "  " : "\n");
  }
}

void RecordWriter::print_held_table() {
  print_table_line(columns_);
  for (const std::vector<std::string>& cells : held_rows_) print_table_line(cells);
  held_rows_ = {};
}

void RecordWriter::flush_if_full() {
  constexpr size_t kFlushBytes = 1 << 20;
  if (buffer_.size() < kFlushBytes) return;
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
}

void RecordWriter::finish() {
  if (finished_) return;
  switch (format_) {
    case OutputFormat::kJson:
      fmt::format_to(std::back_inserter(buffer_), "{}\n", records_ == 0 ? "[]" : "\n]");
      break;
    case OutputFormat::kTable:
      if (records_ < kTableWidthRows) print_held_table();  // else printed when the last was held
      break;
    case OutputFormat::kCsv:
      break;
  }
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  out_.flush();
  finished_ = true;
}

}  // namespace lcstore::cli
