#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <filesystem>
#include <string>
#include <vector>

#include "bindings.h"
#include "lcstore/catalog/column_mapping.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/catalog/table.h"
#include "lcstore/lightcurve/light_curve_store.h"

namespace lcstore::python {

namespace {

using catalog::Column;
using catalog::Table;

template <typename T>
using Cells = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <typename T>
void add_numbers(Table& table, const std::string& name, const Cells<T>& cells) {
  table.add_column(Column(name, catalog::Numbers<T>(cells.data(), cells.data() + cells.shape(0))));
}

// A copy of a column's cells: a numpy array, or a list of str.
nb::object column_cells(const Table& table, const std::string& name) {
  const Column& column = table.column(name);
  return std::visit(
      [](const auto& cells) -> nb::object {
        using Cells = std::decay_t<decltype(cells)>;
        if constexpr (std::is_same_v<Cells, std::vector<std::string>>) {
          return nb::cast(cells);
        } else {
          return nb::cast(to_numpy(std::vector<typename Cells::value_type>(cells.begin(), cells.end())));
        }
      },
      column.cells());
}

std::vector<catalog::Value> parse_values(const std::vector<std::string>& names) {
  std::vector<catalog::Value> values;
  for (const std::string& name : names) values.push_back(catalog::parse_value(name));
  return values;
}

// The objects of a catalog (keys, positions) and its complete measurements.
nb::dict object_table(const Table& table, const std::vector<std::string>& values, const std::string& table_key,
                      const std::string& object_key_column, const std::string& object_key_prefix) {
  lightcurve::ObjectTable objects;
  std::vector<std::string> measurements;
  {
    nb::gil_scoped_release release;
    catalog::ColumnMapping mapping(table, {.values = parse_values(values),
                                           .keys = {.table_key = table_key,
                                                    .object_key_column = object_key_column,
                                                    .object_key_prefix = object_key_prefix}});
    objects = lightcurve::ObjectTable::from_catalog(table, mapping);
    for (const catalog::Measurement& measurement : mapping.measurements()) {
      if (measurement.complete()) measurements.push_back(measurement.name);
    }
  }
  nb::dict result;
  result["keys"] = std::move(objects.keys);
  result["ra"] = to_numpy(std::move(objects.ra));
  result["dec"] = to_numpy(std::move(objects.dec));
  result["x"] = to_numpy(std::move(objects.x));
  result["y"] = to_numpy(std::move(objects.y));
  result["measurements"] = std::move(measurements);
  return result;
}

}  // namespace

void bind_tables(nb::module_& module) {
  nb::class_<Table>(module, "Table", "A catalog in memory: named columns of equal length.")
      .def(nb::init<std::string>(), nb::arg("source") = "")
      .def_prop_ro("source", &Table::source)
      .def_prop_ro("num_rows", &Table::num_rows)
      .def_prop_ro("column_names", &Table::column_names)
      .def("add_column", &add_numbers<int64_t>, nb::arg("name"), nb::arg("cells"))
      .def("add_column", &add_numbers<double>, nb::arg("name"), nb::arg("cells"))
      .def("add_column", &add_numbers<float>, nb::arg("name"), nb::arg("cells"))
      .def(
          "add_column",
          [](Table& table, const std::string& name, std::vector<std::string> cells) {
            table.add_column(Column(name, std::move(cells)));
          },
          nb::arg("name"), nb::arg("cells"))
      .def("column", &column_cells, nb::arg("name"));

  module.def(
      "read_catalog",
      [](const std::filesystem::path& path, bool invalid_to_nan) {
        nb::gil_scoped_release release;
        catalog::Catalog read = catalog::read_catalog(path, {.invalid_to_nan = invalid_to_nan});
        return std::make_pair(std::string(catalog::to_string(read.format)), std::move(read.table));
      },
      nb::arg("path"), nb::arg("invalid_to_nan") = false);
  module.def("object_table", &object_table, nb::arg("table"), nb::arg("values"), nb::arg("table_key"),
             nb::arg("object_key_column"), nb::arg("object_key_prefix"));
  module.def("catalog_content_id", &lightcurve::catalog_content_id, nb::arg("path"),
             nb::call_guard<nb::gil_scoped_release>());
}

}  // namespace lcstore::python
