// Populating one epoch from one catalog, by the original's three strategies.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#ifdef __SSE2__
#include <xmmintrin.h>
#endif
#include <optional>
#include <random>
#include <set>
#include <span>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lightcurve/declination_index.h"
#include "lightcurve/journal.h"
#include "lightcurve/layout.h"

namespace lcstore::lightcurve {

using zarr::DimSelection;
using zarr::Selection;
using zarr::Shape;

namespace {

// Where gather puts row i of a piece: at i, or at its object's place in a
// slab of objects from `first_object` on.
struct RowPlaces {
  std::span<const std::pair<uint64_t, size_t>> piece;
  std::optional<uint64_t> first_object;
  size_t operator()(size_t i) const { return first_object ? piece[i].first - *first_object : i; }
};

// What a catalog contributes to one epoch, resolved against the store and
// checked completely before anything is written.
struct EpochCells {
  // (store object row, catalog row), by store row.
  std::vector<std::pair<uint64_t, size_t>> rows;
  // Store measurement rows the catalog provides, ascending, and for each the
  // catalog column of every store value.
  std::vector<uint64_t> measurement_rows;
  std::vector<std::vector<const catalog::Column*>> columns;

  // Values per catalog row: measurement_rows.size() x n_values.
  size_t width() const { return columns.empty() ? 0 : columns.size() * columns.front().size(); }

  // The catalog's cells at `epoch`, in the order gather() puts them.
  Selection selection(uint64_t epoch, uint64_t n_values) const {
    return {DimSelection::indices(object_rows()), DimSelection::indices(measurement_rows), DimSelection::all(n_values),
            DimSelection::range(epoch, epoch + 1)};
  }

  CellRanges ranges() const { return CellRanges::of(object_rows(), measurement_rows); }

  std::vector<uint64_t> object_rows() const {
    std::vector<uint64_t> object_rows;
    for (const auto& row : rows) object_rows.push_back(row.first);
    return object_rows;
  }

  // How many of `stored` (the cells of selection()) are finite and would
  // become another value.
  uint64_t finite_cells_changed(const std::vector<float>& stored) const {
    if (std::none_of(stored.begin(), stored.end(), [](float value) { return std::isfinite(value); })) return 0;
    std::vector<float> written(stored.size());
    gather(rows, written.data());
    uint64_t changed = 0;
    for (size_t i = 0; i < stored.size(); ++i) {
      changed += std::isfinite(stored[i]) && std::bit_cast<uint32_t>(stored[i]) != std::bit_cast<uint32_t>(written[i]);
    }
    return changed;
  }

  // The catalog's values of `piece` (a run of `rows`) as float32 in C order
  // of [piece.size(), measurement_rows.size(), n_values], into `out` (room
  // for piece.size() * width()); or, given `first_object`, each row at its
  // object's place in a slab of objects from `first_object` on, which has
  // room for them. Columns are read block by block (see BENCHMARKS.md for
  // the layouts of this loop that were measured and dropped).
  void gather(std::span<const std::pair<uint64_t, size_t>> piece, float* out,
              std::optional<uint64_t> first_object = std::nullopt) const {
    const RowPlaces places{piece, first_object};
    std::vector<const catalog::Column*> sources;
    for (const auto& measurement : columns) sources.insert(sources.end(), measurement.begin(), measurement.end());
    // Blocks of rows, column by column: the block's output stays in cache.
    // Each column gives a block only a few cache lines, too few for the
    // hardware to see a stream, so the next block's lines are asked for
    // while this one is copied.
    constexpr size_t kBlockRows = 128;
    const size_t width = sources.size();
    const size_t tiled_width = tiled_columns(piece, sources);
    for (size_t first = 0; first < piece.size(); first += kBlockRows) {
      const size_t last = std::min(piece.size(), first + kBlockRows);
      const size_t next_last = std::min(piece.size(), last + kBlockRows);
      for (size_t k = 0; k < tiled_width; k += 4) gather_tiles(piece, places, sources, k, first, last, next_last, out);
      for (size_t k = tiled_width; k < width; ++k) {
        std::visit(
            [&](const auto& cells) {
              using Source = std::decay_t<decltype(cells[0])>;
              if constexpr (std::is_arithmetic_v<Source>) {
                for (size_t i = first; i < last; ++i)
                  out[places(i) * width + k] = static_cast<float>(cells[piece[i].second]);
                constexpr size_t kPerCacheLine = 64 / sizeof(Source);
                for (size_t i = last; i < next_last; i += kPerCacheLine) __builtin_prefetch(&cells[piece[i].second]);
              }
            },
            sources[k]->cells());
      }
    }
  }

  // How many of the first `sources` gather_tiles takes: groups of four
  // float32 columns, when the piece's catalog rows are consecutive.
  static size_t tiled_columns(std::span<const std::pair<uint64_t, size_t>> piece,
                              const std::vector<const catalog::Column*>& sources) {
#ifdef __SSE2__
    const bool consecutive = std::adjacent_find(piece.begin(), piece.end(), [](const auto& a, const auto& b) {
                               return b.second != a.second + 1;
                             }) == piece.end();
    if (!consecutive) return 0;
    size_t k = 0;
    while (k < sources.size() && sources[k]->type() == catalog::ColumnType::kFloat32) ++k;
    return k - k % 4;
#else
    (void)piece;
    (void)sources;
    return 0;
#endif
  }

  // Rows [first, last) of the four float32 columns from sources[k] on, 4x4
  // cells at a time: four rows of each column are loaded, turned around in
  // registers and stored as four cells of each row, rather than copied cell
  // by cell.
  static void gather_tiles(std::span<const std::pair<uint64_t, size_t>> piece, const RowPlaces& places,
                           const std::vector<const catalog::Column*>& sources, size_t k, size_t first, size_t last,
                           size_t next_last, float* out) {
#ifdef __SSE2__
    const size_t width = sources.size();
    const float* column[4];
    for (size_t j = 0; j < 4; ++j) column[j] = sources[k + j]->float32s().data() + piece[0].second;
    size_t i = first;
    for (; i + 4 <= last; i += 4) {
      __m128 row0 = _mm_loadu_ps(column[0] + i), row1 = _mm_loadu_ps(column[1] + i);
      __m128 row2 = _mm_loadu_ps(column[2] + i), row3 = _mm_loadu_ps(column[3] + i);
      _MM_TRANSPOSE4_PS(row0, row1, row2, row3);
      _mm_storeu_ps(&out[places(i) * width + k], row0);
      _mm_storeu_ps(&out[places(i + 1) * width + k], row1);
      _mm_storeu_ps(&out[places(i + 2) * width + k], row2);
      _mm_storeu_ps(&out[places(i + 3) * width + k], row3);
    }
    for (; i < last; ++i)
      for (size_t j = 0; j < 4; ++j) out[places(i) * width + k + j] = column[j][i];
    for (size_t j = 0; j < 4; ++j)
      for (size_t row = last; row < next_last; row += 16) __builtin_prefetch(column[j] + row);
#else
    (void)piece, (void)places, (void)sources, (void)k, (void)first, (void)last, (void)next_last, (void)out;
#endif
  }
};

// The cells of `selection` that hold the catalog's value (`written`) and held
// another before the populate: what a failed write left behind.
std::vector<uint8_t> cells_left(const std::vector<float>& stored, const std::vector<float>& before,
                                const std::vector<float>& written) {
  std::vector<uint8_t> left(stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    const uint32_t value = std::bit_cast<uint32_t>(written[i]);
    left[i] = std::bit_cast<uint32_t>(stored[i]) == value && std::bit_cast<uint32_t>(before[i]) != value;
  }
  return left;
}

Error error_of(std::exception_ptr failure, const std::string& where) {
  try {
    std::rethrow_exception(failure);
  } catch (const Error& error) {
    return error;
  } catch (const std::exception& error) {
    return Error(ErrorKind::kIo, where, error.what());
  } catch (...) {
    return Error(ErrorKind::kIo, where, "the write failed");
  }
}

// A catalog's write of one epoch, undone when it fails. Every cell of the
// catalog gets back what it held before wherever it still holds the
// catalog's value: a concurrent writer's value of a shared cell stays, and
// other writers' cells of the same chunks are not touched, so writers
// partitioned by object undo only their own.
class EpochWrite {
 public:
  EpochWrite(Store& store, zarr::Array& write_layout, Journal& journal, const std::string& epoch, uint64_t began,
             const EpochCells& cells, const Selection& selection, const std::vector<float>& before)
      : store_(store),
        write_layout_(write_layout),
        journal_(journal),
        epoch_(epoch),
        began_(began),
        cells_(cells),
        selection_(selection),
        before_(before) {}

  // Undoes the write after the exception being handled; rethrows it when
  // nothing is left, else throws PartlyWrittenError.
  [[noreturn]] void undo() const {
    const std::exception_ptr failure = std::current_exception();
    std::vector<float> written(before_.size());
    cells_.gather(cells_.rows, written.data());
    std::string undo_failure;
    try {
      const std::vector<uint8_t> mask = cells_left(write_layout_.read<float>(selection_), before_, written);
      if (std::find(mask.begin(), mask.end(), 1) != mask.end())
        write_layout_.write(selection_, std::span<const float>(before_), {.mask = mask});
    } catch (const Error& error) {
      undo_failure = error.reason();
    }
    std::optional<std::vector<uint8_t>> left;
    try {
      left = cells_left(write_layout_.read<float>(selection_), before_, written);
    } catch (const Error& error) {
      if (undo_failure.empty()) undo_failure = error.reason();
    }
    if (left && std::find(left->begin(), left->end(), 1) == left->end()) {
      try {
        journal_.abandon(epoch_, began_);
        store_.erase(undo_key(began_));
      } catch (const Error&) {
        // The record stays as begun (a rerun rewrites what was undone), or
        // its undo record does until a repair removes it.
      }
      std::rethrow_exception(failure);
    }
    const Error error = error_of(failure, write_layout_.path());
    if (!left) {
      throw PartlyWrittenError(
          error,
          fmt::format("what it wrote could not be read back to be undone ({}); the journal marks epoch {} incomplete, "
                      "and a rerun of this populate completes it",
                      undo_failure, epoch_),
          before_.size());
    }
    throw PartlyWrittenError(error, describe_left(*left, undo_failure),
                             static_cast<uint64_t>(std::count(left->begin(), left->end(), 1)));
  }

 private:
  // "N of the M values it wrote at epoch E remain (K objects, in chunks ...)".
  std::string describe_left(const std::vector<uint8_t>& left, const std::string& undo_failure) const {
    const uint64_t object_cells = before_.size() / std::max<size_t>(1, cells_.rows.size());
    const Shape& chunk_shape = write_layout_.metadata().chunk_shape;
    std::set<std::string> chunks;
    uint64_t values = 0, objects = 0;
    for (size_t i = 0; i < cells_.rows.size(); ++i) {
      const auto first = left.begin() + static_cast<ptrdiff_t>(i * object_cells);
      const auto count = std::count(first, first + static_cast<ptrdiff_t>(object_cells), 1);
      if (count == 0) continue;
      values += static_cast<uint64_t>(count);
      ++objects;
      const uint64_t row = cells_.rows[i].first;
      for (uint64_t m : cells_.measurement_rows) {
        const uint64_t coords[] = {row / chunk_shape[0], m / chunk_shape[1], 0, selection_[3][0] / chunk_shape[3]};
        chunks.insert(write_layout_.chunk_store_key(coords));
      }
    }
    constexpr size_t kChunksNamed = 5;
    std::vector<std::string> named(chunks.begin(), std::next(chunks.begin(), std::min(chunks.size(), kChunksNamed)));
    return fmt::format(
        "{} of the {} values it wrote at epoch {} remain ({} objects, in {} chunks: {}{}) and could not be undone "
        "({}); "
        "the journal marks the epoch incomplete, and a rerun of this populate completes it",
        values, before_.size(), epoch_, objects, chunks.size(), fmt::join(named, ", "),
        chunks.size() > kChunksNamed ? ", ..." : "", undo_failure);
  }

  Store& store_;
  zarr::Array& write_layout_;
  Journal& journal_;
  const std::string& epoch_;
  const uint64_t began_;
  const EpochCells& cells_;
  const Selection& selection_;
  const std::vector<float>& before_;
};

// Whether every cell holds `value`, bit for bit. Block by block, so that the
// compiler vectorises the comparison.
bool holds_only(std::span<const float> cells, float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  constexpr size_t kBlock = 1024;
  for (size_t first = 0; first < cells.size(); first += kBlock) {
    uint32_t differing = 0;
    for (size_t i = first; i < std::min(cells.size(), first + kBlock); ++i)
      differing |= std::bit_cast<uint32_t>(cells[i]) ^ bits;
    if (differing != 0) return false;
  }
  return true;
}

uint64_t random_lock_slot() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator();
}

std::vector<catalog::Value> parse_values(const std::vector<std::string>& names) {
  std::vector<catalog::Value> values;
  for (const std::string& name : names) values.push_back(catalog::parse_value(name));
  return values;
}

// A journal entry is one (catalog content, mapping): the same file read with
// another table key or object key, or matched by position, writes other cells.
std::string journal_entry_id(const PopulateOptions& options) {
  std::string id = fmt::format("{} table_key={} object_key={} prefix={}", options.journal_id, options.keys.table_key,
                               options.keys.object_key_column, options.keys.object_key_prefix);
  if (options.match_radius_arcsec) id += fmt::format(" match=position:{}", *options.match_radius_arcsec);
  if (options.add_unmatched_objects) id += " add-unmatched";
  return id;
}

// The store's objects as populate looks them up.
struct StoreObjects {
  const std::vector<std::string>& keys;
  const std::unordered_map<std::string, uint64_t>& rows;
  // The keys as numbers when all are integers (SExtractor's NUMBER), else empty.
  const std::vector<int64_t>& integer_keys;
};

// Fills cells.rows: the store row of each catalog row, by store row. Unknown
// objects are an error unless skipped (and counted in `result`).
void match_objects(const catalog::Table& catalog, const catalog::ColumnMapping& mapping, const StoreObjects& objects,
                   const PopulateOptions& options, EpochCells& cells, PopulateResult& result) {
  // Integer keys of a store whose keys are all integers are compared as
  // numbers, without making a string of each.
  const catalog::Column& key_column = catalog.column(mapping.object_key_column());
  const bool integer_keys = key_column.type() == catalog::ColumnType::kInt64 &&
                            options.keys.object_key_prefix.empty() && !objects.integer_keys.empty();
  const std::vector<std::string> keys = integer_keys ? std::vector<std::string>() : mapping.object_keys(catalog);
  const std::span<const int64_t> numbers = integer_keys ? std::span(key_column.int64s()) : std::span<const int64_t>();
  auto key_of = [&](size_t catalog_row) {
    return integer_keys ? std::to_string(numbers[catalog_row]) : keys[catalog_row];
  };
  auto is_row_of = [&](uint64_t row, size_t catalog_row) {
    return integer_keys ? objects.integer_keys[row] == numbers[catalog_row] : objects.keys[row] == keys[catalog_row];
  };
  std::vector<std::string> unknown;
  // Epoch catalogs of a dual-image run list the objects in the detection
  // catalog's order, which is the store's, some objects possibly left out:
  // the few rows after the last match are compared before the key is hashed.
  constexpr uint64_t kRowsAhead = 4;
  const uint64_t n_store_rows = objects.keys.size();
  const size_t n_catalog_rows = key_column.size();
  uint64_t next_row = 0;
  for (size_t catalog_row = 0; catalog_row < n_catalog_rows; ++catalog_row) {
    const uint64_t ahead_end = std::min(n_store_rows, next_row + kRowsAhead);
    uint64_t row = next_row;
    while (row < ahead_end && !is_row_of(row, catalog_row)) ++row;
    if (row == ahead_end) {
      const std::string key = key_of(catalog_row);
      auto found = objects.rows.find(key);
      if (found == objects.rows.end()) {
        unknown.push_back(key);
        continue;
      }
      row = found->second;
    }
    cells.rows.emplace_back(row, catalog_row);
    next_row = row + 1;
  }
  result.unknown_objects_skipped = n_catalog_rows - cells.rows.size();
  if (!unknown.empty() && !options.skip_unknown_objects) {
    unknown.resize(std::min<size_t>(unknown.size(), 5));
    throw Error(ErrorKind::kBadInput, catalog.source(),
                fmt::format("{} object(s) not in the store (first: {}); set `skip_unknown_objects` to ignore them",
                            result.unknown_objects_skipped, fmt::join(unknown, ", ")));
  }
  if (!std::is_sorted(cells.rows.begin(), cells.rows.end())) std::sort(cells.rows.begin(), cells.rows.end());
  for (size_t i = 1; i < cells.rows.size(); ++i) {
    if (cells.rows[i].first == cells.rows[i - 1].first) {
      throw Error(ErrorKind::kBadInput, catalog.source(),
                  fmt::format("object {} appears in two rows", objects.keys[cells.rows[i].first]));
    }
  }
}

// The nearest store object within the radius of a catalog row.
struct Nearest {
  uint64_t object;
  double separation;
  size_t catalog_row;
};

// For each catalog row, its nearest store object within `radius_arcsec`, if
// the row has a position and there is one.
std::vector<std::optional<Nearest>> nearest_objects(const catalog::Table& catalog,
                                                    const catalog::ColumnMapping& mapping,
                                                    const DeclinationIndex& index, double radius_arcsec) {
  if (!(radius_arcsec > 0) || !std::isfinite(radius_arcsec)) {
    throw Error(ErrorKind::kInvalidArgument, "match_radius_arcsec",
                fmt::format("{} is not a positive number of arcseconds", radius_arcsec));
  }
  const catalog::Coordinates& names = mapping.coordinates();
  const catalog::Column* ra = names.ra.empty() ? nullptr : catalog.find(names.ra);
  const catalog::Column* dec = names.dec.empty() ? nullptr : catalog.find(names.dec);
  if (ra == nullptr || dec == nullptr || !ra->is_numeric() || !dec->is_numeric()) {
    throw Error(ErrorKind::kBadInput, catalog.source(),
                "has no numeric RA and Dec columns (ALPHA_J2000 / DELTA_J2000 or ra / dec) to match by position");
  }
  std::vector<std::optional<Nearest>> nearest(catalog.num_rows());
  const double radius_degrees = radius_arcsec / 3600.0;
  for (size_t row = 0; row < catalog.num_rows(); ++row) {
    const double row_ra = ra->number(row), row_dec = dec->number(row);
    if (!std::isfinite(row_ra) || !std::isfinite(row_dec)) continue;
    index.for_each_within(row_ra, row_dec, radius_degrees, [&](uint64_t object, double separation) {
      // Ties go to the lower row, whatever order the index visits them in.
      std::optional<Nearest>& best = nearest[row];
      if (!best || separation < best->separation || (separation == best->separation && object < best->object))
        best = Nearest{object, separation, row};
    });
  }
  return nearest;
}

// Fills cells.rows by position: each catalog row with the nearest store
// object within the radius, each object with its nearest such row.
void match_positions(const catalog::Table& catalog, const catalog::ColumnMapping& mapping,
                     const DeclinationIndex& index, double radius_arcsec, EpochCells& cells, PopulateResult& result) {
  std::vector<Nearest> matches;
  for (const std::optional<Nearest>& nearest : nearest_objects(catalog, mapping, index, radius_arcsec)) {
    if (nearest) {
      matches.push_back(*nearest);
    } else {
      ++result.unmatched_rows_skipped;
    }
  }
  std::sort(matches.begin(), matches.end(), [](const Nearest& a, const Nearest& b) {
    return std::tie(a.object, a.separation, a.catalog_row) < std::tie(b.object, b.separation, b.catalog_row);
  });
  for (size_t i = 0; i < matches.size(); ++i) {
    if (i > 0 && matches[i].object == matches[i - 1].object) {
      ++result.farther_rows_skipped;
      continue;
    }
    cells.rows.emplace_back(matches[i].object, matches[i].catalog_row);
  }
}

// The catalog rows with a position and no store object within the radius,
// as new objects keyed "<epoch>-<row key>".
ObjectTable unmatched_objects(const std::string& epoch, const catalog::Table& catalog,
                              const catalog::ColumnMapping& mapping, const DeclinationIndex& index,
                              double radius_arcsec) {
  const std::vector<std::optional<Nearest>> nearest = nearest_objects(catalog, mapping, index, radius_arcsec);
  ObjectTable rows = ObjectTable::from_catalog(catalog, mapping);
  std::vector<size_t> unmatched;
  for (size_t row = 0; row < nearest.size(); ++row) {
    if (!nearest[row] && std::isfinite(rows.ra[row]) && std::isfinite(rows.dec[row])) unmatched.push_back(row);
  }
  ObjectTable added = rows.rows(unmatched);
  for (std::string& key : added.keys) key = epoch + "-" + key;
  return added;
}

// Fills cells.measurement_rows and cells.columns: the store measurements the
// catalog gives, with the catalog column of each store value.
void match_measurements(const catalog::Table& catalog, const catalog::ColumnMapping& mapping,
                        const std::vector<std::string>& measurements, const std::vector<std::string>& values,
                        const PopulateOptions& options, EpochCells& cells, PopulateResult& result) {
  for (uint64_t m = 0; m < measurements.size(); ++m) {
    const catalog::Measurement* measurement = mapping.find(measurements[m]);
    if (measurement == nullptr) continue;
    if (!measurement->complete()) {
      if (options.skip_incomplete) {
        result.incomplete_measurements_skipped.push_back(measurement->name);
        continue;
      }
      std::vector<std::string> missing;
      for (catalog::Value value : measurement->missing) missing.push_back(catalog::to_string(value));
      throw Error(ErrorKind::kBadInput, catalog.source(),
                  fmt::format("measurement {} has no column for {}; set `skip_incomplete` to leave it out",
                              measurement->name, fmt::join(missing, ", ")));
    }
    std::vector<const catalog::Column*> columns;
    for (const std::string& value : values) {
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
    if (std::find(measurements.begin(), measurements.end(), measurement.name) == measurements.end()) {
      result.measurements_ignored.push_back(measurement.name);
    }
  }
  if (cells.measurement_rows.empty() && result.incomplete_measurements_skipped.empty()) {
    throw Error(ErrorKind::kBadInput, catalog.source(),
                fmt::format("has none of the store's measurements ({}){}", fmt::join(measurements, ", "),
                            options.keys.table_key.empty() ? "" : " with table key " + options.keys.table_key));
  }
}

// Writes the catalog's cells of one object chunk of the write layout (a
// piece of cells.rows) at one epoch, by one strategy.
class PieceWriter {
 public:
  PieceWriter(zarr::Array::Session& session, const EpochCells& cells, uint64_t epoch, const Shape& shape)
      : session_(session),
        cells_(cells),
        epoch_(epoch),
        n_measurements_(shape[1]),
        n_values_(shape[2]),
        every_measurement_(cells.measurement_rows.size() == shape[1]) {}

  void write(Strategy strategy, std::span<const std::pair<uint64_t, size_t>> piece, uint64_t first_object,
             uint64_t end_object) {
    piece_ = piece;
    first_object_ = first_object;
    piece_objects_ = end_object - first_object;
    slab_ = {DimSelection::range(first_object, end_object), DimSelection::all(n_measurements_),
             DimSelection::all(n_values_), DimSelection::range(epoch_, epoch_ + 1)};
    switch (strategy) {
      case Strategy::kMaskedSlab:
        return masked_slab();
      case Strategy::kReadModifyWrite:
        return read_modify_write();
      case Strategy::kScatter:
        return scatter();
    }
  }

 private:
  void masked_slab() {
    // Every object and measurement of the piece: its values, in store order,
    // are the whole slab, and no chunk is read before it is replaced.
    if (piece_.size() == piece_objects_ && every_measurement_) {
      gather_values();
      session_.write(slab_, std::span<const float>(values_));
      return;
    }
    // Else the slab is staged in memory and the mask commits only the
    // catalog's cells, so concurrent writers of other cells keep theirs.
    // The cells outside the mask are never read, so the slab is not filled.
    slab_values_.resize(piece_objects_ * n_measurements_ * n_values_);
    mask_.assign(slab_values_.size(), 0);
    if (every_measurement_) {
      cells_.gather(piece_, slab_values_.data(), first_object_);
    } else {
      gather_values();
    }
    for_each_run([&](size_t slab_start, size_t values_start, size_t count) {
      if (!every_measurement_) std::copy_n(values_.begin() + values_start, count, slab_values_.begin() + slab_start);
      std::fill_n(mask_.begin() + slab_start, count, 1);
    });
    session_.write(slab_, std::span<const float>(slab_values_), {.mask = mask_});
  }

  void read_modify_write() {
    if (!every_measurement_) gather_values();
    session_.update(slab_, [&](std::span<std::byte> bytes) {
      auto* read_slab = reinterpret_cast<float*>(bytes.data());
      if (every_measurement_) {
        cells_.gather(piece_, read_slab, first_object_);
        return;
      }
      for_each_run([&](size_t slab_start, size_t values_start, size_t count) {
        std::copy_n(values_.begin() + values_start, count, read_slab + slab_start);
      });
    });
  }

  void scatter() {
    gather_values();
    std::vector<uint64_t> object_rows;
    for (const auto& row : piece_) object_rows.push_back(row.first);
    const Selection selection = {DimSelection::indices(std::move(object_rows)),
                                 DimSelection::indices(cells_.measurement_rows), DimSelection::all(n_values_),
                                 DimSelection::range(epoch_, epoch_ + 1)};
    session_.write(selection, std::span<const float>(values_));
  }

  // The piece's values in piece order into values_.
  void gather_values() {
    values_.resize(piece_.size() * cells_.width());
    cells_.gather(piece_, values_.data());
  }

  // Calls place(slab offset, values_ offset, count) for each run of the
  // piece's values that lies contiguous in the slab: one per object if the
  // catalog has every measurement, else one per measurement.
  template <class Place>
  void for_each_run(Place&& place) const {
    const size_t object_cells = n_measurements_ * n_values_;
    for (size_t i = 0, next = 0; i < piece_.size(); ++i) {
      const size_t object_start = (piece_[i].first - first_object_) * object_cells;
      if (every_measurement_) {
        place(object_start, next, cells_.width());
        next += cells_.width();
        continue;
      }
      for (uint64_t m : cells_.measurement_rows) {
        place(object_start + m * n_values_, next, n_values_);
        next += n_values_;
      }
    }
  }

  zarr::Array::Session& session_;
  const EpochCells& cells_;
  const uint64_t epoch_;
  const uint64_t n_measurements_, n_values_;
  const bool every_measurement_;
  // The piece being written.
  std::span<const std::pair<uint64_t, size_t>> piece_;
  uint64_t first_object_ = 0, piece_objects_ = 0;
  Selection slab_;
  // Reused from piece to piece.
  std::vector<float> values_, slab_values_;
  std::vector<uint8_t> mask_;
};

// Writes every cell of `cells` at `epoch`, one object chunk at a time: its
// values are gathered into a buffer that stays in cache while the chunk is
// written from it.
void write_epoch(zarr::Array& write_layout, const EpochCells& cells, uint64_t epoch, Strategy strategy) {
  const Shape& shape = write_layout.shape();
  const uint64_t n_objects = shape[0];
  const uint64_t piece_objects = write_layout.metadata().chunk_shape[0];
  const bool every_measurement = cells.measurement_rows.size() == shape[1];
  // Chunks that other threads of this process change too (their catalogs
  // hold other objects of the same chunks) are read and stored once for all
  // (Array::Session); the pieces go in increasing chunk order, as a session
  // requires.
  zarr::Array::Session session(write_layout);
  PieceWriter writer(session, cells, epoch, shape);
  try {
    auto piece_begin = cells.rows.begin();
    for (uint64_t first_object = 0; first_object < n_objects; first_object += piece_objects) {
      const uint64_t end_object = std::min(n_objects, first_object + piece_objects);
      const auto piece_end =
          std::lower_bound(piece_begin, cells.rows.end(), std::pair<uint64_t, size_t>(end_object, 0));
      const std::span<const std::pair<uint64_t, size_t>> piece(piece_begin, piece_end);
      piece_begin = piece_end;
      if (piece.empty()) continue;  // the catalog has none of these objects
      // A chunk whose every cell the catalog gives is replaced by the values
      // gathered straight into the chunk's bytes, unless the strategy is the
      // one that reads what it changes.
      if (piece.size() == piece_objects && every_measurement && strategy != Strategy::kReadModifyWrite) {
        Bytes elements(piece.size() * cells.width() * sizeof(float));
        cells.gather(piece, reinterpret_cast<float*>(elements.data()));
        const uint64_t chunk[] = {first_object / piece_objects, 0, 0, epoch};
        session.write_chunk(chunk, std::move(elements));
        continue;
      }
      writer.write(strategy, piece, first_object, end_object);
    }
    session.commit();
  } catch (...) {
    // Whatever the session changed is stored, or has failed, before the
    // caller reads back what to undo; the first failure is the one thrown.
    try {
      session.commit();
    } catch (const Error&) {
    }
    throw;
  }
}

}  // namespace

PopulateResult LightCurveStore::populate(const std::string& epoch, const catalog::Table& catalog,
                                         const PopulateOptions& options) {
  if (!options.add_unmatched_objects) return populate_epoch(epoch, catalog, options);
  if (!options.match_radius_arcsec) {
    throw Error(ErrorKind::kInvalidArgument, "add_unmatched_objects",
                "adds the rows no object matches by position; give match_radius_arcsec too");
  }
  // Through a view of its own, which this object (that threads populating
  // other catalogs may share) does not see change.
  LightCurveStore grown = open(store_);
  const uint64_t added = grown.add_unmatched_objects(epoch, catalog, options);
  PopulateResult result = grown.populate_epoch(epoch, catalog, options);
  result.objects_added = added;
  return result;
}

uint64_t LightCurveStore::add_unmatched_objects(const std::string& epoch, const catalog::Table& catalog,
                                                const PopulateOptions& options) {
  // A catalog the write would refuse (an unknown epoch, no measurement of
  // the store, an incomplete one) fails before any object is added.
  epoch_index(epoch);
  const catalog::ColumnMapping mapping(catalog, {.values = parse_values(values_), .keys = options.keys});
  EpochCells measurements_only;
  PopulateResult unused;
  match_measurements(catalog, mapping, measurements_, values_, options, measurements_only, unused);
  // Decided under the growth locks, against every object added before by
  // any thread or process, so that a source is added once.
  const auto held = lock_for_growth();
  return append_objects(unmatched_objects(epoch, catalog, mapping, declination_index(), *options.match_radius_arcsec));
}

PopulateResult LightCurveStore::populate_epoch(const std::string& epoch, const catalog::Table& catalog,
                                               const PopulateOptions& options) {
  const uint64_t e = epoch_index(epoch);
  Journal journal(*store_);
  const std::string entry_id = options.journal_id.empty() ? std::string() : journal_entry_id(options);
  if (!entry_id.empty() && !options.force && journal.current(epoch, entry_id)) return {.already_done = true};
  // Everything is resolved and checked before the first write.
  PopulateResult result;
  const catalog::ColumnMapping mapping(catalog, {.values = parse_values(values_), .keys = options.keys});
  EpochCells cells;
  if (options.match_radius_arcsec) {
    match_positions(catalog, mapping, declination_index(), *options.match_radius_arcsec, cells, result);
  } else {
    const ObjectLookup& lookup = object_lookup();
    match_objects(catalog, mapping, {objects(), lookup.rows, lookup.integer_keys}, options, cells, result);
  }
  match_measurements(catalog, mapping, measurements_, values_, options, cells, result);
  const Selection selection = cells.selection(e, values_.size());

  // Held until the populate returns: a check that finds the record begun
  // and this lock free knows that its process died (journal.h).
  const uint64_t running_lock = random_lock_slot();
  const std::unique_ptr<Lock> running = store_->lock(kRunningPopulates, running_lock);
  const uint64_t began =
      journal.begin(epoch, entry_id, cells.ranges(), {{"catalog", catalog.source()}, {"running_lock", running_lock}});
  // Read after the record is begun: every populate of these cells that
  // completed before it wrote them before this read, which is what makes
  // putting `before` back safe (roll_back_killed_populates).
  std::vector<float> before;
  try {
    before = write_layout_.read<float>(selection);
    // Most populates fill an epoch no one wrote: one pass over what it held
    // tells, and there is nothing to count or keep then.
    const float fill = layout::float32_fill_value(write_layout_.metadata());
    const bool only_fill = holds_only(before, fill);
    result.finite_cells_overwritten = only_fill && !std::isfinite(fill) ? 0 : cells.finite_cells_changed(before);
    if (options.no_overwrite && result.finite_cells_overwritten != 0) {
      throw Error(ErrorKind::kBadInput, catalog.source(),
                  fmt::format("would overwrite {} finite values of epoch {}, which `no_overwrite` refuses",
                              result.finite_cells_overwritten, epoch));
    }
    store_->set(undo_key(began), only_fill ? ByteView() : std::as_bytes(std::span(before)));
  } catch (...) {
    try {
      journal.abandon(epoch, began);
    } catch (const Error&) {
      // The record stays as begun, and a rerun completes it.
    }
    throw;
  }
  const EpochWrite write(*store_, write_layout_, journal, epoch, began, cells, selection, before);
  try {
    write_epoch(write_layout_, cells, e, options.strategy);
  } catch (...) {
    write.undo();
  }
  result.values_written = cells.rows.size() * cells.measurement_rows.size() * values_.size();
  result.objects_written = cells.rows.size();
  std::vector<uint64_t> replaced;
  try {
    replaced = journal.complete(epoch, began,
                                {{"catalog", catalog.source()},
                                 {"strategy", original_name(options.strategy)},
                                 {"values_written", result.values_written},
                                 {"finite_cells_overwritten", result.finite_cells_overwritten}});
  } catch (const Error&) {
    // A store that cannot take the journal's record cannot keep the values
    // it would vouch for either. A record taken whose last sync failed
    // agrees with the values: the populate is done.
    if (!journal.completed(epoch, began)) write.undo();
  }
  replaced.push_back(began);
  try {
    for (uint64_t done : replaced) store_->erase(undo_key(done));
  } catch (const Error&) {
    // The populate is done; an undo record left is removed by the next repair.
  }
  return result;
}

}  // namespace lcstore::lightcurve
