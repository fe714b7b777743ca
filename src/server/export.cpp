#include "server/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <variant>

namespace lcstore::server {

using lightcurve::EpochTable;
using lightcurve::LightCurve;
using lightcurve::LightCurveStore;

const char* content_type(ExportFormat format) {
  switch (format) {
    case ExportFormat::kCsv:
      return "text/csv; charset=utf-8";
    case ExportFormat::kEcsv:
      return "text/plain; charset=utf-8";
    case ExportFormat::kVotable:
      return "application/x-votable+xml";
  }
  return "";
}

const char* file_extension(ExportFormat format) {
  switch (format) {
    case ExportFormat::kCsv:
      return "csv";
    case ExportFormat::kEcsv:
      return "ecsv";
    case ExportFormat::kVotable:
      return "vot";
  }
  return "";
}

namespace {

enum class ColumnType { kString, kFloat32, kFloat64 };

struct Column {
  std::string name;
  ColumnType type;
};

std::vector<Column> columns_of(const LightCurveStore& store) {
  std::vector<Column> columns = {{"object", ColumnType::kString}, {"epoch", ColumnType::kString}};
  for (const EpochTable::Variable& variable : store.epochs().variables) {
    const bool numeric = std::holds_alternative<std::vector<double>>(variable.values);
    columns.push_back({"epoch_" + variable.name, numeric ? ColumnType::kFloat64 : ColumnType::kString});
  }
  columns.push_back({"measurement", ColumnType::kString});
  for (const std::string& value : store.values()) columns.push_back({value, ColumnType::kFloat32});
  return columns;
}

// One row's cells as text, "nan" for a missing number, and a writer of them.
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  virtual void header(const std::vector<Column>& columns) = 0;
  virtual void row(const std::vector<std::string>& cells, const std::vector<bool>& missing) = 0;
  virtual void footer() {}
};

// CSV and ECSV quote a cell holding the delimiter, a quote or a line break,
// as `lcstore lightcurve --format csv` does.
void append_csv_cell(std::string& out, const std::string& cell) {
  if (std::none_of(cell.begin(), cell.end(), [](char c) { return c == ',' || c == '"' || c == '\n'; })) {
    out += cell;
    return;
  }
  out += '"';
  for (char c : cell) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  out += '"';
}

class CsvWriter : public RowWriter {
 public:
  explicit CsvWriter(std::string& out) : out_(out) {}
  void header(const std::vector<Column>& columns) override {
    std::vector<std::string> names;
    for (const Column& column : columns) names.push_back(column.name);
    row(names, std::vector<bool>(names.size(), false));
  }
  void row(const std::vector<std::string>& cells, const std::vector<bool>&) override {
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out_ += ',';
      append_csv_cell(out_, cells[c]);
    }
    out_ += '\n';
  }

 protected:
  std::string& out_;
};

class EcsvWriter : public CsvWriter {
 public:
  using CsvWriter::CsvWriter;
  void header(const std::vector<Column>& columns) override {
    out_ += "# %ECSV 1.0\n# ---\n# delimiter: ','\n# datatype:\n";
    for (const Column& column : columns) {
      const char* type = column.type == ColumnType::kString    ? "string"
                         : column.type == ColumnType::kFloat32 ? "float32"
                                                               : "float64";
      out_ += fmt::format("# - {{name: {}, datatype: {}}}\n", column.name, type);
    }
    CsvWriter::header(columns);
  }
};

std::string xml_escaped(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        // XML 1.0 allows no control characters but tab and line breaks.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') escaped += c;
    }
  }
  return escaped;
}

class VotableWriter : public RowWriter {
 public:
  explicit VotableWriter(std::string& out) : out_(out) {}
  void header(const std::vector<Column>& columns) override {
    out_ +=
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n"
        "<RESOURCE>\n<TABLE name=\"lightcurves\">\n";
    for (const Column& column : columns) {
      const char* type = column.type == ColumnType::kString    ? "datatype=\"char\" arraysize=\"*\""
                         : column.type == ColumnType::kFloat32 ? "datatype=\"float\""
                                                               : "datatype=\"double\"";
      out_ += fmt::format("<FIELD name=\"{}\" {}/>\n", xml_escaped(column.name), type);
    }
    out_ += "<DATA>\n<TABLEDATA>\n";
  }
  void row(const std::vector<std::string>& cells, const std::vector<bool>& missing) override {
    out_ += "<TR>";
    for (size_t c = 0; c < cells.size(); ++c) {
      // VOTable's missing float is NaN; an empty cell reads as NaN too.
      out_ += missing[c] ? std::string("<TD></TD>") : "<TD>" + xml_escaped(cells[c]) + "</TD>";
    }
    out_ += "</TR>\n";
  }
  void footer() override { out_ += "</TABLEDATA>\n</DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n"; }

 private:
  std::string& out_;
};

// Numbers in their shortest exact form, as the CLI prints them.
template <typename T>
void set_number(std::string& cell, bool& missing, T number) {
  missing = std::isnan(number);
  cell = missing ? std::string("nan") : fmt::format("{}", number);
}

}  // namespace

std::string export_light_curves(const LightCurveStore& store, const std::vector<LightCurve>& curves,
                                ExportFormat format) {
  std::string out;
  std::unique_ptr<RowWriter> writer;
  switch (format) {
    case ExportFormat::kCsv:
      writer = std::make_unique<CsvWriter>(out);
      break;
    case ExportFormat::kEcsv:
      writer = std::make_unique<EcsvWriter>(out);
      break;
    case ExportFormat::kVotable:
      writer = std::make_unique<VotableWriter>(out);
      break;
  }
  const std::vector<Column> columns = columns_of(store);
  writer->header(columns);
  const EpochTable& epochs = store.epochs();
  const size_t n_epochs = epochs.keys.size();
  const size_t n_values = store.values().size();
  std::vector<std::string> cells(columns.size());
  std::vector<bool> missing(columns.size(), false);
  for (const LightCurve& curve : curves) {
    for (size_t m = 0; m < curve.measurements.size(); ++m) {
      for (size_t e = 0; e < n_epochs; ++e) {
        size_t c = 0;
        cells[c++] = curve.object;
        cells[c++] = epochs.keys[e];
        for (const EpochTable::Variable& variable : epochs.variables) {
          if (const auto* numbers = std::get_if<std::vector<double>>(&variable.values)) {
            bool is_missing = false;
            set_number(cells[c], is_missing, (*numbers)[e]);
            missing[c++] = is_missing;
          } else {
            cells[c++] = std::get<std::vector<std::string>>(variable.values)[e];
          }
        }
        cells[c++] = curve.measurements[m];
        for (size_t v = 0; v < n_values; ++v) {
          bool is_missing = false;
          set_number(cells[c], is_missing, curve.data[(m * n_values + v) * n_epochs + e]);
          missing[c++] = is_missing;
        }
        writer->row(cells, missing);
      }
    }
  }
  writer->footer();
  return out;
}

}  // namespace lcstore::server
