// SExtractor FITS_1.0 and FITS_LDAC through CFITSIO. Both hold the objects
// in a binary table, one field per parameter; a vector parameter
// (MAG_APER(4)) is one field with an array cell (TFORM "4E") and becomes the
// columns MAG_APER, MAG_APER_1, ... as in the text formats.
#include <fitsio.h>
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <unordered_set>
#include <variant>

#include "catalog/parse_support.h"
#include "catalog/readers.h"
#include "lcstore/error.h"

namespace lcstore::catalog::detail {

namespace {

// CFITSIO's text for `status`, with the most specific message of its error
// stack; clears the stack, which CFITSIO keeps per process.
std::string cfitsio_message(int status) {
  char text[FLEN_ERRMSG] = {};
  fits_get_errstatus(status, text);
  std::string message = text;
  char detail[FLEN_ERRMSG] = {};
  if (fits_read_errmsg(detail) != 0 && detail[0] != '\0') message += " (" + printable(detail) + ")";
  fits_clear_errmsg();
  return message;
}

struct FitsCloser {
  void operator()(fitsfile* file) const {
    int status = 0;
    fits_close_file(file, &status);
  }
};
using FitsHandle = std::unique_ptr<fitsfile, FitsCloser>;

// A FITS binary table's number at `at`: big-endian, any alignment.
template <typename Raw>
Raw big_endian(const char* at) {
  using Bits = std::conditional_t<
      sizeof(Raw) == 1, uint8_t,
      std::conditional_t<sizeof(Raw) == 2, uint16_t, std::conditional_t<sizeof(Raw) == 4, uint32_t, uint64_t>>>;
  Bits bits;
  std::memcpy(&bits, at, sizeof bits);
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof bits == 2) bits = __builtin_bswap16(bits);
    if constexpr (sizeof bits == 4) bits = __builtin_bswap32(bits);
    if constexpr (sizeof bits == 8) bits = __builtin_bswap64(bits);
  }
  return std::bit_cast<Raw>(bits);
}

// Decodes cells [field_begin, field_end) of a run of consecutive float32
// ('E') cells, from rows [row_begin, row_end): the run starts at `run` in
// the first row, rows are `row_bytes` apart, and cell k of row r goes to
// columns[k][r].
void decode_floats_portable(const char* run, size_t row_bytes, size_t row_begin, size_t row_end, float* const* columns,
                            size_t field_begin, size_t field_end) {
  for (size_t k = field_begin; k < field_end; ++k) {
    float* __restrict out = columns[k];
    const char* __restrict cell = run + k * sizeof(float);
    for (size_t r = row_begin; r < row_end; ++r) out[r] = big_endian<float>(cell + r * row_bytes);
  }
}

// The same, eight rows by eight cells at a time: eight loads, byte swaps
// and stores, and a transposition in registers, instead of a load, swap and
// store per cell, for SExtractor's rows of float32 photometry.
__attribute__((target("avx2"))) void decode_floats_avx2(const char* run, size_t row_bytes, size_t rows,
                                                        float* const* columns, size_t fields) {
  const __m256i swap = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4,
                                        11, 10, 9, 8, 15, 14, 13, 12);
  const size_t tiled_rows = rows / 8 * 8, tiled_fields = fields / 8 * 8;
  for (size_t k = 0; k < tiled_fields; k += 8) {
    // In registers, not reloaded after each store (which may alias them).
    float* out[8];
    for (size_t j = 0; j < 8; ++j) out[j] = columns[k + j];
    for (size_t r = 0; r < tiled_rows; r += 8) {
      // Unrolled so that the tile stays in registers (GCC otherwise keeps
      // it on the stack).
      __m256i row[8];
#pragma GCC unroll 8
      for (size_t i = 0; i < 8; ++i) {
        const auto* at = reinterpret_cast<const __m256i*>(run + (r + i) * row_bytes + k * sizeof(float));
        row[i] = _mm256_shuffle_epi8(_mm256_loadu_si256(at), swap);
      }
      // Pairs of rows interleaved, then quadruples, then halves swapped:
      // column j of the tile ends in one register.
      __m256i pair[8], quad[8];
#pragma GCC unroll 4
      for (size_t i = 0; i < 8; i += 2) {
        pair[i] = _mm256_unpacklo_epi32(row[i], row[i + 1]);
        pair[i + 1] = _mm256_unpackhi_epi32(row[i], row[i + 1]);
      }
#pragma GCC unroll 2
      for (size_t i = 0; i < 8; i += 4) {
        quad[i] = _mm256_unpacklo_epi64(pair[i], pair[i + 2]);
        quad[i + 1] = _mm256_unpackhi_epi64(pair[i], pair[i + 2]);
        quad[i + 2] = _mm256_unpacklo_epi64(pair[i + 1], pair[i + 3]);
        quad[i + 3] = _mm256_unpackhi_epi64(pair[i + 1], pair[i + 3]);
      }
#pragma GCC unroll 4
      for (size_t j = 0; j < 4; ++j) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[j] + r),
                            _mm256_permute2x128_si256(quad[j], quad[j + 4], 0x20));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[j + 4] + r),
                            _mm256_permute2x128_si256(quad[j], quad[j + 4], 0x31));
      }
    }
  }
  decode_floats_portable(run, row_bytes, 0, tiled_rows, columns, tiled_fields, fields);
  decode_floats_portable(run, row_bytes, tiled_rows, rows, columns, 0, fields);
}

// The x86-64 baseline the project builds for has no byte shuffle; the
// processor is asked once.
void decode_floats(const char* run, size_t row_bytes, size_t rows, float* const* columns, size_t fields) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) {
    decode_floats_avx2(run, row_bytes, rows, columns, fields);
  } else {
    decode_floats_portable(run, row_bytes, 0, rows, columns, 0, fields);
  }
}

// CFITSIO allocates from what it reads as a header's size cards before
// checking them (fuzzed headers made it ask for 10^16 bytes), so every header
// is checked here first: text up to its END card, and its BITPIX, NAXIS,
// NAXIS1, NAXIS2, PCOUNT, GCOUNT and TFIELDS plain integers, the value being
// all that stands between "= " and a comment's "/" as CFITSIO reads it.
// BITPIX is one the standard names, NAXIS and TFIELDS at most 999, the
// others non-negative (sizes are checked against the file later). Cards
// start every 80 bytes of a header, and headers at multiples of 2880 bytes.
void check_headers(std::string_view contents, const std::string& file) {
  constexpr size_t kCard = 80;
  bool in_header = true;  // the primary header, from byte 0
  for (size_t at = 0; at + kCard <= contents.size(); at += kCard) {
    const std::string_view card = contents.substr(at, kCard);
    if (card.starts_with("XTENSION=") && at % 2880 == 0) in_header = true;
    if (!in_header) continue;
    if (!std::all_of(card.begin(), card.end(), [](char c) { return c >= ' ' && c <= '~'; })) {
      fail(file, "", "the header before byte " + std::to_string(at) + " ends without an END card");
    }
    if (card.starts_with("END ")) in_header = false;
    // CFITSIO's name of a card: up to its first space or "=" (longer names
    // than 8 characters are allowed), so "NAXIS2 S..." is a NAXIS2 card.
    const std::string_view keyword = card.substr(0, card.find_first_of(" ="));
    int64_t low = 0, high = std::numeric_limits<int64_t>::max();
    if (keyword == "BITPIX") {
      low = -64, high = 64;
    } else if (keyword == "NAXIS" || keyword == "TFIELDS") {
      high = 999;
    } else if (keyword != "NAXIS1" && keyword != "NAXIS2" && keyword != "PCOUNT" && keyword != "GCOUNT") {
      continue;
    }
    std::string_view field = card.substr(10);
    field = field.substr(0, field.find('/'));
    const size_t digits = field.find_first_not_of(' ');
    field = field.substr(0, field.find_last_not_of(' ') + 1);
    int64_t value = 0;
    const char* end = field.data() + field.size();
    const auto parsed = digits == std::string_view::npos ? std::from_chars_result{end, std::errc::invalid_argument}
                                                         : std::from_chars(field.data() + digits, end, value);
    const bool bitpix_known =
        keyword != "BITPIX" || value == 8 || value == 16 || value == 32 || value == 64 || value == -32 || value == -64;
    const bool value_indicator = card.substr(8, 2) == "= ";
    if (!value_indicator || parsed.ec != std::errc() || parsed.ptr != end || value < low || value > high ||
        !bitpix_known) {
      fail(file, "",
           "header card \"" + std::string(card.substr(0, 30)) + "\": " + std::string(keyword) +
               (keyword == "BITPIX"
                    ? std::string(" must be 8, 16, 32, 64, -32 or -64")
                    : " must be an integer from " + std::to_string(low) + " to " + std::to_string(high)));
    }
  }
}

class TableReader {
 public:
  // `contents` holds the file's first bytes: all of them if `whole`, else
  // at least its headers, and the table's rows are read from `file` in
  // pieces.
  TableReader(std::string_view contents, CatalogFile& file, bool whole)
      : file_(file.path()),
        subject_(file.path()),
        contents_(contents),
        size_(whole ? contents.size() : file.size()),
        whole_(whole),
        source_(file),
        memory_(const_cast<char*>(contents.data())),
        memory_size_(contents.size()) {
    check_headers(contents, file_);
    fitsfile* opened = nullptr;
    int status = 0;
    // The name only labels the memory file; CFITSIO would parse a real path
    // for its extended syntax ("file.fits[1]").
    fits_open_memfile(&opened, "catalog", READONLY, &memory_, &memory_size_, 0, nullptr, &status);
    fits_.reset(opened);
    check(status, "", "not a readable FITS file");
  }

  // Moves to the objects table and says which SExtractor format holds it.
  Format find_objects_table() {
    int status = 0;
    if (fits_movnam_hdu(fits_.get(), BINARY_TBL, const_cast<char*>("LDAC_OBJECTS"), 0, &status) == 0) {
      describe_hdu();
      return Format::kFitsLdac;
    }
    // BAD_HDU_NUM: CFITSIO read every header and none is LDAC_OBJECTS;
    // anything else means a header it could not read.
    if (status != BAD_HDU_NUM) check(status, "", "cannot read the extension headers (file truncated?)");
    fits_clear_errmsg();
    bool ldac = false;
    for (int hdu = 2;; ++hdu) {
      int type = 0;
      status = 0;
      if (fits_movabs_hdu(fits_.get(), hdu, &type, &status) != 0) {
        if (status != END_OF_FILE && status != BAD_HDU_NUM)
          check(status, "", "cannot read the header of extension " + std::to_string(hdu - 1) + truncation_hint());
        fits_clear_errmsg();
        no_objects_table(ldac);
      }
      // LDAC_IMHEAD holds the image header of an LDAC catalog, not objects.
      if (type == BINARY_TBL || type == ASCII_TBL) {
        if (string_key("EXTNAME") != "LDAC_IMHEAD") {
          describe_hdu();
          return Format::kFitsTable;
        }
        ldac = true;
      }
    }
  }

  // Reads the table's layout.
  void plan_columns() {
    int status = 0;
    int fields = 0;
    LONGLONG header_start = 0, data_start = 0, data_end = 0, row_bytes = 0;
    int hdu_type = 0;
    fits_get_num_rowsll(fits_.get(), &rows_, &status);
    fits_get_num_cols(fits_.get(), &fields, &status);
    fits_get_hduaddrll(fits_.get(), &header_start, &data_start, &data_end, &status);
    fits_read_key(fits_.get(), TLONGLONG, "NAXIS1", &row_bytes, nullptr, &status);
    fits_get_hdu_type(fits_.get(), &hdu_type, &status);
    check(status, "", "cannot read the table's layout");
    data_start_ = static_cast<size_t>(data_start);
    data_end_ = static_cast<size_t>(data_end);
    row_bytes_ = static_cast<size_t>(row_bytes);
    // Checked before anything is allocated for the rows the header promises
    // (CFITSIO computes the data's end without checking for overflow).
    LONGLONG table_bytes = 0;
    if (rows_ < 0 || row_bytes < 0 || __builtin_mul_overflow(rows_, row_bytes, &table_bytes) ||
        static_cast<size_t>(data_end) > size_ || static_cast<uint64_t>(table_bytes) > size_ ||
        static_cast<uint64_t>(row_bytes) > size_) {
      fail(subject_, "",
           "file truncated: the table's " + std::to_string(rows_) + " rows end at byte " + std::to_string(data_end) +
               ", but the file has " + std::to_string(size_) + " bytes");
    }
    size_t row_offset = 0;
    for (int field = 1; field <= fields; ++field) plan_field(field, row_bytes_, row_offset, plans_);
    // Rows of another width than the fields' would be read misaligned.
    if (hdu_type == BINARY_TBL && row_offset != row_bytes_) {
      fail(subject_, "",
           "NAXIS1 = " + std::to_string(row_bytes_) + " bytes per row, but the fields (TFORMn) add up to " +
               std::to_string(row_offset));
    }
    // Fields whose cells are plain big-endian numbers are decoded here from
    // the file's bytes, faster than CFITSIO's general path (a call per field
    // and rows, through its block cache and converters). Only if the fields account for every byte of a row, as the
    // standard requires; else everything goes through CFITSIO.
    const bool layout_known = hdu_type == BINARY_TBL && row_offset == row_bytes_;
    for (FieldPlan& plan : plans_) plan.direct = plan.direct && layout_known;
  }

  // True when the planned rows can be read from the file in pieces: CFITSIO
  // reads fields that are not decoded here from the file in memory, and the
  // search for an LDAC_OBJECTS extension stopped where the headers in memory
  // end, so a FITS_1.0 table must end the file (as SExtractor writes it) for
  // no extension to follow it.
  bool rows_readable_in_pieces(Format format) const {
    constexpr uint64_t kBlock = 2880;
    const bool last = (data_end_ + kBlock - 1) / kBlock * kBlock >= size_;
    const bool all_direct =
        std::all_of(plans_.begin(), plans_.end(), [](const FieldPlan& plan) { return plan.direct; });
    return all_direct && (format == Format::kFitsLdac || last);
  }

  Table read_columns() {
    std::vector<std::string> names;
    std::vector<Column::Cells> cells;
    for (FieldPlan& plan : plans_) add_columns(plan, static_cast<size_t>(rows_), names, cells);
    std::unordered_set<std::string_view> unique;
    for (const std::string& name : names)
      if (!unique.insert(name).second) fail(subject_, name, "named twice in the table");

    // A piece of rows at a time, 256 KiB that the second-level cache holds
    // (read from the file when not in memory). Fields decoded from its bytes
    // are taken over the whole piece, a field (or eight float32 columns) at
    // a time: long runs of stores into few columns. Fields
    // read through CFITSIO go a block of the rows its small cache of
    // 2880-byte blocks holds at a time, all of them from each block, which
    // copies each block into that cache once instead of once per field.
    int status = 0;
    long cfitsio_rows = 1;
    fits_get_rowsize(fits_.get(), &cfitsio_rows, &status);
    check(status, "", "cannot read the table's layout");
    constexpr size_t kPieceBytes = 256 << 10;
    const size_t rows = static_cast<size_t>(rows_);
    const size_t block_rows = static_cast<size_t>(std::max(cfitsio_rows, 1L));
    const size_t piece_rows = std::max<size_t>(1, kPieceBytes / std::max<size_t>(row_bytes_, 1));
    // Float32 cells next to each other in a row, of one field or several,
    // are decoded together.
    struct FloatRun {
      size_t offset;                // in a row
      std::vector<size_t> columns;  // of its cells, in order
    };
    std::vector<FloatRun> float_runs;
    for (const FieldPlan& plan : plans_) {
      if (!plan.direct || plan.fits_type != TFLOAT) continue;
      for (size_t k = 0; k < plan.repeat; ++k) {
        const size_t offset = plan.offset + k * sizeof(float);
        const bool adjacent = !float_runs.empty() &&
                              float_runs.back().offset + float_runs.back().columns.size() * sizeof(float) == offset;
        if (!adjacent) float_runs.push_back({offset, {}});
        float_runs.back().columns.push_back(plan.first_column + k);
      }
    }
    std::vector<float*> run_columns;
    std::unique_ptr<char[]> piece;
    for (size_t piece_first = 0; piece_first < rows; piece_first += piece_rows) {
      const size_t piece_count = std::min(piece_rows, rows - piece_first);
      const size_t offset = data_start_ + piece_first * row_bytes_;
      const char* piece_bytes = contents_.data() + offset;
      if (offset + piece_count * row_bytes_ > contents_.size()) {
        if (!piece) piece = std::make_unique_for_overwrite<char[]>(piece_rows * row_bytes_);
        source_.read_at(offset, piece.get(), piece_count * row_bytes_);
        piece_bytes = piece.get();
      }
      // The piece's rows of every column decoded here, left uninitialised
      // (Numbers) as every cell is written next.
      for (const FieldPlan& plan : plans_) {
        if (!plan.direct) continue;
        for (size_t k = 0; k < plan.repeat; ++k)
          std::visit([&](auto& column) { column.resize(piece_first + piece_count); }, cells[plan.first_column + k]);
      }
      for (const FloatRun& run : float_runs) {
        run_columns.clear();
        for (size_t column : run.columns)
          run_columns.push_back(std::get<Numbers<float>>(cells[column]).data() + piece_first);
        decode_floats(piece_bytes + run.offset, row_bytes_, piece_count, run_columns.data(), run_columns.size());
      }
      for (const FieldPlan& plan : plans_) {
        if (plan.direct && plan.fits_type != TFLOAT) decode_rows(plan, piece_bytes, piece_first, piece_count, cells);
      }
      for (size_t first = piece_first; first < piece_first + piece_count; first += block_rows) {
        const size_t count = std::min(block_rows, piece_first + piece_count - first);
        for (const FieldPlan& plan : plans_) {
          if (!plan.direct) read_rows(plan, first, count, cells);
        }
      }
    }

    Table table(file_);
    for (size_t c = 0; c < names.size(); ++c) table.add_column(Column(std::move(names[c]), std::move(cells[c])));
    return table;
  }

 private:
  [[noreturn]] void no_objects_table(bool ldac) {
    fail(file_, "",
         (ldac ? "FITS_LDAC catalog without an LDAC_OBJECTS extension"
               : "no table extension: not a SExtractor FITS_1.0 or FITS_LDAC catalog") +
             truncation_hint());
  }

  // A FITS file is a whole number of 2880-byte blocks; a cut one usually is not.
  std::string truncation_hint() const {
    constexpr size_t kBlock = 2880;
    if (size_ % kBlock == 0) return "";
    return " (file truncated or damaged: " + std::to_string(size_) +
           " bytes is not a whole number of 2880-byte FITS blocks)";
  }

  // Records "file, HDU n (EXTNAME)" as the subject of further errors.
  void describe_hdu() {
    int number = 0;
    fits_get_hdu_num(fits_.get(), &number);
    const std::string name = string_key("EXTNAME").value_or("");
    subject_ = file_ + ", HDU " + std::to_string(number) + (name.empty() ? "" : " (" + name + ")");
  }

  std::optional<std::string> string_key(const std::string& key) {
    char value[FLEN_VALUE] = {};
    int status = 0;
    if (fits_read_key(fits_.get(), TSTRING, key.c_str(), value, nullptr, &status) == KEY_NO_EXIST) {
      fits_clear_errmsg();
      return std::nullopt;
    }
    check(status, "", "cannot read keyword " + key);
    return std::string(value);
  }

  double number_key(const std::string& key, double absent) {
    double value = absent;
    int status = 0;
    if (fits_read_key(fits_.get(), TDOUBLE, key.c_str(), &value, nullptr, &status) == KEY_NO_EXIST) {
      fits_clear_errmsg();
      return absent;
    }
    check(status, "", "cannot read keyword " + key);
    return value;
  }

  // What a field holds and how it is read: its cells as CFITSIO converts
  // them to `kind`, `repeat` cells per row (characters, for text).
  struct FieldPlan {
    enum class Kind { kFloat32, kFloat64, kInt64, kLogical, kString };
    int field;
    std::string name;
    Kind kind;
    size_t repeat;
    int fits_type;            // CFITSIO's code of the stored type (TFLOAT, TSHORT, ...)
    size_t offset;            // of its first cell in a row
    size_t cell_bytes;        // of one cell as stored
    bool direct;              // plain numbers, decoded without CFITSIO
    size_t first_column = 0;  // of its columns in the table
  };

  // Plans field `field`, which starts at byte `row_offset` of a row, and
  // moves `row_offset` past it.
  void plan_field(int field, size_t row_bytes, size_t& row_offset, std::vector<FieldPlan>& plans) {
    using Kind = FieldPlan::Kind;
    const std::string number = std::to_string(field);
    // astropy's name for an unnamed field.
    std::string name = string_key("TTYPE" + number).value_or("col" + number);
    int type = 0;
    LONGLONG repeat = 0, width = 0;
    int status = 0;
    fits_get_coltypell(fits_.get(), field, &type, &repeat, &width, &status);
    check(status, name, "cannot read the field's type");
    if (repeat == 0) return;  // a field without cells has no columns

    std::optional<Kind> kind;
    const double scale = number_key("TSCAL" + number, 1.0);
    const double zero = number_key("TZERO" + number, 0.0);
    switch (type) {
      case TFLOAT:
        kind = Kind::kFloat32;
        break;
      case TDOUBLE:
        kind = Kind::kFloat64;
        break;
      case TLOGICAL:
        kind = Kind::kLogical;
        break;
      case TBYTE:
      case TSBYTE:
      case TSHORT:
      case TUSHORT:
      case TINT:
      case TUINT:
      case TLONG:
      case TULONG:
      case TLONGLONG:
      case TULONGLONG: {
        // A scaled integer field stores a real quantity.
        kind = scale != 1.0 || zero != std::trunc(zero) ? Kind::kFloat64 : Kind::kInt64;
        break;
      }
      case TSTRING:
        // One string per cell; arrays of strings (TDIM) are not catalog columns.
        if (width == repeat) kind = Kind::kString;
        break;
      default:
        break;
    }
    if (!kind) {
      fail(subject_, name,
           "FITS field type " + std::to_string(type) + " (TFORM" + number + " = " +
               string_key("TFORM" + number).value_or("?") + ") is not supported");
    }
    // CFITSIO does not check this, and buffers are sized by the repeat count.
    LONGLONG field_bytes = repeat;
    if (*kind != Kind::kString && __builtin_mul_overflow(repeat, width, &field_bytes)) field_bytes = -1;
    if (repeat < 0 || field_bytes < 0 || static_cast<size_t>(field_bytes) > row_bytes) {
      fail(subject_, name,
           "TFORM" + number + " = " + string_key("TFORM" + number).value_or("?") + " is wider than a row (" +
               std::to_string(row_bytes) + " bytes)");
    }
    const size_t cell_bytes = *kind == Kind::kString ? 1 : static_cast<size_t>(width);
    const bool plain =
        scale == 1.0 && zero == 0.0 &&
        (type == TFLOAT || type == TDOUBLE || type == TBYTE || type == TSHORT || type == TLONG || type == TLONGLONG);
    plans.push_back(
        FieldPlan{field, std::move(name), *kind, static_cast<size_t>(repeat), type, row_offset, cell_bytes, plain});
    row_offset += static_cast<size_t>(repeat) * cell_bytes;
  }

  // The columns of a field, empty with room for every row: one, or for an
  // array field NAME, NAME_1, ... Each grows by a piece of rows just before
  // the piece is read.
  void add_columns(FieldPlan& plan, size_t rows, std::vector<std::string>& names, std::vector<Column::Cells>& cells) {
    plan.first_column = names.size();
    const size_t count = plan.kind == FieldPlan::Kind::kString ? 1 : plan.repeat;
    for (size_t k = 0; k < count; ++k) {
      names.push_back(k == 0 ? plan.name : plan.name + "_" + std::to_string(k));
      switch (plan.kind) {
        case FieldPlan::Kind::kFloat32:
          cells.emplace_back(Numbers<float>());
          break;
        case FieldPlan::Kind::kFloat64:
          cells.emplace_back(Numbers<double>());
          break;
        case FieldPlan::Kind::kInt64:
        case FieldPlan::Kind::kLogical:
          cells.emplace_back(Numbers<int64_t>());
          break;
        case FieldPlan::Kind::kString:
          cells.emplace_back(std::vector<std::string>());
          break;
      }
      std::visit([&](auto& column) { column.reserve(rows); }, cells.back());
    }
  }

  void read_rows(const FieldPlan& plan, size_t first, size_t count, std::vector<Column::Cells>& cells) {
    switch (plan.kind) {
      case FieldPlan::Kind::kFloat32:
        read_numbers<float>(TFLOAT, plan, first, count, cells);
        return;
      case FieldPlan::Kind::kFloat64:
        read_numbers<double>(TDOUBLE, plan, first, count, cells);
        return;
      case FieldPlan::Kind::kInt64:
        read_numbers<int64_t>(TLONGLONG, plan, first, count, cells);
        return;
      case FieldPlan::Kind::kLogical:
        read_numbers<int64_t, char>(TLOGICAL, plan, first, count, cells);
        return;
      case FieldPlan::Kind::kString:
        read_strings(plan, first, count, cells);
        return;
    }
  }

  // Cells of rows [first, first + count) of a field, read with one
  // fits_read_col call as Read (what CFITSIO converts `fits_type` to):
  // straight into the column for a scalar field, through a buffer that is
  // then split into the columns for an array field.
  template <typename T, typename Read = T>
  void read_numbers(int fits_type, const FieldPlan& plan, size_t first, size_t count,
                    std::vector<Column::Cells>& cells) {
    auto column = [&](size_t k) {
      auto& cells_k = std::get<Numbers<T>>(cells[plan.first_column + k]);
      cells_k.resize(first + count);
      return cells_k.data() + first;
    };
    std::vector<Read> buffer;
    Read* target = nullptr;
    if constexpr (std::is_same_v<T, Read>) {
      if (plan.repeat == 1) target = column(0);
    }
    if (target == nullptr) {
      buffer.resize(count * plan.repeat);
      target = buffer.data();
    }
    int status = 0;
    int any_null = 0;
    fits_read_col(fits_.get(), fits_type, plan.field, static_cast<LONGLONG>(first + 1), 1,
                  static_cast<LONGLONG>(count * plan.repeat), nullptr, target, &any_null, &status);
    check(status, plan.name, "cannot read rows " + std::to_string(first + 1) + "-" + std::to_string(first + count));
    if (buffer.empty()) return;
    for (size_t k = 0; k < plan.repeat; ++k) {
      T* cells_k = column(k);
      for (size_t row = 0; row < count; ++row) cells_k[row] = static_cast<T>(buffer[row * plan.repeat + k]);
    }
  }

  // As read_numbers, for a field of integers or float64 (float32 cells are
  // decode_floats'), from the bytes of the rows [first, first + count), into
  // columns already that long: cell k of row first + r of the field is at
  // block + r * row_bytes_ + plan.offset + k * plan.cell_bytes.
  void decode_rows(const FieldPlan& plan, const char* block, size_t first, size_t count,
                   std::vector<Column::Cells>& cells) {
    switch (plan.fits_type) {
      case TDOUBLE:
        return decode<double, double>(plan, block, first, count, cells);
      case TBYTE:
        return decode<int64_t, uint8_t>(plan, block, first, count, cells);
      case TSHORT:
        return decode<int64_t, int16_t>(plan, block, first, count, cells);
      case TLONG:
        return decode<int64_t, int32_t>(plan, block, first, count, cells);
      case TLONGLONG:
        return decode<int64_t, int64_t>(plan, block, first, count, cells);
      default:
        fail(subject_, plan.name, "internal error: no decoder for FITS type " + std::to_string(plan.fits_type));
    }
  }

  template <typename T, typename Raw>
  void decode(const FieldPlan& plan, const char* block, size_t first, size_t count, std::vector<Column::Cells>& cells) {
    const size_t row_bytes = row_bytes_;
    for (size_t k = 0; k < plan.repeat; ++k) {
      T* __restrict out = std::get<Numbers<T>>(cells[plan.first_column + k]).data() + first;
      const char* __restrict cell = block + plan.offset + k * sizeof(Raw);
      for (size_t row = 0; row < count; ++row) out[row] = static_cast<T>(big_endian<Raw>(cell + row * row_bytes));
    }
  }

  void read_strings(const FieldPlan& plan, size_t first, size_t count, std::vector<Column::Cells>& cells) {
    const size_t stride = plan.repeat + 1;  // CFITSIO adds the terminating NUL
    std::vector<char> text(count * stride);
    std::vector<char*> pointers(count);
    for (size_t row = 0; row < count; ++row) pointers[row] = &text[row * stride];
    int status = 0;
    int any_null = 0;
    char empty[] = "";
    fits_read_col(fits_.get(), TSTRING, plan.field, static_cast<LONGLONG>(first + 1), 1, static_cast<LONGLONG>(count),
                  empty, pointers.data(), &any_null, &status);
    check(status, plan.name, "cannot read rows " + std::to_string(first + 1) + "-" + std::to_string(first + count));
    auto& column = std::get<std::vector<std::string>>(cells[plan.first_column]);
    column.insert(column.end(), pointers.begin(), pointers.end());
  }

  void check(int status, std::string_view column, const std::string& what) const {
    if (status != 0) fail(subject_, column, what + ": " + cfitsio_message(status));
  }

  std::string file_;
  std::string subject_;  // "file, HDU n (EXTNAME)" once on a table
  std::string_view contents_;
  size_t size_;  // of the file
  bool whole_;   // contents_ is the whole file
  CatalogFile& source_;
  // The objects table's layout.
  std::vector<FieldPlan> plans_;
  LONGLONG rows_ = 0;
  size_t row_bytes_ = 0;
  size_t data_start_ = 0;
  size_t data_end_ = 0;
  // CFITSIO keeps the addresses of these two for as long as the file is
  // open. READONLY: it never writes to (or reallocates) the buffer.
  void* memory_;
  size_t memory_size_;
  FitsHandle fits_;
};

}  // namespace

Table read_fits(CatalogFile& file, Format& format) {
  // SExtractor writes headers of a few KiB; LDAC adds the image's header.
  constexpr size_t kHeaderBytes = 256 << 10;
  if (file.seekable() && file.size() > kHeaderBytes) {
    try {
      TableReader reader(file.prefix(kHeaderBytes), file, false);
      format = reader.find_objects_table();
      reader.plan_columns();
      if (reader.rows_readable_in_pieces(format)) return reader.read_columns();
    } catch (const Error&) {
      // Reported from the whole file below, where it is not a header that
      // goes on past the bytes read, and in the same words as for a file
      // smaller than kHeaderBytes.
    }
  }
  const std::string_view contents = file.whole();
  TableReader reader(contents, file, true);
  format = reader.find_objects_table();
  reader.plan_columns();
  return reader.read_columns();
}

}  // namespace lcstore::catalog::detail
