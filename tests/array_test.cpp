// Arrays and groups on both stores: round trips of every data type through
// every codec chain, orthogonal selections, partial, masked, transactional
// and batched writes, fill-value chunks, argument checks, corrupt chunks.
#include "lcstore/zarr/array.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/zarr/group.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using zarr::Array;
using zarr::ArrayMetadata;
using zarr::DataType;
using zarr::DimSelection;
using zarr::FillValue;
using zarr::Group;
using zarr::GroupMetadata;
using zarr::NodeType;
using zarr::select_all;
using zarr::Selection;
using zarr::selection_shape;
using zarr::Shape;
using zarr::WriteFilter;

// Cells are handled as byte strings: a fixed-size element's little-endian
// bytes, or a string element's text. One representation for every data type.
using Cells = std::vector<std::string>;

uint64_t cell_count(const Selection& selection) { return zarr::element_count(selection_shape(selection)); }

// --- Cell values -------------------------------------------------------------

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Arbitrary values covering each type's whole range (floats: any bit
// pattern, NaN payloads and subnormals included; strings: empty, multi-byte,
// embedded NUL, long).
std::string make_cell(DataType type, uint64_t seed) {
  const uint64_t r = mix(seed);
  if (type == DataType::kBool) return std::string(1, static_cast<char>(r & 1));
  if (type == DataType::kString) {
    switch (r % 6) {
      case 0:
        return "";
      case 1:
        return "é" + std::to_string(r % 1000);
      case 2:
        return std::string(r % 70 + 1, static_cast<char>('a' + r % 26));
      case 3:
        return "obj_" + std::to_string(seed);
      case 4:
        return std::string("nul\0inside", 10);
      default:
        return "κόσμε ☃";
    }
  }
  std::string cell(zarr::item_size(type), '\0');
  std::memcpy(cell.data(), &r, cell.size());
  return cell;
}

Cells make_cells(DataType type, uint64_t count, uint64_t seed) {
  Cells cells;
  for (uint64_t i = 0; i < count; ++i) cells.push_back(make_cell(type, seed * 1000003 + i));
  return cells;
}

// A fill value other than the type's default, so that "unwritten" is visible.
FillValue fill_for(DataType type) {
  static const std::map<DataType, json> kFills = {
      {DataType::kBool, true},     {DataType::kInt8, -3},         {DataType::kInt16, -300},
      {DataType::kInt32, -1},      {DataType::kInt64, INT64_MIN}, {DataType::kUint8, 200},
      {DataType::kUint16, 7},      {DataType::kUint32, 42},       {DataType::kUint64, UINT64_MAX},
      {DataType::kFloat32, "NaN"}, {DataType::kFloat64, 1.5},     {DataType::kString, "fill"},
  };
  return FillValue::from_json(kFills.at(type), type, "test");
}

std::string fill_cell(DataType type, const FillValue& fill) {
  if (type == DataType::kString) return fill.text();
  return std::string(reinterpret_cast<const char*>(fill.bytes()), zarr::item_size(type));
}

std::string hex(const std::string& cell) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : cell) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Compares every cell; reports how many differ and the first few.
::testing::AssertionResult CellsEqual(const Cells& expected, const Cells& actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure() << "expected " << expected.size() << " cells, got " << actual.size();
  }
  uint64_t wrong = 0;
  std::string examples;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] == actual[i]) continue;
    if (++wrong <= 3)
      examples += "\n  cell " + std::to_string(i) + ": expected " + hex(expected[i]) + ", got " + hex(actual[i]);
  }
  if (wrong == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << wrong << " of " << expected.size() << " cells differ:" << examples;
}

// --- Reading and writing cells through the public API -------------------------

Cells read_cells(const Array& array, const Selection& selection) {
  if (array.data_type() == DataType::kString) return array.read_strings(selection);
  const size_t width = zarr::item_size(array.data_type());
  // Poisoned, so that a cell a read leaves unwritten shows.
  Bytes bytes(cell_count(selection) * width, std::byte{0xA5});
  array.read_into(selection, bytes);
  Cells cells;
  for (size_t offset = 0; offset < bytes.size(); offset += width) {
    cells.emplace_back(reinterpret_cast<const char*>(bytes.data() + offset), width);
  }
  return cells;
}

Bytes join(const Cells& cells) {
  Bytes bytes;
  for (const std::string& cell : cells) {
    const auto* begin = reinterpret_cast<const std::byte*>(cell.data());
    bytes.insert(bytes.end(), begin, begin + cell.size());
  }
  return bytes;
}

void write_cells(Array& array, const Selection& selection, const Cells& cells, const WriteFilter& filter = {}) {
  if (array.data_type() == DataType::kString) {
    array.write_strings(selection, cells);
  } else {
    array.write(selection, join(cells), filter);
  }
}

// --- The expected content: a plain C-order copy of the array ----------------

class Model {
 public:
  Model(Shape shape, std::string fill) : shape_(std::move(shape)), cells_(zarr::element_count(shape_), fill) {}

  template <typename Visit>
  void for_each(const Selection& selection, Visit&& visit) const {
    for_each_selected(shape_, selection, std::forward<Visit>(visit));
  }

  Cells select(const Selection& selection) const { return select_cells(cells_, shape_, selection); }

  void assign(const Selection& selection, const Cells& values, std::span<const uint8_t> mask = {}) {
    for_each(selection, [&](uint64_t flat, uint64_t position) {
      if (mask.empty() || mask[position] != 0) cells_[flat] = values[position];
    });
  }

  const Cells& cells() const { return cells_; }
  const Shape& shape() const { return shape_; }

 private:
  Shape shape_;
  Cells cells_;
};

// The chunk keys the store must hold: exactly those of chunks with a cell
// other than the fill value (a chunk holding only the fill value is erased).
std::set<std::string> expected_chunk_keys(const Array& array, const Model& model, const std::string& fill) {
  std::set<std::string> keys;
  const Shape& shape = model.shape();
  for (uint64_t flat = 0; flat < model.cells().size(); ++flat) {
    if (model.cells()[flat] == fill) continue;
    Shape coords(shape.size());
    uint64_t rest = flat;
    for (size_t d = shape.size(); d-- > 0;) {
      coords[d] = (rest % shape[d]) / array.metadata().chunk_shape[d];
      rest /= shape[d];
    }
    keys.insert(array.path() + "/" + array.chunk_key(coords));
  }
  return keys;
}

// The keys of the array's chunks present in the store.
std::set<std::string> stored_chunk_keys(const Store& store, const std::string& path) {
  std::set<std::string> keys;
  for (const std::string& key : store.list(path + "/")) {
    if (key != path + "/zarr.json") keys.insert(key);
  }
  return keys;
}

// --- Selections -----------------------------------------------------------

std::vector<uint64_t> distinct(std::vector<uint64_t> indices) {
  std::vector<uint64_t> out;
  for (uint64_t i : indices) {
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  return out;
}

// Unsorted distinct index lists alternating with ranges, across chunk borders.
Selection mixed_write_selection(const Shape& shape) {
  Selection selection;
  for (size_t d = 0; d < shape.size(); ++d) {
    const uint64_t e = shape[d];
    if (d % 2 == 0)
      selection.push_back(DimSelection::indices(distinct({e - 1, e / 2, 0, e / 3 + 1})));
    else
      selection.push_back(DimSelection::range(1 % e, e - e / 4));
  }
  return selection;
}

// --- Array layouts and codec chains ------------------------------------------

struct Layout {
  const char* name;
  Shape shape;
  Shape chunks;  // chunks, or the inner chunks of sharded arrays
  Shape shards;
};

const Layout kLayouts[] = {
    {"ragged3d", {17, 5, 11}, {10, 3, 6}, {10, 6, 12}},  // 2 x 2 x 2 chunks, 2 x 1 x 1 shards
    {"rank1", {23}, {5}, {10}},
    {"rank0", {}, {}, {}},
};

enum class Chain {
  kBytes,
  kBigEndian,
  kTranspose,
  kGzip,
  kZstd,
  kBloscLz4Shuffle,
  kBloscZstdBitshuffle,
  kCrc32c,
  kZstdCrc32c,
  kShardedIndexEnd,
  kShardedIndexStart,
};

const std::map<Chain, const char*> kChainNames = {
    {Chain::kBytes, "bytes"},
    {Chain::kBigEndian, "big_endian"},
    {Chain::kTranspose, "transpose"},
    {Chain::kGzip, "gzip"},
    {Chain::kZstd, "zstd"},
    {Chain::kBloscLz4Shuffle, "blosc_lz4_shuffle"},
    {Chain::kBloscZstdBitshuffle, "blosc_zstd_bitshuffle"},
    {Chain::kCrc32c, "crc32c"},
    {Chain::kZstdCrc32c, "zstd_crc32c"},
    {Chain::kShardedIndexEnd, "sharded_index_end"},
    {Chain::kShardedIndexStart, "sharded_index_start"},
};

bool is_sharded(Chain chain) { return chain == Chain::kShardedIndexEnd || chain == Chain::kShardedIndexStart; }

json bytes_codec(const char* endian = "little") { return {{"name", "bytes"}, {"configuration", {{"endian", endian}}}}; }
json zstd_codec() { return {{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}}; }
json crc32c_codec() { return {{"name", "crc32c"}}; }

json codecs_for(Chain chain, DataType type, const Layout& layout) {
  const bool strings = type == DataType::kString;
  const json serializer = strings ? json{{"name", "vlen-utf8"}, {"configuration", json::object()}} : bytes_codec();
  const size_t type_size = std::max<size_t>(zarr::item_size(type), 1);
  auto blosc = [&](const char* cname, int level, const char* shuffle) {
    return json{
        {"name", "blosc"},
        {"configuration",
         {{"cname", cname}, {"clevel", level}, {"shuffle", shuffle}, {"typesize", type_size}, {"blocksize", 0}}}};
  };
  auto sharded = [&](const char* location) {
    return json{{"name", "sharding_indexed"},
                {"configuration",
                 {{"chunk_shape", layout.chunks},
                  {"codecs", {serializer, zstd_codec()}},
                  {"index_codecs", {bytes_codec(), crc32c_codec()}},
                  {"index_location", location}}}};
  };
  std::vector<uint64_t> order;  // reversed, then rotated: not its own inverse for rank 3
  for (size_t d = layout.shape.size(); d-- > 0;) order.push_back(d);
  if (order.size() == 3) order = {2, 0, 1};
  switch (chain) {
    case Chain::kBytes:
      return {serializer};
    case Chain::kBigEndian:
      return {bytes_codec("big")};
    case Chain::kTranspose:
      return {{{"name", "transpose"}, {"configuration", {{"order", order}}}}, serializer};
    case Chain::kGzip:
      return {serializer, {{"name", "gzip"}, {"configuration", {{"level", 5}}}}};
    case Chain::kZstd:
      return {serializer, zstd_codec()};
    case Chain::kBloscLz4Shuffle:
      return {serializer, blosc("lz4", 5, "shuffle")};
    case Chain::kBloscZstdBitshuffle:
      return {serializer, blosc("zstd", 3, "bitshuffle")};
    case Chain::kCrc32c:
      return {serializer, crc32c_codec()};
    case Chain::kZstdCrc32c:
      return {serializer, zstd_codec(), crc32c_codec()};
    case Chain::kShardedIndexEnd:
      return {sharded("end")};
    case Chain::kShardedIndexStart:
      return {sharded("start")};
  }
  return {};
}

ArrayMetadata metadata_for(DataType type, Chain chain, const Layout& layout) {
  ArrayMetadata metadata;
  metadata.shape = layout.shape;
  metadata.data_type = type;
  metadata.chunk_shape = is_sharded(chain) ? layout.shards : layout.chunks;
  metadata.fill_value = fill_for(type);
  metadata.codecs = codecs_for(chain, type, layout);
  metadata.attributes = {{"chain", kChainNames.at(chain)}};
  return metadata;
}

// A small int32 array whose chunks are plain little-endian bytes.
ArrayMetadata int32_metadata(Shape shape, Shape chunks, json codecs = json::array({bytes_codec()})) {
  ArrayMetadata metadata;
  metadata.shape = std::move(shape);
  metadata.chunk_shape = std::move(chunks);
  metadata.data_type = DataType::kInt32;
  metadata.fill_value = FillValue::of<int32_t>(-1);
  metadata.codecs = std::move(codecs);
  return metadata;
}

// --- Round trips: every data type x every codec chain x both stores ----------

struct RoundTripCase {
  DataType type;
  Chain chain;
  StoreKind store;
};

std::vector<RoundTripCase> round_trip_cases() {
  const DataType kTypes[] = {DataType::kBool,   DataType::kInt8,    DataType::kInt16,   DataType::kInt32,
                             DataType::kInt64,  DataType::kUint8,   DataType::kUint16,  DataType::kUint32,
                             DataType::kUint64, DataType::kFloat32, DataType::kFloat64, DataType::kString};
  std::vector<RoundTripCase> cases;
  for (DataType type : kTypes) {
    for (const auto& [chain, name] : kChainNames) {
      // Strings have no byte order and blosc's shuffles need fixed-size elements.
      if (type == DataType::kString &&
          (chain == Chain::kBigEndian || chain == Chain::kBloscLz4Shuffle || chain == Chain::kBloscZstdBitshuffle)) {
        continue;
      }
      for (StoreKind store : {StoreKind::kMemory, StoreKind::kDirectory}) cases.push_back({type, chain, store});
    }
  }
  return cases;
}

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, EveryCellSurvivesWritesAndReads) {
  const RoundTripCase& param = GetParam();
  ScratchStore scratch(param.store);
  const Store& store = *scratch.store();
  const std::string fill = fill_cell(param.type, fill_for(param.type));
  uint64_t seed = 1;
  for (const Layout& layout : kLayouts) {
    // Files are slow to create and delete on a busy disk: the directory store
    // gets the layouts whose keys differ in form ("c/i/j/k", "c"); rank 1 is
    // store-independent and runs on the memory store.
    if (param.store == StoreKind::kDirectory && layout.shape.size() == 1) continue;
    SCOPED_TRACE(layout.name);
    const std::string path = std::string("arrays/") + layout.name;
    Array array = Array::create(scratch.store(), path, metadata_for(param.type, param.chain, layout));
    const Selection all = select_all(layout.shape);
    Model model(layout.shape, fill);

    // Nothing written: every cell is the fill value.
    EXPECT_TRUE(CellsEqual(model.cells(), read_cells(array, all)));

    // The whole array.
    const Cells values = make_cells(param.type, model.cells().size(), seed++);
    write_cells(array, all, values);
    model.assign(all, values);
    EXPECT_EQ(stored_chunk_keys(store, path), expected_chunk_keys(array, model, fill));

    // A handle opened from the store sees the same metadata and cells.
    const Array reopened = Array::open(scratch.store(), path);
    EXPECT_EQ(reopened.metadata().to_json(), array.metadata().to_json());
    EXPECT_TRUE(CellsEqual(model.cells(), read_cells(reopened, all)));

    // Partial reads: a box and an orthogonal selection with unsorted, repeated indices.
    for (const Selection& selection : {box_selection(layout.shape), mixed_read_selection(layout.shape)}) {
      EXPECT_TRUE(CellsEqual(model.select(selection), read_cells(reopened, selection)));
    }

    // A partial write keeps every other cell.
    const Selection part = mixed_write_selection(layout.shape);
    const Cells update = make_cells(param.type, cell_count(part), seed++);
    write_cells(array, part, update);
    model.assign(part, update);
    EXPECT_TRUE(CellsEqual(model.cells(), read_cells(reopened, all)));

    // Writing the fill value everywhere erases every chunk.
    const Cells fills(model.cells().size(), fill);
    write_cells(array, all, fills);
    EXPECT_TRUE(CellsEqual(fills, read_cells(reopened, all)));
    EXPECT_TRUE(stored_chunk_keys(store, path).empty());
  }
}

INSTANTIATE_TEST_SUITE_P(TypesChainsStores, RoundTrip, ::testing::ValuesIn(round_trip_cases()),
                         [](const ::testing::TestParamInfo<RoundTripCase>& test) {
                           return std::string(zarr::name_of(test.param.type)) + "_" + kChainNames.at(test.param.chain) +
                                  "_" + name_of(test.param.store);
                         });

// --- Behaviour on both stores --------------------------------------------------

class ArrayTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  Store& store() { return *scratch_.store(); }
  Array create(const std::string& path, const ArrayMetadata& metadata) {
    return Array::create(scratch_.store(), path, metadata);
  }

  ScratchStore scratch_{GetParam()};
};

INSTANTIATE_TEST_SUITE_P(Stores, ArrayTest, ::testing::Values(StoreKind::kMemory, StoreKind::kDirectory),
                         [](const auto& test) { return std::string(name_of(test.param)); });

std::vector<int32_t> iota_values(uint64_t count, int32_t first) {
  std::vector<int32_t> values(count);
  for (uint64_t i = 0; i < count; ++i) values[i] = first + static_cast<int32_t>(i);
  return values;
}

TEST_P(ArrayTest, ChunkGridAndKeys) {
  Array array = create("a", int32_metadata({37, 5, 11}, {10, 2, 4}));
  EXPECT_EQ(array.chunk_grid_shape(), (Shape{4, 3, 3}));
  EXPECT_EQ(array.chunk_key(Shape{3, 2, 1}), "c/3/2/1");

  ArrayMetadata v2 = int32_metadata({7, 4}, {3, 4});
  v2.chunk_key_encoding = {zarr::ChunkKeyEncoding::Kind::kV2, '.'};
  Array old_style = create("b", v2);
  old_style.write<int32_t>(select_all({7, 4}), iota_values(28, 0));
  EXPECT_EQ(stored_chunk_keys(store(), "b"), (std::set<std::string>{"b/0.0", "b/1.0", "b/2.0"}));
  EXPECT_EQ(Array::open(scratch_.store(), "b").read<int32_t>(select_all({7, 4})), iota_values(28, 0));

  ArrayMetadata scalar = int32_metadata({}, {});
  scalar.chunk_key_encoding = {zarr::ChunkKeyEncoding::Kind::kV2, '.'};
  Array v2_scalar = create("s", scalar);
  v2_scalar.write<int32_t>(select_all({}), std::vector<int32_t>{5});
  EXPECT_EQ(stored_chunk_keys(store(), "s"), std::set<std::string>{"s/0"});
}

TEST_P(ArrayTest, ArrayAtTheStoreRoot) {
  Array array = create("", int32_metadata({5}, {2}));
  array.write<int32_t>(select_all({5}), iota_values(5, 10));
  EXPECT_EQ(store().list(""), (std::vector<std::string>{"c/0", "c/1", "c/2", "zarr.json"}));
  EXPECT_EQ(Array::open(scratch_.store(), "").read<int32_t>(select_all({5})), iota_values(5, 10));
}

TEST_P(ArrayTest, UnwrittenChunksReadAsFillAndAreAbsent) {
  Array array = create("a", int32_metadata({37, 5, 11}, {10, 2, 4}));
  array.write<int32_t>({DimSelection::range(12, 13), DimSelection::range(3, 4), DimSelection::range(9, 10)},
                       std::vector<int32_t>{77});
  EXPECT_EQ(stored_chunk_keys(store(), "a"), std::set<std::string>{"a/c/1/1/2"});
  const std::vector<int32_t> all = array.read<int32_t>(select_all({37, 5, 11}));
  for (size_t i = 0; i < all.size(); ++i) {
    const int32_t expected = i == (12 * 5 + 3) * 11 + 9 ? 77 : -1;
    ASSERT_EQ(all[i], expected) << "cell " << i;
  }
}

TEST_P(ArrayTest, ChunkRewrittenToFillIsErased) {
  Array array = create("a", int32_metadata({10, 10}, {5, 5}));
  const Selection two_cells{DimSelection::indices({1, 3}), DimSelection::range(2, 3)};
  array.write<int32_t>(two_cells, std::vector<int32_t>{8, 9});
  EXPECT_EQ(stored_chunk_keys(store(), "a"), std::set<std::string>{"a/c/0/0"});
  // One cell back to fill: the chunk still holds the other.
  array.write<int32_t>({DimSelection::range(1, 2), DimSelection::range(2, 3)}, std::vector<int32_t>{-1});
  EXPECT_EQ(stored_chunk_keys(store(), "a"), std::set<std::string>{"a/c/0/0"});
  EXPECT_EQ(array.read<int32_t>(two_cells), (std::vector<int32_t>{-1, 9}));
  // The last one: the chunk is erased.
  array.write<int32_t>({DimSelection::range(3, 4), DimSelection::range(2, 3)}, std::vector<int32_t>{-1});
  EXPECT_TRUE(stored_chunk_keys(store(), "a").empty());
  EXPECT_EQ(array.read<int32_t>(select_all({10, 10})), std::vector<int32_t>(100, -1));
}

TEST_P(ArrayTest, MaskedWriteChangesOnlyTheSelectedCells) {
  const Shape shape{9, 7};
  Array array = create("a", int32_metadata(shape, {4, 3}));
  std::vector<int32_t> before = iota_values(63, 100);
  array.write<int32_t>(select_all(shape), before);

  const Selection selection{DimSelection::indices({8, 0, 5}), DimSelection::range(1, 7)};
  const std::vector<int32_t> values = iota_values(18, 1000);
  std::vector<uint8_t> mask(18);
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = i % 3 == 0 ? 1 : 0;
  array.write<int32_t>(selection, values, WriteFilter{.mask = mask});

  std::vector<int32_t> expected = before;
  for_each_selected(shape, selection, [&](uint64_t flat, uint64_t position) {
    if (mask[position]) expected[flat] = values[position];
  });
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);
}

// A staged slab's mask is long runs; their ends fall anywhere in a chunk's
// rows, at the edges of the selection, or nowhere (all or nothing).
// A whole chunk handed over as its elements: the same cells as a write of
// that chunk's selection; all fill erases it; a wrong size or place throws.
// Chunks one cell wide in the last dimension are read in runs, tiles of the
// first dimension at a time; rows of 840 KB make every tile one row.
TEST_P(ArrayTest, ReadsOfChunksOneCellWideInTheLastDimension) {
  const Shape shape{10, 70000, 3};
  Array array = create("a", int32_metadata(shape, {4, 70000, 1}));
  auto value = [](uint64_t i, uint64_t j, uint64_t k) { return static_cast<int32_t>(i * 1000000 + j * 10 + k); };
  std::vector<int32_t> all(zarr::element_count(shape));
  for (uint64_t i = 0; i < shape[0]; ++i)
    for (uint64_t j = 0; j < shape[1]; ++j)
      for (uint64_t k = 0; k < shape[2]; ++k) all[(i * shape[1] + j) * shape[2] + k] = value(i, j, k);
  // Written one last-dimension index at a time, read across all of them.
  for (uint64_t k = 0; k < shape[2]; ++k) {
    const Selection plane{DimSelection::all(10), DimSelection::all(70000), DimSelection::range(k, k + 1)};
    std::vector<int32_t> cells;
    for (uint64_t i = 0; i < shape[0]; ++i)
      for (uint64_t j = 0; j < shape[1]; ++j) cells.push_back(value(i, j, k));
    array.write<int32_t>(plane, cells);
  }
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), all);
  const Selection scattered{DimSelection::indices({9, 0, 5, 6, 2}), DimSelection::range(69990, 70000),
                            DimSelection::indices({2, 0})};
  std::vector<int32_t> expected;
  for_each_selected(shape, scattered, [&](uint64_t flat, uint64_t) { expected.push_back(all[flat]); });
  EXPECT_EQ(array.read<int32_t>(scattered), expected);
}

TEST_P(ArrayTest, SessionsShareTheChunksTheyHoldOpen) {
  const Shape shape{8, 4};
  Array array = create("a", int32_metadata(shape, {4, 4}));
  std::vector<int32_t> expected(32, -1);
  // Two sessions write every other row of both chunks each, in chunk order:
  // the first here, the second on another thread (a thread's sessions do
  // not share chunks with each other).
  auto write_rows = [&](Array::Session& session, uint64_t first_row) {
    for (uint64_t row = first_row; row < 8; row += 2) {
      const std::vector<int32_t> values(4, static_cast<int32_t>(row));
      session.write<int32_t>({DimSelection::range(row, row + 1), DimSelection::all(4)}, values);
      std::fill_n(expected.begin() + static_cast<std::ptrdiff_t>(row * 4), 4, static_cast<int32_t>(row));
    }
  };
  Array::Session first(array);
  write_rows(first, 0);
  std::atomic<bool> second_wrote = false, second_may_commit = false;
  std::thread second_thread([&] {
    Array::Session second(array);
    write_rows(second, 1);
    second_wrote = true;
    while (!second_may_commit) std::this_thread::yield();
    second.commit();
  });
  while (!second_wrote) std::this_thread::yield();
  EXPECT_TRUE(stored_chunk_keys(store(), "a").empty()) << "held open until a session commits";
  second_may_commit = true;
  second_thread.join();
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected)
      << "the second session's commit stored the chunks the first opened, with both sessions' rows";
  first.commit();
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);

  Array::Session session(array);
  EXPECT_LCSTORE_ERROR(session.update(select_all(shape), [](std::span<std::byte>) {}), kInvalidArgument);
}

TEST_P(ArrayTest, ASessionUpdateThatThrowsChangesNothingOfAChunkHeldOpen) {
  const Shape shape{8, 4};
  Array array = create("a", int32_metadata(shape, {4, 4}));
  Array::Session holder(array);
  holder.write<int32_t>({DimSelection::range(0, 1), DimSelection::all(4)}, std::vector<int32_t>(4, 7));
  // Another thread's session updates the whole chunk the holder keeps open,
  // in the holder's memory, and its change fails half way.
  std::thread other([&] {
    Array::Session session(array);
    EXPECT_THROW(session.update({DimSelection::range(0, 4), DimSelection::all(4)},
                                [](std::span<std::byte> cells) {
                                  std::fill(cells.begin(), cells.end(), std::byte{1});
                                  throw std::runtime_error("bad change");
                                }),
                 std::runtime_error);
    session.commit();
  });
  other.join();
  holder.commit();
  std::vector<int32_t> expected(32, -1);
  std::fill_n(expected.begin(), 4, 7);
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);
}

TEST_P(ArrayTest, WriteChunkReplacesOneWholeChunk) {
  const Shape shape{9, 7};
  Array array = create("a", int32_metadata(shape, {4, 3}));
  const std::vector<int32_t> before = iota_values(63, 100);
  array.write<int32_t>(select_all(shape), before);

  const std::vector<int32_t> chunk_values = iota_values(12, 1000);
  auto elements = [](const std::vector<int32_t>& values) {
    const auto bytes = std::as_bytes(std::span(values));
    return Bytes(bytes.begin(), bytes.end());
  };
  const uint64_t second_row_third_column[] = {1, 2};
  array.write_chunk(second_row_third_column, elements(chunk_values));
  std::vector<int32_t> expected = before;
  const Selection chunk_cells{DimSelection::range(4, 8), DimSelection::range(6, 7)};
  // Only the first column of the edge chunk [4, 8) x [6, 9) lies inside the array.
  for_each_selected(shape, chunk_cells,
                    [&](uint64_t flat, uint64_t position) { expected[flat] = chunk_values[position * 3]; });
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);

  const uint64_t first[] = {0, 0};
  array.write_chunk(first, elements(std::vector<int32_t>(12, -1)));  // the fill value
  EXPECT_EQ(stored_chunk_keys(store(), "a").count("a/c/0/0"), 0u);
  EXPECT_EQ(array.read<int32_t>({DimSelection::range(0, 4), DimSelection::range(0, 3)}), std::vector<int32_t>(12, -1));

  const uint64_t outside[] = {3, 0};
  EXPECT_LCSTORE_ERROR(array.write_chunk(outside, elements(chunk_values)), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.write_chunk(first, elements(std::vector<int32_t>(11, 0))), kInvalidArgument);
  const uint64_t three_dimensions[] = {0, 0, 0};
  EXPECT_LCSTORE_ERROR(array.write_chunk(three_dimensions, elements(chunk_values)), kInvalidArgument);
}

TEST_P(ArrayTest, MaskedWriteOfRunsChangesOnlyTheSelectedCells) {
  // Chunks of whole rows make the mask of a chunk one long run of flags,
  // scanned eight at a time; chunks of 4 columns, short ones.
  for (const Shape& chunks : {Shape{5, 4}, Shape{5, 40}}) {
    const Shape shape{12, 40};
    Array array = create("a" + std::to_string(chunks[1]), int32_metadata(shape, chunks));
    const std::vector<int32_t> before = iota_values(480, 100);
    const Selection slab{DimSelection::range(1, 12), DimSelection::all(40)};
    const std::vector<int32_t> values = iota_values(440, 1000);
    std::vector<std::vector<uint8_t>> masks = {std::vector<uint8_t>(440, 0), std::vector<uint8_t>(440, 1)};
    for (size_t run : {1, 3, 7, 8, 9, 13, 17, 64}) {
      std::vector<uint8_t> mask(440);
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i / run) % 2 == (run % 2);
      masks.push_back(mask);
    }
    std::mt19937 random(5);
    std::vector<uint8_t> any_nonzero(440);  // every flag that is not 0 selects its cell
    for (uint8_t& flag : any_nonzero) flag = random() % 3 == 0 ? 0 : static_cast<uint8_t>(1 + random() % 255);
    masks.push_back(any_nonzero);
    for (const std::vector<uint8_t>& mask : masks) {
      array.write<int32_t>(select_all(shape), before);
      array.write<int32_t>(slab, values, WriteFilter{.mask = mask});
      std::vector<int32_t> expected = before;
      for_each_selected(shape, slab, [&](uint64_t flat, uint64_t position) {
        if (mask[position]) expected[flat] = values[position];
      });
      EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected) << "chunks of " << chunks[1] << " columns";
    }
  }
}

TEST_P(ArrayTest, SkipFillValuesWritesOnlyTheFilledInCells) {
  const Shape shape{9, 7};
  Array array = create("a", int32_metadata(shape, {4, 3}));
  const std::vector<int32_t> before = iota_values(63, 100);
  array.write<int32_t>(select_all(shape), before);

  // A staged copy of rows 2..6: mostly fill, a few cells filled in.
  const Selection slab{DimSelection::range(2, 7), DimSelection::all(7)};
  std::vector<int32_t> staged(35, -1);
  staged[0] = 5000;
  staged[17] = 5017;
  staged[34] = 5034;
  std::vector<uint8_t> mask(35, 1);
  mask[17] = 0;  // combined with a mask: both must allow the cell
  array.write<int32_t>(slab, staged, WriteFilter{.mask = mask, .skip_fill_values = true});

  std::vector<int32_t> expected = before;
  expected[2 * 7 + 0] = 5000;
  expected[2 * 7 + 34] = 5034;
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);

  // Without the mask the fill cells still stay untouched.
  array.write<int32_t>(slab, staged, WriteFilter{.skip_fill_values = true});
  expected[2 * 7 + 17] = 5017;
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);
}

TEST_P(ArrayTest, UpdateReadsModifiesAndWrites) {
  const Shape shape{11, 6};
  Array array = create("a", int32_metadata(shape, {4, 4}));
  std::vector<int32_t> expected = iota_values(66, 0);
  array.write<int32_t>(select_all(shape), expected);

  const Selection selection{DimSelection::indices({9, 2, 5}), DimSelection::range(3, 6)};
  std::vector<int32_t> seen;
  array.update(selection, [&](std::span<std::byte> cells) {
    auto* values = reinterpret_cast<int32_t*>(cells.data());
    seen.assign(values, values + cells.size() / sizeof(int32_t));
    for (size_t i = 0; i < seen.size(); ++i) values[i] = values[i] * 10;
  });
  EXPECT_EQ(seen, (std::vector<int32_t>{57, 58, 59, 15, 16, 17, 33, 34, 35})) << "update sees the current cells";
  for (int32_t row : {9, 2, 5}) {
    for (int32_t column = 3; column < 6; ++column) expected[row * 6 + column] *= 10;
  }
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);

  // On unwritten chunks the cells start as the fill value.
  Array fresh = create("b", int32_metadata(shape, {4, 4}));
  fresh.update({DimSelection::range(10, 11), DimSelection::range(0, 2)}, [](std::span<std::byte> cells) {
    auto* values = reinterpret_cast<int32_t*>(cells.data());
    EXPECT_EQ(values[0], -1);
    EXPECT_EQ(values[1], -1);
    values[1] = 4;
  });
  EXPECT_EQ(fresh.read<int32_t>({DimSelection::range(10, 11), DimSelection::all(6)}),
            (std::vector<int32_t>{-1, 4, -1, -1, -1, -1}));
  EXPECT_EQ(stored_chunk_keys(store(), "b"), std::set<std::string>{"b/c/2/0"});
}

TEST_P(ArrayTest, UpdateThatThrowsWritesNothing) {
  Array array = create("a", int32_metadata({4}, {2}));
  array.write<int32_t>(select_all({4}), iota_values(4, 1));
  EXPECT_THROW(array.update(select_all({4}),
                            [](std::span<std::byte> cells) {
                              std::fill(cells.begin(), cells.end(), std::byte{0});
                              throw std::runtime_error("changed my mind");
                            }),
               std::runtime_error);
  EXPECT_EQ(array.read<int32_t>(select_all({4})), iota_values(4, 1));
  // An update of one chunk is a change like a write's (it may be combined
  // with other threads' changes of the chunk): it too leaves the chunk as it was.
  EXPECT_THROW(array.update({DimSelection::range(2, 4)},
                            [](std::span<std::byte> cells) {
                              std::fill(cells.begin(), cells.end(), std::byte{0});
                              throw std::runtime_error("changed my mind");
                            }),
               std::runtime_error);
  EXPECT_EQ(array.read<int32_t>(select_all({4})), iota_values(4, 1));
  // The chunk locks were released: a later update proceeds.
  array.update({DimSelection::range(0, 1)}, [](std::span<std::byte> cells) { cells[0] = std::byte{9}; });
  EXPECT_EQ(array.read<int32_t>(select_all({4})), (std::vector<int32_t>{9, 2, 3, 4}));
}

TEST_P(ArrayTest, EmptySelectionsAndEmptyArrays) {
  Array array = create("a", int32_metadata({6, 4}, {4, 4}));
  const Selection nothing{DimSelection::indices({}), DimSelection::range(0, 4)};
  EXPECT_TRUE(array.read<int32_t>(nothing).empty());
  array.write<int32_t>(nothing, std::vector<int32_t>{});
  array.write<int32_t>({DimSelection::range(2, 2), DimSelection::all(4)}, std::vector<int32_t>{});
  EXPECT_TRUE(stored_chunk_keys(store(), "a").empty());

  Array empty = create("e", int32_metadata({0, 3}, {2, 2}));
  EXPECT_EQ(empty.chunk_grid_shape(), (Shape{0, 2}));
  EXPECT_TRUE(empty.read<int32_t>(select_all({0, 3})).empty());
  empty.write<int32_t>(select_all({0, 3}), std::vector<int32_t>{});
  EXPECT_TRUE(stored_chunk_keys(store(), "e").empty());
  EXPECT_LCSTORE_ERROR(empty.read<int32_t>({DimSelection::indices({0}), DimSelection::all(3)}), kInvalidArgument);
}

// Forwards to another store, counting the values written and erased per key.
class CountingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  void set(std::string_view key, ByteView value) override {
    ++sets[std::string(key)];
    StoreWrapper::set(key, value);
  }
  void erase(std::string_view key) override {
    ++erases[std::string(key)];
    StoreWrapper::erase(key);
  }

  std::map<std::string, int> sets, erases;
};

TEST_P(ArrayTest, BatchCommitsOneRewritePerChunk) {
  auto counting = std::make_shared<CountingStore>(scratch_.store());
  const Shape shape{10, 9};
  Array array = Array::create(counting, "a", int32_metadata(shape, {4, 3}));  // grid 3 x 3
  counting->sets.clear();                                                     // zarr.json
  std::vector<int32_t> expected(90, -1);
  auto apply = [&](const Selection& selection, const std::vector<int32_t>& values, std::span<const uint8_t> mask) {
    for_each_selected(shape, selection, [&](uint64_t flat, uint64_t position) {
      if (mask.empty() || mask[position]) expected[flat] = values[position];
    });
  };

  Array::Batch batch(array);
  const Selection first{DimSelection::range(0, 4), DimSelection::range(0, 6)};  // chunks (0,0), (0,1)
  const std::vector<int32_t> first_values = iota_values(24, 100);
  batch.write<int32_t>(first, first_values);
  const Selection second{DimSelection::indices({2, 5}), DimSelection::range(1, 4)};  // (0,0), (0,1), (1,0), (1,1)
  const std::vector<int32_t> second_values = iota_values(6, 200);
  batch.write<int32_t>(second, second_values);
  const Selection third{DimSelection::range(8, 10), DimSelection::range(6, 9)};  // (2,2), ragged
  const std::vector<int32_t> third_values = iota_values(6, 300);
  const std::vector<uint8_t> third_mask{1, 0, 1, 0, 1, 0};
  batch.write<int32_t>(third, third_values, WriteFilter{.mask = third_mask});
  EXPECT_TRUE(counting->sets.empty()) << "nothing is written before commit";

  const uint64_t rewritten = batch.commit();
  apply(first, first_values, {});
  apply(second, second_values, {});  // later writes win
  apply(third, third_values, third_mask);

  EXPECT_EQ(rewritten, 5u);
  const std::map<std::string, int> once = {
      {"a/c/0/0", 1}, {"a/c/0/1", 1}, {"a/c/1/0", 1}, {"a/c/1/1", 1}, {"a/c/2/2", 1}};
  EXPECT_EQ(counting->sets, once);
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), expected);

  // Committing again writes nothing; a staged fill-only write erases its chunk.
  counting->sets.clear();
  EXPECT_EQ(batch.commit(), 0u);
  EXPECT_TRUE(counting->sets.empty());
  batch.write<int32_t>(third, std::vector<int32_t>(6, -1));
  EXPECT_EQ(batch.commit(), 1u);
  EXPECT_EQ((counting->erases), (std::map<std::string, int>{{"a/c/2/2", 1}}));
  EXPECT_FALSE(store().get("a/c/2/2").has_value());
}

TEST_P(ArrayTest, BatchSkipsFillValuesWhenAsked) {
  const Shape shape{6};
  Array array = create("a", int32_metadata(shape, {4}));
  array.write<int32_t>(select_all(shape), iota_values(6, 1));
  Array::Batch batch(array);
  batch.write<int32_t>(select_all(shape), std::vector<int32_t>{-1, 20, -1, -1, 50, -1},
                       WriteFilter{.skip_fill_values = true});
  EXPECT_EQ(batch.commit(), 2u);
  EXPECT_EQ(array.read<int32_t>(select_all(shape)), (std::vector<int32_t>{1, 20, 3, 4, 50, 6}));
}

TEST_P(ArrayTest, InvalidArgumentsAreRejected) {
  const Shape shape{10, 8};
  Array array = create("a", int32_metadata(shape, {4, 4}));
  const std::vector<int32_t> four(4, 1);
  // Out of bounds: ranges and indices.
  EXPECT_LCSTORE_ERROR(array.read<int32_t>({DimSelection::range(8, 11), DimSelection::range(0, 1)}), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.read<int32_t>({DimSelection::indices({0, 10}), DimSelection::range(0, 1)}),
                       kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.write<int32_t>({DimSelection::range(0, 2), DimSelection::indices({7, 8})}, four),
                       kInvalidArgument);
  EXPECT_LCSTORE_ERROR(DimSelection::range(5, 3), kInvalidArgument);
  // Wrong rank.
  EXPECT_LCSTORE_ERROR(array.read<int32_t>({DimSelection::range(0, 4)}), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(
      array.read<int32_t>({DimSelection::range(0, 1), DimSelection::range(0, 1), DimSelection::range(0, 1)}),
      kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.write<int32_t>({DimSelection::range(0, 4)}, four), kInvalidArgument);
  // Wrong buffer size, in elements and in bytes.
  const Selection two_by_two{DimSelection::range(0, 2), DimSelection::range(0, 2)};
  EXPECT_LCSTORE_ERROR(array.write<int32_t>(two_by_two, std::vector<int32_t>(3, 1)), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.write<int32_t>(two_by_two, std::vector<int32_t>(5, 1)), kInvalidArgument);
  Bytes odd(4 * sizeof(int32_t) + 1);
  EXPECT_LCSTORE_ERROR(array.write(two_by_two, odd), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.read_into(two_by_two, odd), kInvalidArgument);
  Bytes short_buffer(3 * sizeof(int32_t));
  EXPECT_LCSTORE_ERROR(array.read_into(two_by_two, short_buffer), kInvalidArgument);
  const std::vector<uint8_t> short_mask(3, 1);
  EXPECT_LCSTORE_ERROR(array.write<int32_t>(two_by_two, four, WriteFilter{.mask = short_mask}), kInvalidArgument);
  // Wrong element type.
  EXPECT_LCSTORE_ERROR(array.read<float>(two_by_two), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.read<uint32_t>(two_by_two), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.write<float>(two_by_two, std::vector<float>(4, 1.0f)), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.read_strings(two_by_two), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(array.write_strings(two_by_two, Cells(4, "x")), kInvalidArgument);
  // Batches check as well, at staging or at commit.
  Array::Batch batch(array);
  EXPECT_LCSTORE_ERROR(batch.write<float>(two_by_two, std::vector<float>(4, 1.0f)), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(batch.write<int32_t>(two_by_two, std::vector<int32_t>(3, 1)), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(batch.write(two_by_two, odd), kInvalidArgument);
  batch.write<int32_t>({DimSelection::range(9, 11), DimSelection::range(0, 2)}, four);
  EXPECT_LCSTORE_ERROR(batch.commit(), kInvalidArgument);

  // String arrays refuse the fixed-size calls.
  ArrayMetadata strings;
  strings.shape = {4};
  strings.chunk_shape = {2};
  strings.data_type = DataType::kString;
  strings.fill_value = FillValue::of_string("");
  strings.codecs = {{{"name", "vlen-utf8"}}};
  Array text = create("text", strings);
  Bytes bytes(4);
  EXPECT_LCSTORE_ERROR(text.read_into(select_all({4}), bytes), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(text.write(select_all({4}), bytes), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(text.read<int32_t>(select_all({4})), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(text.update(select_all({4}), [](std::span<std::byte>) {}), kInvalidArgument);
  EXPECT_LCSTORE_ERROR(text.write_strings(select_all({4}), Cells(3, "x")), kInvalidArgument);
  Array::Batch text_batch(text);
  EXPECT_LCSTORE_ERROR(text_batch.write(select_all({4}), bytes), kInvalidArgument);

  // None of the failed writes stored anything.
  EXPECT_TRUE(stored_chunk_keys(store(), "a").empty());
  EXPECT_TRUE(stored_chunk_keys(store(), "text").empty());
}

TEST_P(ArrayTest, OpenMissingOrWrongNode) {
  EXPECT_LCSTORE_ERROR(Array::open(scratch_.store(), "nothing"), kNotFound);
  Group::create(scratch_.store(), "g");
  EXPECT_LCSTORE_ERROR(Array::open(scratch_.store(), "g"), kInvalidMetadata);
  store().set("bad/zarr.json", to_bytes("{not json"));
  EXPECT_LCSTORE_ERROR(Array::open(scratch_.store(), "bad"), kInvalidMetadata);
  // A node_type that is not a string.
  const Group parent = Group::create(scratch_.store(), "h");
  store().set("h/odd/zarr.json", to_bytes(R"({"zarr_format": 3, "node_type": 5})"));
  EXPECT_LCSTORE_ERROR(zarr::node_type_at(store(), "h/odd"), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(Array::open(scratch_.store(), "h/odd"), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(parent.children(), kInvalidMetadata);
}

TEST_P(ArrayTest, SetAttributesPersists) {
  ArrayMetadata metadata = int32_metadata({4}, {2});
  metadata.attributes = {{"first", 1}};
  metadata.dimension_names = std::vector<std::optional<std::string>>{"object"};
  Array array = create("a", metadata);
  array.write<int32_t>(select_all({4}), iota_values(4, 0));
  const json attributes = {{"units", "mag"}, {"epochs", {1, 2, 3}}, {"nested", {{"k", nullptr}}}};
  array.set_attributes(attributes);
  EXPECT_EQ(array.metadata().attributes, attributes);

  const Array reopened = Array::open(scratch_.store(), "a");
  EXPECT_EQ(reopened.metadata().attributes, attributes);
  json expected = array.metadata().to_json();
  EXPECT_EQ(reopened.metadata().to_json(), expected);
  EXPECT_EQ(expected["dimension_names"], json::array({"object"})) << "the rest of the metadata is kept";
  const json stored = zarr::parse_json_document(to_text(*store().get("a/zarr.json")), "a/zarr.json");
  EXPECT_EQ(stored["attributes"], attributes);
  EXPECT_EQ(reopened.read<int32_t>(select_all({4})), iota_values(4, 0)) << "the data is kept";
}

TEST_P(ArrayTest, TypedReadsAndWrites) {
  ArrayMetadata metadata;
  metadata.shape = {3, 4};
  metadata.chunk_shape = {2, 3};
  metadata.data_type = DataType::kFloat64;
  metadata.fill_value = FillValue::of(0.25);
  metadata.codecs = {bytes_codec("big")};
  Array array = create("f", metadata);
  const std::vector<double> values{1.5, -2.0, 1e300, -0.0, 3.25, 4, 5, 6, 7, 8, 9, 10};
  array.write<double>(select_all({3, 4}), values);
  EXPECT_EQ(array.read<double>(select_all({3, 4})), values);
  EXPECT_EQ(array.read<double>({DimSelection::indices({2, 0}), DimSelection::indices({3, 0})}),
            (std::vector<double>{10, 7, -0.0, 1.5}));
  EXPECT_EQ(Array::open(scratch_.store(), "f").read<double>({DimSelection::range(1, 2), DimSelection::range(1, 3)}),
            (std::vector<double>{4, 5}));
}

// --- Corrupt chunks (files on disk) --------------------------------------------

class CorruptChunk : public ::testing::Test {
 protected:
  // A 3-d float32 array whose chunks are all stored.
  Array create(const std::string& path, const json& codecs, Shape chunks = {4, 3, 5}) {
    ArrayMetadata metadata;
    metadata.shape = {8, 6, 10};
    metadata.chunk_shape = std::move(chunks);
    metadata.data_type = DataType::kFloat32;
    metadata.fill_value = FillValue::of(0.0f);
    metadata.codecs = codecs;
    Array array = Array::create(store_, path, metadata);
    std::vector<float> values(480);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) + 0.5f;
    array.write<float>(select_all({8, 6, 10}), values);
    return array;
  }

  // Reading, partially reading and partially writing the chunk all throw
  // kCorruptData naming the chunk's file.
  void expect_corrupt(Array& array, const fs::path& file) {
    auto names_file = [&](const Error& error) {
      EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
    };
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kCorruptData,
        [&] {
          array.read<float>(select_all({8, 6, 10}));
        },
        names_file));
    const Selection one_cell{DimSelection::range(5, 6), DimSelection::range(4, 5), DimSelection::range(6, 7)};
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kCorruptData, [&] { array.read<float>(one_cell); }, names_file));
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kCorruptData, [&] { array.write<float>(one_cell, std::vector<float>{1.0f}); }, names_file));
    // Other chunks still read.
    EXPECT_EQ(array.read<float>({DimSelection::range(0, 1), DimSelection::range(0, 1), DimSelection::range(0, 1)}),
              std::vector<float>{0.5f});
  }

  fs::path chunk_file(const std::string& path) const { return directory_.path() / path / "c" / "1" / "1" / "1"; }

  static void truncate(const fs::path& file) { fs::resize_file(file, fs::file_size(file) / 2); }
  static void flip_byte(const fs::path& file, size_t offset) {
    std::string contents = read_file(file);
    ASSERT_LT(offset, contents.size());
    contents[offset] = static_cast<char>(contents[offset] ^ 0x10);
    write_file(file, contents);
  }

  TempDir directory_;
  std::shared_ptr<DirectoryStore> store_ = std::make_shared<DirectoryStore>(directory_.path());
};

TEST_F(CorruptChunk, TruncatedRawChunk) {
  Array array = create("raw", json::array({bytes_codec()}));
  truncate(chunk_file("raw"));
  expect_corrupt(array, chunk_file("raw"));
}

TEST_F(CorruptChunk, TruncatedCompressedChunk) {
  Array array = create("zstd", json::array({bytes_codec(), zstd_codec()}));
  truncate(chunk_file("zstd"));
  expect_corrupt(array, chunk_file("zstd"));
}

TEST_F(CorruptChunk, FlippedByteUnderCrc32c) {
  Array array = create("crc", json::array({bytes_codec(), crc32c_codec()}));
  flip_byte(chunk_file("crc"), 100);
  expect_corrupt(array, chunk_file("crc"));
}

TEST_F(CorruptChunk, FlippedByteInAShardIndex) {
  const json sharded = {{{"name", "sharding_indexed"},
                         {"configuration",
                          {{"chunk_shape", {2, 3, 5}},
                           {"codecs", {bytes_codec(), zstd_codec()}},
                           {"index_codecs", {bytes_codec(), crc32c_codec()}},
                           {"index_location", "end"}}}}};
  Array array = create("shards", sharded);
  const fs::path file = chunk_file("shards");
  flip_byte(file, fs::file_size(file) - 12);  // inside the index, before its checksum
  expect_corrupt(array, file);
}

// --- Groups ------------------------------------------------------------------

std::vector<std::pair<std::string, NodeType>> children_of(const Group& group) {
  std::vector<std::pair<std::string, NodeType>> out;
  for (const Group::Child& child : group.children()) out.emplace_back(child.name, child.type);
  return out;
}

class GroupTest : public ArrayTest {
 protected:
  // root {title} / sub {kind} / sub/x (array) / sub/deeper/z (array), root / sub-2, root / y (array).
  void build_hierarchy() {
    Group::create(scratch_.store(), "", {{"title", "root"}});
    Group::create(scratch_.store(), "sub", {{"kind", "nested"}});
    Group::create(scratch_.store(), "sub-2");
    Group::create(scratch_.store(), "sub/deeper");
    Array x = create("sub/x", int32_metadata({5}, {2}));
    x.write<int32_t>(select_all({5}), iota_values(5, 1));
    create("sub/deeper/z", int32_metadata({2, 2}, {1, 1}));
    create("y", int32_metadata({3}, {3}));
  }
  json document_at(const std::string& path) {
    const std::string key = path.empty() ? "zarr.json" : path + "/zarr.json";
    return zarr::parse_json_document(to_text(*store().get(key)), key);
  }
};

INSTANTIATE_TEST_SUITE_P(Stores, GroupTest, ::testing::Values(StoreKind::kMemory, StoreKind::kDirectory),
                         [](const auto& test) { return std::string(name_of(test.param)); });

TEST_P(GroupTest, HierarchyChildrenAndAttributes) {
  build_hierarchy();
  const Group root = Group::open(scratch_.store(), "");
  EXPECT_EQ(root.attributes(), (json{{"title", "root"}}));
  EXPECT_EQ(root.metadata().consolidated, GroupMetadata::Consolidated::kAbsent);
  EXPECT_EQ(children_of(root), (std::vector<std::pair<std::string, NodeType>>{
                                   {"sub", NodeType::kGroup}, {"sub-2", NodeType::kGroup}, {"y", NodeType::kArray}}));
  const Group sub = root.open_group("sub");
  EXPECT_EQ(sub.path(), "sub");
  EXPECT_EQ(sub.attributes(), (json{{"kind", "nested"}}));
  EXPECT_EQ(children_of(sub),
            (std::vector<std::pair<std::string, NodeType>>{{"deeper", NodeType::kGroup}, {"x", NodeType::kArray}}));
  EXPECT_EQ(sub.open_array("x").read<int32_t>(select_all({5})), iota_values(5, 1));
  EXPECT_EQ(sub.open_group("deeper").open_array("z").shape(), (Shape{2, 2}));
  EXPECT_EQ(root.open_array("y").path(), "y");

  EXPECT_EQ(zarr::node_type_at(store(), ""), NodeType::kGroup);
  EXPECT_EQ(zarr::node_type_at(store(), "sub/x"), NodeType::kArray);
  EXPECT_LCSTORE_ERROR(zarr::node_type_at(store(), "sub/missing"), kNotFound);
  EXPECT_LCSTORE_ERROR(root.open_group("missing"), kNotFound);
  EXPECT_LCSTORE_ERROR(root.open_array("missing"), kNotFound);
  EXPECT_LCSTORE_ERROR(root.open_group("y"), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(root.open_array("sub"), kInvalidMetadata);

  Group writable = Group::open(scratch_.store(), "sub");
  writable.set_attributes({{"kind", "changed"}, {"n", 2}});
  EXPECT_EQ(writable.attributes(), (json{{"kind", "changed"}, {"n", 2}}));
  EXPECT_EQ(Group::open(scratch_.store(), "sub").attributes(), (json{{"kind", "changed"}, {"n", 2}}));
}

TEST_P(GroupTest, ConsolidateRecordsEveryNode) {
  build_hierarchy();
  Group root = Group::open(scratch_.store(), "");
  root.consolidate();

  const GroupMetadata stored = GroupMetadata::from_json(document_at(""), "zarr.json");
  EXPECT_EQ(stored.attributes, (json{{"title", "root"}}));
  ASSERT_EQ(stored.consolidated, GroupMetadata::Consolidated::kInline);
  std::vector<std::string> paths;
  for (const auto& [path, node] : stored.consolidated_nodes) paths.push_back(path);
  EXPECT_EQ(paths, (std::vector<std::string>{"sub", "sub-2", "sub/deeper", "sub/deeper/z", "sub/x", "y"}));
  for (const std::string& path : paths) {
    json expected = document_at(path);
    if (expected["node_type"] == "group") {
      // Nested groups are recorded with empty inline metadata of their own, as zarr-python does.
      expected["consolidated_metadata"] = {
          {"kind", "inline"}, {"must_understand", false}, {"metadata", json::object()}};
    }
    EXPECT_EQ(stored.consolidated_nodes.at(path), expected) << path;
  }
  EXPECT_EQ(root.metadata().to_json(), stored.to_json()) << "the object matches the store";
  EXPECT_EQ(Group::open(scratch_.store(), "").metadata().to_json(), stored.to_json());

  // Changing the attributes keeps the consolidated metadata.
  root.set_attributes({{"title", "renamed"}});
  const GroupMetadata after = GroupMetadata::from_json(document_at(""), "zarr.json");
  EXPECT_EQ(after.attributes, (json{{"title", "renamed"}}));
  EXPECT_EQ(after.consolidated_nodes, stored.consolidated_nodes);

  // Consolidating a subgroup records only its own descendants.
  Group sub = Group::open(scratch_.store(), "sub");
  sub.consolidate();
  std::vector<std::string> sub_paths;
  for (const auto& [path, node] : GroupMetadata::from_json(document_at("sub"), "").consolidated_nodes) {
    sub_paths.push_back(path);
  }
  EXPECT_EQ(sub_paths, (std::vector<std::string>{"deeper", "deeper/z", "x"}));
}

}  // namespace
}  // namespace lcstore::testing
