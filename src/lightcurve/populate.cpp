// Populating one epoch from one catalog, by the original's three strategies.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#ifdef __SSE2__
#include <xmmintrin.h>
#endif
#include <optional>
#include <span>
#include <type_traits>
#include <variant>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lightcurve/journal.h"

namespace lcstore::lightcurve {

using zarr::DimSelection;
using zarr::Selection;

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

  // The catalog's values of `piece` (a run of `rows`) as float32 in C order
  // of [piece.size(), measurement_rows.size(), n_values], into `out` (room
  // for piece.size() * width()); or, given `first_object`, each row at its
  // object's place in a slab of objects from `first_object` on, which has
  // room for them. A type dispatch per cell, a pass over the whole output
  // per column, or reading every column at once per row each cost a fifth to
  // a third of populate.
  void gather(std::span<const std::pair<uint64_t, size_t>> piece, float* out,
              std::optional<uint64_t> first_object = std::nullopt) const {
    const RowPlaces places{piece, first_object};
    std::vector<const catalog::Column*> sources;
    for (const auto& measurement : columns) sources.insert(sources.end(), measurement.begin(), measurement.end());
    // Blocks of rows, column by column: the block's output stays in cache.
    // Each column gives a block only a few cache lines, too few for the
    // hardware to see a stream, so the next block's lines are asked for
    // while this one is copied (the gather took half as long).
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
  // registers and stored as four cells of each row (the gather's cell by
  // cell copy was a fifth of populate).
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
  // Integer keys (NUMBER) of a store whose keys are all integers are
  // compared as numbers: making a string of each was a tenth of populate.
  const catalog::Column& key_column = catalog.column(mapping.object_key_column());
  const bool integer_keys = key_column.type() == catalog::ColumnType::kInt64 && options.object_key_prefix.empty() &&
                            !integer_object_keys_.empty();
  const std::vector<std::string> keys = integer_keys ? std::vector<std::string>() : mapping.object_keys(catalog);
  const std::span<const int64_t> numbers = integer_keys ? std::span(key_column.int64s()) : std::span<const int64_t>();
  auto key_of = [&](size_t catalog_row) {
    return integer_keys ? std::to_string(numbers[catalog_row]) : keys[catalog_row];
  };
  auto is_row_of = [&](uint64_t row, size_t catalog_row) {
    return integer_keys ? integer_object_keys_[row] == numbers[catalog_row] : objects_.keys[row] == keys[catalog_row];
  };
  std::vector<std::string> unknown;
  // Epoch catalogs of a dual-image run list the objects in the detection
  // catalog's order, which is the store's, some objects possibly left out:
  // the few rows after the last match are compared before the key is hashed
  // (hashing was a sixth of populate, its cache misses a tenth of a catalog
  // holding every other object).
  constexpr uint64_t kRowsAhead = 4;
  const uint64_t n_store_rows = objects_.keys.size();
  const size_t n_catalog_rows = key_column.size();
  uint64_t next_row = 0;
  for (size_t catalog_row = 0; catalog_row < n_catalog_rows; ++catalog_row) {
    uint64_t row = next_row;
    while (row < std::min(n_store_rows, next_row + kRowsAhead) && !is_row_of(row, catalog_row)) ++row;
    if (row == std::min(n_store_rows, next_row + kRowsAhead)) {
      const std::string key = key_of(catalog_row);
      auto found = object_rows_.find(key);
      if (found == object_rows_.end()) {
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
                fmt::format("{} object(s) not in the store (first: {}); use --skip-unknown-objects to ignore them",
                            n_catalog_rows - cells.rows.size(), fmt::join(unknown, ", ")));
  }
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
  // One object chunk of the write layout at a time: its values are gathered
  // into a buffer that stays in cache while the chunks are written from it.
  // (Gathering a whole epoch first sent every value out to memory and back:
  // two fifths of populate.)
  const uint64_t piece_objects = write_layout_.metadata().chunk_shape[0];
  const bool every_measurement = cells.measurement_rows.size() == n_measurements;
  std::vector<float> values;
  std::vector<float> slab;
  std::vector<uint8_t> mask;
  journal.begin();
  // Chunks that other threads of this process change too (their catalogs
  // hold other objects of the same chunks) are read and stored once for all
  // (Array::Session). The pieces go in increasing chunk order, as a session
  // requires. The session holds up to 32 chunks open: two threads sharing
  // every chunk then meet in nearly all of them; with 8 held open, one thread
  // sometimes fell behind the other by more than 8 chunks, read every chunk
  // the other had stored and fell further behind (0.6-2.4x the time of one
  // thread). A thread that falls behind by more than 32 now makes the other
  // wait for it (chunk_session.h). The first of them to commit stores the
  // other's chunks too.
  zarr::Array::Session session(write_layout_);
  auto piece_begin = cells.rows.begin();
  for (uint64_t first_object = 0; first_object < n_objects; first_object += piece_objects) {
    const uint64_t end_object = std::min(n_objects, first_object + piece_objects);
    const auto piece_end = std::lower_bound(piece_begin, cells.rows.end(), std::pair<uint64_t, size_t>(end_object, 0));
    const std::span<const std::pair<uint64_t, size_t>> piece(piece_begin, piece_end);
    piece_begin = piece_end;
    if (piece.empty()) continue;  // the catalog has none of these objects
    // v0 and v2 replace a chunk whose every cell the catalog gives with the
    // values gathered straight into the chunk's bytes (copying them from a
    // buffer into the chunk was a fourteenth of populate).
    if (piece.size() == piece_objects && every_measurement && options.strategy != Strategy::kV1) {
      Bytes elements(piece.size() * cells.width() * sizeof(float));
      cells.gather(piece, reinterpret_cast<float*>(elements.data()));
      const uint64_t chunk[] = {first_object / piece_objects, 0, 0, e};
      session.write_chunk(chunk, std::move(elements));
      continue;
    }
    // A piece with every measurement of its objects is gathered straight
    // into the slab the strategy writes; else into `values`, in piece order.
    auto gather_values = [&] {
      values.resize(piece.size() * cells.width());
      cells.gather(piece, values.data());
    };
    const uint64_t piece_size = end_object - first_object;
    const Selection slab_selection = {DimSelection::range(first_object, end_object), DimSelection::all(n_measurements),
                                      DimSelection::all(n_values), DimSelection::range(e, e + 1)};
    // Calls place(slab offset, values offset, count) for each run of the
    // piece's values that lies contiguous in a slab of the piece: one per
    // object if the catalog has every measurement, else one per measurement.
    auto for_each_run = [&](auto&& place) {
      const size_t object_cells = n_measurements * n_values;
      for (size_t i = 0, next = 0; i < piece.size(); ++i) {
        const size_t object_start = (piece[i].first - first_object) * object_cells;
        if (every_measurement) {
          place(object_start, next, cells.width());
          next += cells.width();
          continue;
        }
        for (uint64_t m : cells.measurement_rows) {
          place(object_start + m * n_values, next, n_values);
          next += n_values;
        }
      }
    };
    switch (options.strategy) {
      case Strategy::kV0: {
        // Every object and measurement of the piece: its values, in store
        // order, are the whole slab, and no chunk is read before it is replaced.
        if (piece.size() == piece_size && every_measurement) {
          gather_values();
          session.write(slab_selection, std::span<const float>(values));
          break;
        }
        // Else the slab is staged in memory and the mask commits only the
        // catalog's cells, so concurrent writers of other cells keep theirs.
        // (The cells outside the mask are never read: the slab is not filled.)
        slab.resize(piece_size * n_measurements * n_values);
        mask.assign(slab.size(), 0);
        if (every_measurement) {
          cells.gather(piece, slab.data(), first_object);
        } else {
          gather_values();
        }
        for_each_run([&](size_t slab_start, size_t values_start, size_t count) {
          if (!every_measurement) std::copy_n(values.begin() + values_start, count, slab.begin() + slab_start);
          std::fill_n(mask.begin() + slab_start, count, 1);
        });
        session.write(slab_selection, std::span<const float>(slab), {.mask = mask});
        break;
      }
      case Strategy::kV1: {
        if (!every_measurement) gather_values();
        session.update(slab_selection, [&](std::span<std::byte> bytes) {
          auto* read_slab = reinterpret_cast<float*>(bytes.data());
          if (every_measurement) {
            cells.gather(piece, read_slab, first_object);
            return;
          }
          for_each_run([&](size_t slab_start, size_t values_start, size_t count) {
            std::copy_n(values.begin() + values_start, count, read_slab + slab_start);
          });
        });
        break;
      }
      case Strategy::kV2: {
        gather_values();
        std::vector<uint64_t> object_rows;
        for (const auto& row : piece) object_rows.push_back(row.first);
        const Selection selection = {DimSelection::indices(std::move(object_rows)),
                                     DimSelection::indices(cells.measurement_rows), DimSelection::all(n_values),
                                     DimSelection::range(e, e + 1)};
        session.write(selection, std::span<const float>(values));
        break;
      }
    }
  }
  session.commit();
  result.values_written = cells.rows.size() * cells.measurement_rows.size() * n_values;
  result.objects_written = cells.rows.size();
  journal.complete(epoch, options.journal_id.empty() ? std::string() : entry_id,
                   {{"catalog", catalog.source()},
                    {"strategy", to_string(options.strategy)},
                    {"values_written", result.values_written}});
  return result;
}

}  // namespace lcstore::lightcurve
