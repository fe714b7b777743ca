// ECSV 1.0 as astropy writes it: "# %ECSV 1.0", a YAML document in "# "
// lines whose `datatype` list names and types the columns, a row of the
// column names, then rows (space-separated unless the YAML sets `delimiter`).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iterator>

#include "catalog/parse_support.h"
#include "catalog/readers.h"
#include "catalog/text_rows.h"

namespace lcstore::catalog::detail {

namespace {

constexpr size_t kFirstYamlLine = 2;  // the file line of the YAML text's first line

// "file:line" of a YAML node, for errors about what it says.
std::string at_node(const std::string& file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return at_line(file, kFirstYamlLine + (mark.is_null() ? 0 : static_cast<size_t>(mark.line)));
}

CellType cell_type_of(const YAML::Node& entry, const std::string& column, const std::string& file) {
  const auto datatype = entry["datatype"].as<std::string>();
  constexpr std::string_view kIntegers[] = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"};
  constexpr std::string_view kFloats[] = {"float16", "float32", "float64"};
  if (std::ranges::find(kIntegers, datatype) != std::end(kIntegers)) return CellType::kInt64;
  if (std::ranges::find(kFloats, datatype) != std::end(kFloats)) return CellType::kFloat64;
  if (datatype == "string") return CellType::kString;
  fail(at_node(file, entry), column, "ECSV datatype '" + datatype + "' is not supported");
}

struct EcsvHeader {
  std::vector<ColumnSpec> columns;
  Delimiter delimiter = Delimiter::kWhitespace;
};

EcsvHeader interpret(const YAML::Node& yaml, const std::string& file) {
  const YAML::Node datatype = yaml.IsMap() ? yaml["datatype"] : YAML::Node();
  if (!datatype || !datatype.IsSequence())
    fail(at_line(file, kFirstYamlLine), "", "the ECSV header has no 'datatype' list");
  EcsvHeader header;
  for (const YAML::Node& entry : datatype) {
    if (!entry.IsMap() || !entry["name"] || !entry["datatype"])
      fail(at_node(file, entry), "", "every ECSV 'datatype' entry needs a 'name' and a 'datatype'");
    const auto name = entry["name"].as<std::string>();
    // Multidimensional and object columns come as JSON text in each cell.
    if (entry["subtype"])
      fail(at_node(file, entry), name, "ECSV subtype '" + entry["subtype"].as<std::string>() + "' is not supported");
    header.columns.push_back({name, cell_type_of(entry, name, file)});
  }
  if (const YAML::Node delimiter = yaml["delimiter"]) {
    const auto text = delimiter.as<std::string>();
    if (text == ",") {
      header.delimiter = Delimiter::kComma;
    } else if (text != " ") {
      fail(at_node(file, delimiter), "", "ECSV delimiter " + quote_cell(text) + " is not supported (only ' ' and ',')");
    }
  }
  return header;
}

}  // namespace

Table read_ecsv(std::string_view text, const std::string& file) {
  LineReader lines(text);
  std::string_view line;
  lines.next(line);  // "# %ECSV 1.0", how the file was recognised
  std::string yaml_text;
  LineReader body = lines;
  while (lines.next(line) && line.starts_with('#')) {
    line.remove_prefix(line.starts_with("# ") ? 2 : 1);
    yaml_text.append(line).push_back('\n');
    body = lines;
  }

  EcsvHeader header;
  try {
    header = interpret(YAML::Load(yaml_text), file);
  } catch (const YAML::Exception& error) {
    const size_t line_number = kFirstYamlLine + (error.mark.is_null() ? 0 : static_cast<size_t>(error.mark.line));
    fail(at_line(file, line_number), "", "the ECSV header is not valid YAML: " + error.msg);
  }

  bool found = false;
  while (!found && body.next(line)) found = !is_blank_or_comment(line);
  if (!found) fail(at_line(file, body.line_number()), "", "no row of column names after the ECSV header");
  const std::vector<std::string> names = split_fields(line, header.delimiter);
  for (size_t i = 0; i < std::max(names.size(), header.columns.size()); ++i) {
    const std::string& declared = i < header.columns.size() ? header.columns[i].name : "(nothing)";
    const std::string& found_name = i < names.size() ? names[i] : "(nothing)";
    if (declared != found_name) {
      fail(at_line(file, body.line_number()), "",
           "column " + std::to_string(i + 1) + " of the row of names is " + quote_cell(found_name) +
               ", but the ECSV header declares " + quote_cell(declared));
    }
  }
  return parse_rows(body, header.delimiter, header.columns, file, body.line_number());
}

}  // namespace lcstore::catalog::detail
