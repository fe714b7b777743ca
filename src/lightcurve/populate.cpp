// Populating one epoch from one catalog, by the original's three strategies.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lightcurve/journal.h"

namespace lcstore::lightcurve {

using zarr::DimSelection;
using zarr::Selection;

namespace {

// What a catalog contributes to one epoch, resolved against the store and
// checked completely before anything is written.
struct EpochCells {
  // (store object row, catalog row), by store row.
  std::vector<std::pair<uint64_t, size_t>> rows;
  // Store measurement rows the catalog provides, ascending, and for each the
  // catalog column of every store value.
  std::vector<uint64_t> measurement_rows;
  std::vector<std::vector<const catalog::Column*>> columns;

  // The catalog's values as float32 in C order of
  // [rows.size(), measurement_rows.size(), n_values]. A type dispatch per
  // cell, a pass over the whole output per column, or reading every column
  // at once per row each cost a fifth to a third of populate.
  std::vector<float> values() const {
    std::vector<std::vector<double>> widened;  // integer columns, as doubles
    std::vector<const double*> sources;
    for (const auto& measurement : columns) {
      for (const catalog::Column* column : measurement) {
        if (column->type() == catalog::ColumnType::kInt64) {
          const std::vector<int64_t>& cells = column->int64s();
          sources.push_back(widened.emplace_back(cells.begin(), cells.end()).data());
        } else {
          sources.push_back(column->float64s().data());
        }
      }
    }
    // Blocks of rows, column by column: each column is read in order and the
    // block's output stays in cache.
    constexpr size_t kBlockRows = 256;
    const size_t width = sources.size();
    std::vector<float> out(rows.size() * width);
    for (size_t first = 0; first < rows.size(); first += kBlockRows) {
      const size_t last = std::min(rows.size(), first + kBlockRows);
      for (size_t k = 0; k < width; ++k) {
        const double* source = sources[k];
        for (size_t i = first; i < last; ++i) out[i * width + k] = static_cast<float>(source[rows[i].second]);
      }
    }
    return out;
  }
};

std::vector<catalog::Value> parse_values(const std::vector<std::string>& names) {
  std::vector<catalog::Value> values;
  for (const std::string& name : names) values.push_back(catalog::parse_value(name));
  return values;
}

// A journal entry is one (catalog content, mapping): the same file read with
// another table key or object key writes other cells.
std::string journal_entry_id(const PopulateOptions& options) {
  return fmt::format("{} table_key={} object_key={} prefix={}", options.journal_id, options.table_key,
                     options.object_key_column, options.object_key_prefix);
}

}  // namespace

PopulateResult LightCurveStore::populate(const std::string& epoch, const catalog::Table& catalog,
                                         const PopulateOptions& options) {
  const uint64_t e = epoch_index(epoch);
  PopulateResult result;
  Journal journal(*store_);
  const std::string entry_id = journal_entry_id(options);
  if (!options.journal_id.empty() && !options.force && journal.completed(epoch, entry_id)) {
    result.already_done = true;
    return result;
  }

  catalog::ColumnMapping mapping(catalog, {.values = parse_values(values_),
                                           .table_key = options.table_key,
                                           .object_key_column = options.object_key_column,
                                           .object_key_prefix = options.object_key_prefix});
  EpochCells cells;
  const std::vector<std::string> keys = mapping.object_keys(catalog);
  std::vector<std::string> unknown;
  // Epoch catalogs of a dual-image run list the objects in the detection
  // catalog's order, which is the store's: the row after the last match is
  // compared before the key is hashed (hashing was a sixth of populate).
  uint64_t next_row = 0;
  for (size_t catalog_row = 0; catalog_row < keys.size(); ++catalog_row) {
    const std::string& key = keys[catalog_row];
    if (next_row < objects_.keys.size() && objects_.keys[next_row] == key) {
      cells.rows.emplace_back(next_row++, catalog_row);
      continue;
    }
    auto found = object_rows_.find(key);
    if (found == object_rows_.end()) {
      unknown.push_back(key);
    } else {
      cells.rows.emplace_back(found->second, catalog_row);
      next_row = found->second + 1;
    }
  }
  if (!unknown.empty() && !options.skip_unknown_objects) {
    unknown.resize(std::min<size_t>(unknown.size(), 5));
    throw Error(ErrorKind::kBadInput, catalog.source(),
                fmt::format("{} object(s) not in the store (first: {}); use --skip-unknown-objects to ignore them",
                            keys.size() - cells.rows.size(), fmt::join(unknown, ", ")));
  }
  result.unknown_objects_skipped = keys.size() - cells.rows.size();
  if (!std::is_sorted(cells.rows.begin(), cells.rows.end())) std::sort(cells.rows.begin(), cells.rows.end());
  for (size_t i = 1; i < cells.rows.size(); ++i) {
    if (cells.rows[i].first == cells.rows[i - 1].first) {
      throw Error(ErrorKind::kBadInput, catalog.source(),
                  fmt::format("object {} appears in two rows", objects_.keys[cells.rows[i].first]));
    }
  }

  for (uint64_t m = 0; m < measurements_.size(); ++m) {
    const catalog::Measurement* measurement = mapping.find(measurements_[m]);
    if (measurement == nullptr) continue;
    if (!measurement->complete()) {
      if (options.skip_incomplete) {
        result.incomplete_measurements_skipped.push_back(measurement->name);
        continue;
      }
      std::vector<std::string> missing;
      for (catalog::Value value : measurement->missing) missing.push_back(catalog::to_string(value));
      throw Error(ErrorKind::kBadInput, catalog.source(),
                  fmt::format("measurement {} has no column for {}; use --skip-incomplete to leave it out",
                              measurement->name, fmt::join(missing, ", ")));
    }
    std::vector<const catalog::Column*> columns;
    for (const std::string& value : values_) {
      const catalog::Column& column = catalog.column(*measurement->column(catalog::parse_value(value)));
      if (!column.is_numeric()) {
        throw Error(ErrorKind::kBadInput, catalog.source(), fmt::format("column {} is not numeric", column.name()));
      }
      columns.push_back(&column);
    }
    cells.measurement_rows.push_back(m);
    cells.columns.push_back(std::move(columns));
  }
  for (const catalog::Measurement& measurement : mapping.measurements()) {
    if (std::find(measurements_.begin(), measurements_.end(), measurement.name) == measurements_.end()) {
      result.measurements_ignored.push_back(measurement.name);
    }
  }
  if (cells.measurement_rows.empty() && result.incomplete_measurements_skipped.empty()) {
    throw Error(ErrorKind::kBadInput, catalog.source(),
                fmt::format("has none of the store's measurements ({}){}", fmt::join(measurements_, ", "),
                            options.table_key.empty() ? "" : " with table key " + options.table_key));
  }

  const uint64_t n_objects = objects_.keys.size();
  const uint64_t n_measurements = measurements_.size();
  const uint64_t n_values = values_.size();
  const std::vector<float> values = cells.values();
  journal.begin();
  switch (options.strategy) {
    case Strategy::kV0: {
      // The whole epoch slab staged in memory; the mask commits only the
      // catalog's cells, so concurrent writers of other cells keep theirs.
      std::vector<float> slab(n_objects * n_measurements * n_values, std::numeric_limits<float>::quiet_NaN());
      std::vector<uint8_t> mask(slab.size(), 0);
      size_t next = 0;
      for (const auto& [object_row, catalog_row] : cells.rows) {
        for (uint64_t m : cells.measurement_rows) {
          for (uint64_t v = 0; v < n_values; ++v) {
            size_t cell = (object_row * n_measurements + m) * n_values + v;
            slab[cell] = values[next++];
            mask[cell] = 1;
          }
        }
      }
      Selection selection = {DimSelection::all(n_objects), DimSelection::all(n_measurements),
                             DimSelection::all(n_values), DimSelection::range(e, e + 1)};
      write_layout_.write(selection, std::span<const float>(slab), {.mask = mask});
      break;
    }
    case Strategy::kV1: {
      Selection selection = {DimSelection::all(n_objects), DimSelection::all(n_measurements),
                             DimSelection::all(n_values), DimSelection::range(e, e + 1)};
      write_layout_.update(selection, [&](std::span<std::byte> bytes) {
        std::span<float> slab(reinterpret_cast<float*>(bytes.data()), bytes.size() / sizeof(float));
        size_t next = 0;
        for (const auto& [object_row, catalog_row] : cells.rows) {
          for (uint64_t m : cells.measurement_rows) {
            for (uint64_t v = 0; v < n_values; ++v)
              slab[(object_row * n_measurements + m) * n_values + v] = values[next++];
          }
        }
      });
      break;
    }
    case Strategy::kV2: {
      std::vector<uint64_t> object_rows;
      for (const auto& row : cells.rows) object_rows.push_back(row.first);
      Selection selection = {DimSelection::indices(std::move(object_rows)),
                             DimSelection::indices(cells.measurement_rows), DimSelection::all(n_values),
                             DimSelection::range(e, e + 1)};
      write_layout_.write(selection, std::span<const float>(values));
      break;
    }
  }
  result.values_written = values.size();
  result.objects_written = cells.rows.size();
  journal.complete(epoch, options.journal_id.empty() ? std::string() : entry_id,
                   {{"catalog", catalog.source()},
                    {"strategy", to_string(options.strategy)},
                    {"values_written", result.values_written}});
  return result;
}

}  // namespace lcstore::lightcurve
