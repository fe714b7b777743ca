// Which catalog columns hold which photometric measurements.
//
// Column names follow SExtractor's scheme, matched case-insensitively:
//   MAG_<m>      -> measurement <m> (lower-cased), value mag
//   MAGERR_<m>   -> measurement <m>, value mag_err
//   FLUX_<m>     -> measurement <m>, value flux
//   FLUXERR_<m>  -> measurement <m>, value flux_err
// so MAG_AUTO is ("auto", mag) and the expanded vector column MAG_APER_1 is
// ("aper_1", mag). FLUX_RADIUS and FLUX_GROWTHSTEP are sizes in pixels, not
// fluxes, and are not measurements.
//
//   ColumnMapping mapping(catalog.table, {.table_key = "ch1_sci"});
//   for (const Measurement& m : mapping.measurements())
//     if (m.complete()) use(m.name, *m.column(Value::kMag), *m.column(Value::kMagErr));
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "lcstore/catalog/table.h"

namespace lcstore::catalog {

enum class Value { kMag, kMagErr, kFlux, kFluxErr };

// "mag", "mag_err", "flux" or "flux_err".
const char* to_string(Value value);
// Inverse of to_string; throws Error(kInvalidArgument) for any other name.
Value parse_value(std::string_view name);

// How a catalog's columns name the store's measurements and objects.
struct CatalogKeys {
  // When set, measurement names get it as a prefix: "ch1_sci" turns "auto"
  // into "ch1_sci-auto", so catalogs of several bands can share one store.
  std::string table_key;
  // The column identifying objects across epochs; empty means NUMBER, else
  // id (both case-insensitive).
  std::string object_key_column;
  // Prepended to every object key: "I" turns NUMBER 123 into "I123".
  std::string object_key_prefix;
};

struct MappingOptions {
  // The values every measurement should have.
  std::vector<Value> values = {Value::kMag, Value::kMagErr};
  CatalogKeys keys;
};

struct Measurement {
  std::string name;  // "auto", "aper_1", "ch1_sci-auto", ...
  // The column of each value (indexed by Value), empty if the catalog has
  // none; filled for every value found, requested or not.
  std::array<std::string, 4> columns;
  // The requested values (MappingOptions::values) without a column, e.g.
  // mag_err when the catalog has MAG_ISO but no MAGERR_ISO. Whether that is
  // an error or the measurement is skipped is the caller's decision.
  std::vector<Value> missing;

  bool complete() const { return missing.empty(); }
  // The column of `value`, or nullptr.
  const std::string* column(Value value) const;
};

// Column names of the object positions; empty when the catalog has none.
// Found as ALPHA_J2000 / DELTA_J2000 / X_IMAGE / Y_IMAGE, else ra / dec / x / y.
struct Coordinates {
  std::string ra;
  std::string dec;
  std::string x;
  std::string y;
};

class ColumnMapping {
 public:
  // Throws Error(kBadInput) naming table.source() if the object key column
  // is missing, or if two columns give the same value of a measurement
  // (e.g. MAG_AUTO and mag_auto).
  ColumnMapping(const Table& table, MappingOptions options);

  const MappingOptions& options() const { return options_; }
  // Every measurement with a column for at least one requested value, in the
  // order their first column appears in the table.
  const std::vector<Measurement>& measurements() const { return measurements_; }
  // The measurement named `name` (with the table key prefix), or nullptr.
  const Measurement* find(std::string_view name) const;
  const std::string& object_key_column() const { return object_key_column_; }
  const Coordinates& coordinates() const { return coordinates_; }

  // The object key of every row: prefix + the key column's cell (integral
  // numbers without a decimal point). Throws Error(kBadInput) for a NaN or
  // infinite key.
  std::vector<std::string> object_keys(const Table& table) const;

 private:
  MappingOptions options_;
  std::vector<Measurement> measurements_;
  std::string object_key_column_;
  Coordinates coordinates_;
};

// The validity rule for SExtractor magnitudes: a MAG_<m> cell is valid iff
// it is finite and 0 < mag < 50, a MAGERR_<m> cell iff finite and
// 0 < err < 10; where a catalog has both columns of a measurement, a row's
// pair is valid only if both are, and otherwise both become NaN (99.0 is
// SExtractor's "no measurement"). Invalid cells of a lone column become
// NaN. Integer columns are converted to float64, real ones keep their width.
// Flux columns are left alone.
void invalid_magnitudes_to_nan(Table& table);

}  // namespace lcstore::catalog
