#include "lcstore/catalog/column_mapping.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "catalog/parse_support.h"
#include "lcstore/closest_names.h"
#include "lcstore/error.h"

namespace lcstore::catalog {

namespace {

constexpr Value kAllValues[] = {Value::kMag, Value::kMagErr, Value::kFlux, Value::kFluxErr};

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

std::string lower_case(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), to_lower);
  return lower;
}

struct NamedValue {
  std::string measurement;  // lower-cased, without table key
  Value value;
};

// What a column name says it holds, if it is a photometric measurement.
std::optional<NamedValue> classify(std::string_view column) {
  static constexpr std::pair<std::string_view, Value> kPrefixes[] = {
      {"MAGERR_", Value::kMagErr}, {"MAG_", Value::kMag}, {"FLUXERR_", Value::kFluxErr}, {"FLUX_", Value::kFlux}};
  for (const auto& [prefix, value] : kPrefixes) {
    if (column.size() <= prefix.size() || !equals_ignoring_case(column.substr(0, prefix.size()), prefix)) continue;
    std::string measurement = lower_case(column.substr(prefix.size()));
    // SExtractor's FLUX_RADIUS(n) and FLUX_GROWTHSTEP are lengths in pixels.
    if (value == Value::kFlux &&
        (measurement == "radius" || measurement.starts_with("radius_") || measurement == "growthstep")) {
      return std::nullopt;
    }
    return NamedValue{std::move(measurement), value};
  }
  return std::nullopt;
}

// The first column whose name is one of `candidates` (ignoring case), tried
// in order; empty if none.
std::string find_column(const Table& table, std::initializer_list<std::string_view> candidates) {
  for (std::string_view candidate : candidates) {
    for (const Column& column : table.columns())
      if (equals_ignoring_case(column.name(), candidate)) return column.name();
  }
  return {};
}

std::string format_key_number(double key) {
  // Exactly representable integers print without ".0", as an int64 column would.
  if (key == std::trunc(key) && std::abs(key) < 9.0e15) return std::to_string(static_cast<int64_t>(key));
  char text[32];
  auto result = std::to_chars(text, text + sizeof text, key);
  return std::string(text, result.ptr);
}

}  // namespace

const char* to_string(Value value) {
  switch (value) {
    case Value::kMag:
      return "mag";
    case Value::kMagErr:
      return "mag_err";
    case Value::kFlux:
      return "flux";
    case Value::kFluxErr:
      return "flux_err";
  }
  return "unknown";
}

Value parse_value(std::string_view name) {
  for (Value value : kAllValues)
    if (name == to_string(value)) return value;
  std::vector<std::string> names;
  for (Value value : kAllValues) names.emplace_back(to_string(value));
  throw Error(ErrorKind::kInvalidArgument, "value " + std::string(name),
              "unknown measurement value (" + did_you_mean(name, names, "values") + ")");
}

const std::string* Measurement::column(Value value) const {
  const std::string& found = columns[static_cast<size_t>(value)];
  return found.empty() ? nullptr : &found;
}

ColumnMapping::ColumnMapping(const Table& table, MappingOptions options) : options_(std::move(options)) {
  object_key_column_ = options_.keys.object_key_column.empty() ? find_column(table, {"NUMBER", "id"})
                                                               : find_column(table, {options_.keys.object_key_column});
  if (object_key_column_.empty()) {
    detail::fail(table.source(), "",
                 options_.keys.object_key_column.empty()
                     ? "no object key column (NUMBER or id)"
                     : "no object key column " + detail::quote_cell(options_.keys.object_key_column));
  }
  coordinates_ = {find_column(table, {"ALPHA_J2000", "ra"}), find_column(table, {"DELTA_J2000", "dec"}),
                  find_column(table, {"X_IMAGE", "x"}), find_column(table, {"Y_IMAGE", "y"})};

  std::vector<Measurement> all;
  std::unordered_map<std::string, size_t> position;  // measurement name -> index in all
  for (const Column& column : table.columns()) {
    std::optional<NamedValue> named = classify(column.name());
    if (!named) continue;
    if (!column.is_numeric()) detail::fail(table.source(), column.name(), "holds text, not numbers");
    std::string name =
        options_.keys.table_key.empty() ? named->measurement : options_.keys.table_key + "-" + named->measurement;
    auto [it, added] = position.emplace(name, all.size());
    if (added) all.push_back(Measurement{std::move(name), {}, {}});
    std::string& slot = all[it->second].columns[static_cast<size_t>(named->value)];
    if (!slot.empty()) {
      detail::fail(table.source(), column.name(),
                   "gives " + std::string(to_string(named->value)) + " of measurement " + it->first +
                       ", as does column " + slot);
    }
    slot = column.name();
  }
  for (Measurement& measurement : all) {
    bool any_requested = false;
    for (Value value : options_.values) {
      if (measurement.column(value) == nullptr) {
        measurement.missing.push_back(value);
      } else {
        any_requested = true;
      }
    }
    if (any_requested) measurements_.push_back(std::move(measurement));
  }
}

const Measurement* ColumnMapping::find(std::string_view name) const {
  for (const Measurement& measurement : measurements_)
    if (measurement.name == name) return &measurement;
  return nullptr;
}

std::vector<std::string> ColumnMapping::object_keys(const Table& table) const {
  const Column& column = table.column(object_key_column_);
  std::vector<std::string> keys;
  keys.reserve(column.size());
  for (size_t row = 0; row < column.size(); ++row) {
    switch (column.type()) {
      case ColumnType::kInt64:
        keys.push_back(options_.keys.object_key_prefix + std::to_string(column.int64s()[row]));
        break;
      case ColumnType::kString:
        keys.push_back(options_.keys.object_key_prefix + column.strings()[row]);
        break;
      case ColumnType::kFloat64:
      case ColumnType::kFloat32: {
        const double key = column.number(row);
        if (!std::isfinite(key)) {
          detail::fail(table.source(), column.name(),
                       "row " + std::to_string(row + 1) + ": the object key is not finite");
        }
        keys.push_back(options_.keys.object_key_prefix + format_key_number(key));
        break;
      }
    }
  }
  return keys;
}

void invalid_magnitudes_to_nan(Table& table) {
  // The comparisons are false for NaN, so NaN and ±inf are invalid too.
  auto valid_mag = [](double mag) { return mag > 0.0 && mag < 50.0; };
  auto valid_err = [](double err) { return err > 0.0 && err < 10.0; };

  struct Pair {
    Column* mags = nullptr;
    Column* errs = nullptr;
  };
  std::vector<Pair> pairs;
  std::unordered_map<std::string, size_t> position;  // measurement -> its pair
  for (const std::string& name : table.column_names()) {
    std::optional<NamedValue> named = classify(name);
    Column& column = *table.find(name);
    // Text "magnitudes" are ColumnMapping's to reject.
    if (!named || !column.is_numeric() || (named->value != Value::kMag && named->value != Value::kMagErr)) continue;
    auto [it, added] = position.emplace(named->measurement, pairs.size());
    if (added) pairs.emplace_back();
    Column*& slot = named->value == Value::kMag ? pairs[it->second].mags : pairs[it->second].errs;
    // A second column for the same slot (MAG_AUTO and mag_auto) is judged on its own.
    if (slot != nullptr) {
      pairs.emplace_back();
      (named->value == Value::kMag ? pairs.back().mags : pairs.back().errs) = &column;
      continue;
    }
    slot = &column;
  }
  // Each column is float32 or float64 (int64 ones widened): a pass per column
  // at its own type marks the invalid rows, then a pass per column clears them.
  auto each_cell = [](Column* column, auto&& apply) {
    if (column == nullptr) return;
    std::visit([&](auto* cells) { apply(*cells); }, column->mutable_reals());
  };
  std::vector<uint8_t> invalid;
  for (Pair& pair : pairs) {
    invalid.assign(table.num_rows(), 0);
    each_cell(pair.mags, [&](const auto& cells) {
      for (size_t row = 0; row < cells.size(); ++row) invalid[row] |= !valid_mag(cells[row]);
    });
    each_cell(pair.errs, [&](const auto& cells) {
      for (size_t row = 0; row < cells.size(); ++row) invalid[row] |= !valid_err(cells[row]);
    });
    auto clear_invalid = [&](auto& cells) {
      using Real = std::decay_t<decltype(cells[0])>;
      for (size_t row = 0; row < cells.size(); ++row)
        if (invalid[row]) cells[row] = std::numeric_limits<Real>::quiet_NaN();
    };
    each_cell(pair.mags, clear_invalid);
    each_cell(pair.errs, clear_invalid);
  }
}

}  // namespace lcstore::catalog
