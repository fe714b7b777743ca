#include "lcstore/zarr/array.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <optional>

#include "lcstore/error.h"
#include "zarr/chunk_session.h"
#include "zarr/codec.h"
#include "zarr/node_io.h"

namespace lcstore::zarr {

namespace {

// The selected indices of one dimension that fall into one chunk.
struct ChunkPart {
  uint64_t chunk = 0;              // chunk index along the dimension
  std::vector<uint64_t> local;     // index within the chunk
  std::vector<uint64_t> position;  // index within the selection block
  bool consecutive = true;         // local and position both step by one
};

std::vector<ChunkPart> split_dimension(const DimSelection& selection, uint64_t extent, uint64_t chunk_extent,
                                       size_t dimension, const std::string& subject) {
  std::map<uint64_t, ChunkPart> parts;
  // Ranges and most index lists stay in one chunk for long runs: the map is
  // searched only when the chunk changes.
  ChunkPart* current = nullptr;
  for (uint64_t position = 0; position < selection.count(); ++position) {
    uint64_t index = selection[position];
    if (index >= extent) {
      throw Error(ErrorKind::kInvalidArgument, subject,
                  "index " + std::to_string(index) + " is out of bounds for dimension " + std::to_string(dimension) +
                      " of extent " + std::to_string(extent));
    }
    if (current == nullptr || current->chunk != index / chunk_extent) {
      current = &parts[index / chunk_extent];
      current->chunk = index / chunk_extent;
    }
    ChunkPart& part = *current;
    uint64_t local = index % chunk_extent;
    if (!part.local.empty() && (local != part.local.back() + 1 || position != part.position.back() + 1)) {
      part.consecutive = false;
    }
    part.local.push_back(local);
    part.position.push_back(position);
  }
  std::vector<ChunkPart> list;
  for (auto& [chunk, part] : parts) list.push_back(std::move(part));
  return list;
}

// The chunks a selection touches, as per-dimension parts whose product is the
// set of (chunk, cells) pairs.
class SelectionPlan {
 public:
  SelectionPlan(const Selection& selection, const ArrayMetadata& metadata, const std::string& subject)
      : block_shape_(selection_shape(selection)) {
    if (selection.size() != metadata.shape.size()) {
      throw Error(ErrorKind::kInvalidArgument, subject,
                  "selection has " + std::to_string(selection.size()) + " dimensions, the array " +
                      std::to_string(metadata.shape.size()));
    }
    for (size_t d = 0; d < selection.size(); ++d) {
      dimensions_.push_back(split_dimension(selection[d], metadata.shape[d], metadata.chunk_shape[d], d, subject));
    }
  }

  const Shape& block_shape() const { return block_shape_; }

  // Calls visit(chunk_coords, parts) for every touched chunk.
  template <typename Visit>
  void for_each_chunk(Visit&& visit) const {
    Shape counts;
    for (const auto& parts : dimensions_) counts.push_back(parts.size());
    std::vector<const ChunkPart*> parts(dimensions_.size());
    Shape coords(dimensions_.size());
    for_each_index(counts, [&](const Shape& index) {
      for (size_t d = 0; d < dimensions_.size(); ++d) {
        parts[d] = &dimensions_[d][index[d]];
        coords[d] = parts[d]->chunk;
      }
      visit(coords, parts);
    });
  }

 private:
  Shape block_shape_;
  std::vector<std::vector<ChunkPart>> dimensions_;
};

// The caller's side of a transfer: the selection's cells, in C order.
using Block = ChunkView;

enum class Direction { kChunkToBlock, kBlockToChunk };

// Copies `count` cells of `Width` bytes, `from_step` and `to_step` cells
// apart; a fixed size lets the compiler copy each cell with one move.
template <size_t Width>
void copy_strided(std::byte* to, uint64_t to_step, const std::byte* from, uint64_t from_step, uint64_t count) {
  for (uint64_t k = 0; k < count; ++k) std::memcpy(to + k * to_step * Width, from + k * from_step * Width, Width);
}

void copy_strided(std::byte* to, uint64_t to_step, const std::byte* from, uint64_t from_step, uint64_t count,
                  size_t width) {
  switch (width) {
    case 1:
      return copy_strided<1>(to, to_step, from, from_step, count);
    case 2:
      return copy_strided<2>(to, to_step, from, from_step, count);
    case 4:
      return copy_strided<4>(to, to_step, from, from_step, count);
    case 8:
      return copy_strided<8>(to, to_step, from, from_step, count);
    case 16:
      return copy_strided<16>(to, to_step, from, from_step, count);
    default:
      for (uint64_t k = 0; k < count; ++k) std::memcpy(to + k * to_step * width, from + k * from_step * width, width);
  }
}

// The first flag in [from, end) that is not 0. Eight flags are tested at a
// time: a staged slab's mask is runs of an object's cells, and testing flag by
// flag was a sixteenth of two threads populating halves of the same chunks.
const uint8_t* first_set(const uint8_t* from, const uint8_t* end) {
  for (; end - from >= 8; from += 8) {
    uint64_t flags;
    std::memcpy(&flags, from, 8);
    if (flags != 0) return from + std::countr_zero(flags) / 8;  // little-endian: the first flag is the low byte
  }
  while (from < end && *from == 0) ++from;
  return from;
}

// The first flag in [from, end) that is 0.
const uint8_t* first_unset(const uint8_t* from, const uint8_t* end) {
  if (from >= end) return end;
  const void* zero = std::memchr(from, 0, static_cast<size_t>(end - from));
  return zero == nullptr ? end : static_cast<const uint8_t*>(zero);
}

// Moves the cells named by `parts` between `chunk` (whose first element is at
// chunk-local index `origin`) and `block`. A filter, for block-to-chunk moves,
// skips cells.
void transfer(const std::vector<const ChunkPart*>& parts, Chunk& chunk, const Shape& origin, const Block& block,
              Direction direction, const WriteFilter& filter, const FillValue& fill) {
  // A chunk opened to be overwritten whole has no elements yet.
  if (chunk.data.empty() && chunk.strings.empty()) chunk = Chunk::sized(chunk.data_type, chunk.shape);
  const size_t rank = parts.size();
  const size_t width = item_size(chunk.data_type);
  const bool filtered = !filter.mask.empty() || filter.skip_fill_values;
  const std::vector<uint64_t> chunk_strides = strides_of(chunk.shape);
  const std::vector<uint64_t> block_strides = strides_of(block.shape);
  auto wanted = [&](uint64_t in_block) {
    if (!filter.mask.empty() && filter.mask[in_block] == 0) return false;
    if (filter.skip_fill_values) {
      if (chunk.data_type == DataType::kString) return block.strings[in_block] != fill.text();
      return std::memcmp(block.bytes + in_block * width, fill.bytes(), width) != 0;
    }
    return true;
  };

  // Trailing dimensions with one selected cell are a fixed offset, and the
  // cells of the dimensions before them lie a fixed step apart in the chunk
  // and in the block: an epoch chunk read into a block of many epochs puts
  // one cell every n_epochs.
  size_t inner = rank;
  uint64_t chunk_offset = 0, block_offset = 0;
  while (inner > 0 && parts[inner - 1]->local.size() == 1) {
    const size_t d = --inner;
    chunk_offset += (parts[d]->local[0] - origin[d]) * chunk_strides[d];
    block_offset += parts[d]->position[0] * block_strides[d];
  }
  const uint64_t chunk_step = inner == 0 ? 1 : chunk_strides[inner - 1];
  const uint64_t block_step = inner == 0 ? 1 : block_strides[inner - 1];
  // `count` cells, `chunk_step` and `block_step` apart, from in_chunk/in_block on.
  auto move = [&](uint64_t in_chunk, uint64_t in_block, uint64_t count) {
    if (chunk.data_type == DataType::kString) {
      for (uint64_t k = 0; k < count; ++k) {
        std::string& in_chunk_k = chunk.strings[in_chunk + k * chunk_step];
        std::string& in_block_k = block.strings[in_block + k * block_step];
        if (direction == Direction::kChunkToBlock)
          in_block_k = in_chunk_k;
        else
          in_chunk_k = in_block_k;
      }
      return;
    }
    std::byte* chunk_cells = chunk.data.data() + in_chunk * width;
    std::byte* block_cells = block.bytes + in_block * width;
    if (chunk_step == 1 && block_step == 1) {
      if (direction == Direction::kChunkToBlock)
        std::memcpy(block_cells, chunk_cells, count * width);
      else
        std::memcpy(chunk_cells, block_cells, count * width);
    } else if (direction == Direction::kChunkToBlock) {
      copy_strided(block_cells, block_step, chunk_cells, chunk_step, count, width);
    } else {
      copy_strided(chunk_cells, chunk_step, block_cells, block_step, count, width);
    }
  };

  // Dimensions before those that the selection takes whole, in the chunk and
  // in the block alike, fold into one run of `row` cells (contiguous when no
  // trailing dimension had one cell), so whole slabs move with one copy.
  size_t folded = inner;
  uint64_t row = 1;
  while (folded > 0) {
    const size_t d = folded - 1;
    const ChunkPart& part = *parts[d];
    const uint64_t n = part.local.size();
    if (!part.consecutive || part.local[0] != origin[d] || n != chunk.shape[d] || part.position[0] != 0 ||
        n != block.shape[d]) {
      break;
    }
    row *= n;
    folded = d;
  }
  auto move_row = [&](uint64_t in_chunk, uint64_t in_block, uint64_t count) {
    if (!filtered) return move(in_chunk, in_block, count);
    // Runs of wanted cells move with one copy each: a staged slab's mask is
    // mostly long runs. A mask over adjacent cells is scanned for the ends
    // of its runs directly (testing each cell was a seventh of populate).
    if (!filter.skip_fill_values && block_step == 1) {
      const uint8_t* cells_wanted = filter.mask.data() + in_block;
      const uint8_t* const end = cells_wanted + count;
      for (const uint8_t* k = cells_wanted; k < end;) {
        const uint8_t* run = first_set(k, end);
        k = first_unset(run, end);
        const auto first = static_cast<uint64_t>(run - cells_wanted);
        if (k > run) move(in_chunk + first * chunk_step, in_block + first, static_cast<uint64_t>(k - run));
      }
      return;
    }
    for (uint64_t k = 0; k < count;) {
      while (k < count && !wanted(in_block + k * block_step)) ++k;
      const uint64_t run = k;
      while (k < count && wanted(in_block + k * block_step)) ++k;
      if (k > run) move(in_chunk + run * chunk_step, in_block + run * block_step, k - run);
    }
  };
  if (folded == 0) return move_row(chunk_offset, block_offset, row);

  const size_t pivot = folded - 1;
  const ChunkPart& last = *parts[pivot];
  std::vector<size_t> index(pivot, 0);
  while (true) {
    uint64_t chunk_base = chunk_offset, block_base = block_offset;
    for (size_t d = 0; d < pivot; ++d) {
      chunk_base += (parts[d]->local[index[d]] - origin[d]) * chunk_strides[d];
      block_base += parts[d]->position[index[d]] * block_strides[d];
    }
    if (last.consecutive) {
      move_row(chunk_base + (last.local[0] - origin[pivot]) * chunk_strides[pivot],
               block_base + last.position[0] * block_strides[pivot], last.local.size() * row);
    } else {
      for (size_t k = 0; k < last.local.size(); ++k) {
        move_row(chunk_base + (last.local[k] - origin[pivot]) * chunk_strides[pivot],
                 block_base + last.position[k] * block_strides[pivot], row);
      }
    }
    size_t d = pivot;
    while (d > 0 && ++index[d - 1] == parts[d - 1]->local.size()) index[--d] = 0;
    if (d == 0) return;
  }
}

// True when the parts name every valid cell of the chunk at `coords`, so a
// write needs not read the chunk first.
bool covers_chunk(const std::vector<const ChunkPart*>& parts, const Shape& coords, const ArrayMetadata& metadata) {
  for (size_t d = 0; d < parts.size(); ++d) {
    uint64_t begin = coords[d] * metadata.chunk_shape[d];
    uint64_t valid = std::min(metadata.chunk_shape[d], metadata.shape[d] - begin);
    if (!parts[d]->consecutive || parts[d]->local.front() != 0 || parts[d]->local.size() != valid) return false;
  }
  return true;
}

// Where the cells that `parts` select of a chunk start in `block`, when they
// are one contiguous range of it: one box of the chunk that spans the
// block's later dimensions whole (a run of objects' light curves).
std::optional<uint64_t> contiguous_in_block(const std::vector<const ChunkPart*>& parts, const Shape& block_shape) {
  for (size_t d = 0; d < parts.size(); ++d) {
    if (!parts[d]->consecutive) return std::nullopt;
    if (d > 0 && (parts[d]->position[0] != 0 || parts[d]->local.size() != block_shape[d])) return std::nullopt;
  }
  return parts.empty() ? 0 : parts[0]->position[0] * strides_of(block_shape)[0];
}

uint64_t linear_index(const Shape& coords, const Shape& grid) {
  uint64_t linear = 0;
  for (size_t d = 0; d < coords.size(); ++d) linear = linear * grid[d] + coords[d];
  return linear;
}

}  // namespace

// The part of a chunk a read selects, decoded: `region` holds the chunk's
// cells from `origin` on.
struct DecodedChunk {
  std::vector<const ChunkPart*> parts;
  Chunk region;
  Shape origin;
};

// The chunk-level operations every read and write path shares.
class ArrayChunks {
 public:
  ArrayChunks(Store& store, const Array& array, const CodecChain& codecs)
      : store_(store), array_(array), codecs_(codecs) {}

  std::string where(const Shape& coords) const { return store_.describe(key(coords)); }
  std::string key(const Shape& coords) const { return join_key(array_.path(), array_.chunk_key(coords)); }
  std::unique_ptr<Lock> lock(const Shape& coords) const {
    return store_.lock(array_.path(), linear_index(coords, array_.chunk_grid_shape()));
  }

  // Reads the selection into `block`, writing every cell: the fill value
  // where no chunk is stored.
  //
  // Chunks one cell wide in the last dimension (a light-curve store's epoch
  // chunks) put one cell every n cells of the block: transferred one by one,
  // each sweeps the whole block, which for a large block means every cache
  // line again per chunk (two fifths of a rechunk). Runs of such chunks that
  // differ only in the last dimension are decoded first and transferred
  // together, a cache-sized tile of the first dimension at a time.
  void read(const SelectionPlan& plan, const Block& block) const {
    constexpr size_t kRunChunks = 16;
    constexpr uint64_t kRunBytes = 8 << 20;
    std::vector<DecodedChunk> run;
    uint64_t run_bytes = 0;
    Shape run_coords;
    const DataType data_type = array_.data_type();
    const FillValue& fill = array_.metadata().fill_value;
    plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
      auto value = store_.open(key(coords));
      Box box;
      for (const ChunkPart* part : parts) {
        auto [low, high] = std::minmax_element(part->local.begin(), part->local.end());
        box.start.push_back(*low);
        box.shape.push_back(*high - *low + 1);
      }
      if (const std::optional<uint64_t> at = contiguous_in_block(parts, block.shape)) {
        const ChunkView cells{data_type, box.shape, block.bytes ? block.bytes + *at * item_size(data_type) : nullptr,
                              block.strings ? block.strings + *at : nullptr};
        if (value)
          codecs_.decode_region_into(*value, box, cells, where(coords));
        else
          fill_view(cells, fill);
        return;
      }
      DecodedChunk decoded{parts,
                           value ? codecs_.decode_region(*value, box, where(coords))
                                 : Chunk::filled(ChunkSpec{data_type, box.shape, fill}),
                           box.start};
      if (parts.size() < 2 || parts.back()->local.size() != 1 || decoded.region.data_type == DataType::kString) {
        transfer_run(std::span(&decoded, 1), block);
        return;
      }
      const bool continues = !run.empty() && std::equal(coords.begin(), coords.end() - 1, run_coords.begin());
      if (!continues) {
        transfer_run(run, block);
        run.clear();
        run_bytes = 0;
        run_coords = coords;
      }
      run_bytes += decoded.region.data.size();
      run.push_back(std::move(decoded));
      if (run.size() == kRunChunks || run_bytes >= kRunBytes) {
        transfer_run(run, block);
        run.clear();
        run_bytes = 0;
      }
    });
    transfer_run(run, block);
  }

  // Transfers decoded chunks that share their parts but in the last
  // dimension into `block`, tiles of the first dimension's part at a time.
  void transfer_run(std::span<DecodedChunk> run, const Block& block) const {
    static const WriteFilter no_filter;
    const FillValue& fill = array_.metadata().fill_value;
    if (run.empty()) return;
    if (run.size() == 1) {
      transfer(run[0].parts, run[0].region, run[0].origin, block, Direction::kChunkToBlock, no_filter, fill);
      return;
    }
    constexpr uint64_t kTileBytes = 256 << 10;
    const ChunkPart& first = *run[0].parts[0];
    const uint64_t row_bytes =
        std::max<uint64_t>(1, element_count(block.shape) / block.shape[0]) * item_size(run[0].region.data_type);
    const size_t tile = std::max<uint64_t>(1, kTileBytes / row_bytes);
    ChunkPart part_tile{first.chunk, {}, {}, first.consecutive};
    for (size_t begin = 0; begin < first.local.size(); begin += tile) {
      const size_t end = std::min(first.local.size(), begin + tile);
      part_tile.local.assign(first.local.begin() + static_cast<std::ptrdiff_t>(begin),
                             first.local.begin() + static_cast<std::ptrdiff_t>(end));
      part_tile.position.assign(first.position.begin() + static_cast<std::ptrdiff_t>(begin),
                                first.position.begin() + static_cast<std::ptrdiff_t>(end));
      for (DecodedChunk& decoded : run) {
        std::vector<const ChunkPart*> parts = decoded.parts;
        parts[0] = &part_tile;
        transfer(parts, decoded.region, decoded.origin, block, Direction::kChunkToBlock, no_filter, fill);
      }
    }
  }

  // The chunk as stored, or the fill value where it is not. An `unread`
  // chunk is one the first change overwrites whole: inside the array it has
  // no elements yet (filling a chunk that is then overwritten was a
  // twentieth of populate); an edge chunk's cells beyond the array keep the
  // fill value.
  Chunk load(const Shape& coords, bool unread) const {
    const ChunkSpec& spec = codecs_.spec();
    if (unread) {
      bool inside_array = true;
      for (size_t d = 0; d < coords.size(); ++d)
        inside_array = inside_array && (coords[d] + 1) * spec.shape[d] <= array_.metadata().shape[d];
      return inside_array ? Chunk{spec.data_type, spec.shape, {}, {}} : Chunk::filled(spec);
    }
    const std::string chunk_key = key(coords);
    if (auto value = store_.open(chunk_key)) return codecs_.decode(value->read_all(), store_.describe(chunk_key));
    return Chunk::filled(spec);
  }

  // Loads the chunk (see load), lets `modify` change it, then stores it. The
  // caller holds the chunk's lock.
  template <typename Modify>
  void rewrite(const Shape& coords, bool unread, Modify&& modify) const {
    Chunk chunk = load(coords, unread);
    modify(chunk);
    publish(key(coords), std::move(chunk));
  }

  // Applies `apply` to the chunk at `coords` in `session` (chunk_session.h):
  // to the chunk as this process's sessions hold it open, or as read under
  // its lock. A change that throws leaves the chunk as it was (see OnThrow).
  void change(ChunkSession& session, const Shape& coords, bool overwrites_all, const std::function<void(Chunk&)>& apply,
              ChunkSession::OnThrow on_throw = ChunkSession::OnThrow::kChangesNothing) const {
    // Only writers through the same metadata object share open chunks: the
    // same store, array path and codecs.
    const std::string chunk_key = key(coords);
    const std::string open_key = std::to_string(reinterpret_cast<uintptr_t>(&store_)) + ":" +
                                 std::to_string(reinterpret_cast<uintptr_t>(&codecs_)) + ":" + chunk_key;
    session.change(
        open_key, overwrites_all, apply,
        ChunkAccess{where(coords), [chunks = *this, coords] { return chunks.lock(coords); },
                    [chunks = *this, coords](bool unread) { return chunks.load(coords, unread); },
                    [chunks = *this, chunk_key](Chunk chunk) { chunks.publish(chunk_key, std::move(chunk)); }},
        on_throw);
  }

  // Stores `chunk` at `chunk_key`, or erases it when it holds only the fill
  // value. The caller holds the chunk's lock.
  void publish(const std::string& chunk_key, Chunk chunk) const {
    if (chunk.all_equal(array_.metadata().fill_value))
      store_.erase(chunk_key);
    else
      store_.set(chunk_key, codecs_.encode(std::move(chunk)));
  }

 private:
  Store& store_;
  const Array& array_;
  const CodecChain& codecs_;
};

Array::Array(std::shared_ptr<Store> store, std::string path, ArrayMetadata metadata)
    : store_(std::move(store)), path_(std::move(path)), metadata_(std::move(metadata)) {
  const std::string subject = store_->describe(join_key(path_, "zarr.json"));
  codecs_ = std::make_shared<const CodecChain>(CodecChain::parse(
      metadata_.codecs, ChunkSpec{metadata_.data_type, metadata_.chunk_shape, metadata_.fill_value}, subject));
}

Array Array::create(std::shared_ptr<Store> store, std::string path, ArrayMetadata metadata) {
  // Round-trip through JSON so that create validates exactly like open.
  Array array(store, path, ArrayMetadata::from_json(metadata.to_json(), store->describe(path)));
  write_node_document(*store, array.path_, array.metadata_.to_json());
  return array;
}

Array Array::open(std::shared_ptr<Store> store, std::string path) {
  auto document = read_node_document(*store, path);
  const std::string subject = store->describe(join_key(path, "zarr.json"));
  if (!document) throw Error(ErrorKind::kNotFound, subject, "no Zarr node here");
  return Array(store, std::move(path), ArrayMetadata::from_json(*document, subject));
}

Shape Array::chunk_grid_shape() const {
  Shape grid;
  for (size_t d = 0; d < metadata_.shape.size(); ++d) {
    grid.push_back((metadata_.shape[d] + metadata_.chunk_shape[d] - 1) / metadata_.chunk_shape[d]);
  }
  return grid;
}

std::string Array::chunk_key(std::span<const uint64_t> coords) const {
  return metadata_.chunk_key_encoding.key(coords);
}

void Array::check_type(DataType requested) const {
  if (requested != metadata_.data_type) {
    throw Error(
        ErrorKind::kInvalidArgument, store_->describe(path_),
        "array holds " + std::string(name_of(metadata_.data_type)) + ", not " + std::string(name_of(requested)));
  }
}

void Array::require_fixed_size() const {
  if (metadata_.data_type == DataType::kString) {
    throw Error(ErrorKind::kInvalidArgument, store_->describe(path_),
                "array holds strings: use read_strings / write_strings");
  }
}

uint64_t Array::element_count_of(const Selection& selection) const { return element_count(selection_shape(selection)); }

namespace {

void check_block_size(uint64_t given, uint64_t expected, const std::string& subject) {
  if (given != expected) {
    throw Error(ErrorKind::kInvalidArgument, subject,
                "buffer holds " + std::to_string(given) + " elements, the selection " + std::to_string(expected));
  }
}

// A buffer of fixed-size elements must hold exactly `cells` of them; a byte
// count that is not a whole number of elements is refused too (read_into
// would otherwise fill past the end of the buffer).
void check_buffer_size(uint64_t bytes, size_t width, uint64_t cells, const std::string& subject) {
  if (bytes % width != 0) {
    throw Error(ErrorKind::kInvalidArgument, subject,
                "buffer of " + std::to_string(bytes) + " bytes is not a whole number of " + std::to_string(width) +
                    "-byte elements");
  }
  check_block_size(bytes / width, cells, subject);
}

}  // namespace

void Array::read_into(const Selection& selection, std::span<std::byte> out) const {
  require_fixed_size();
  const size_t width = item_size(metadata_.data_type);
  SelectionPlan plan(selection, metadata_, store_->describe(path_));
  check_buffer_size(out.size(), width, element_count(plan.block_shape()), store_->describe(path_));
  ArrayChunks(*store_, *this, *codecs_).read(plan, Block{metadata_.data_type, plan.block_shape(), out.data(), nullptr});
}

std::vector<std::string> Array::read_strings(const Selection& selection) const {
  check_type(DataType::kString);
  SelectionPlan plan(selection, metadata_, store_->describe(path_));
  std::vector<std::string> out(element_count(plan.block_shape()));
  ArrayChunks(*store_, *this, *codecs_).read(plan, Block{metadata_.data_type, plan.block_shape(), nullptr, out.data()});
  return out;
}

namespace {

// Writes one block, chunk by chunk, in `session`.
void write_block(ChunkSession& session, const ArrayChunks& chunks, const SelectionPlan& plan, const Block& block,
                 const WriteFilter& filter, const ArrayMetadata& metadata) {
  const bool filtered = !filter.mask.empty() || filter.skip_fill_values;
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
    chunks.change(session, coords, !filtered && covers_chunk(parts, coords, metadata), [&](Chunk& chunk) {
      transfer(parts, chunk, Shape(coords.size(), 0), block, Direction::kBlockToChunk, filter, metadata.fill_value);
    });
  });
}

// The chunks of `plan` in increasing linear order, the order in which
// writers that hold several chunk locks take them.
std::map<uint64_t, Shape> chunks_in_lock_order(const SelectionPlan& plan, const Shape& grid) {
  std::map<uint64_t, Shape> touched;
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>&) {
    touched.emplace(linear_index(coords, grid), coords);
  });
  return touched;
}

}  // namespace

Array::Session::Session(Array& array, uint64_t memory_budget)
    : array_(array), chunks_(std::make_unique<ChunkSession>(memory_budget)) {}

Array::Session::~Session() = default;

void Array::Session::commit() { chunks_->commit(); }

void Array::Session::write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter) {
  array_.require_fixed_size();
  const std::string subject = array_.store_->describe(array_.path_);
  SelectionPlan plan(selection, array_.metadata_, subject);
  const uint64_t cells = element_count(plan.block_shape());
  check_buffer_size(values.size(), item_size(array_.metadata_.data_type), cells, subject);
  if (!filter.mask.empty()) check_block_size(filter.mask.size(), cells, subject + " (mask)");
  // The block is only read from in this direction.
  Block block{array_.metadata_.data_type, plan.block_shape(), const_cast<std::byte*>(values.data()), nullptr};
  write_block(*chunks_, ArrayChunks(*array_.store_, array_, *array_.codecs_), plan, block, filter, array_.metadata_);
}

void Array::Session::write_strings(const Selection& selection, const std::vector<std::string>& values) {
  array_.check_type(DataType::kString);
  const std::string subject = array_.store_->describe(array_.path_);
  SelectionPlan plan(selection, array_.metadata_, subject);
  check_block_size(values.size(), element_count(plan.block_shape()), subject);
  Block block{array_.metadata_.data_type, plan.block_shape(), nullptr, const_cast<std::string*>(values.data())};
  write_block(*chunks_, ArrayChunks(*array_.store_, array_, *array_.codecs_), plan, block, WriteFilter{},
              array_.metadata_);
}

void Array::Session::write_chunk(std::span<const uint64_t> coords, Bytes elements) {
  array_.require_fixed_size();
  const std::string subject = array_.store_->describe(array_.path_);
  const Shape grid = array_.chunk_grid_shape();
  if (coords.size() != grid.size()) {
    throw Error(ErrorKind::kInvalidArgument, subject,
                "chunk coordinates have " + std::to_string(coords.size()) + " dimensions, the array " +
                    std::to_string(grid.size()));
  }
  for (size_t d = 0; d < grid.size(); ++d) {
    if (coords[d] >= grid[d]) {
      throw Error(ErrorKind::kInvalidArgument, subject,
                  "chunk index " + std::to_string(coords[d]) + " is out of the grid's " + std::to_string(grid[d]) +
                      " chunks in dimension " + std::to_string(d));
    }
  }
  check_buffer_size(elements.size(), item_size(array_.metadata_.data_type), element_count(array_.metadata_.chunk_shape),
                    subject);
  const ArrayChunks chunks(*array_.store_, array_, *array_.codecs_);
  chunks.change(*chunks_, Shape(coords.begin(), coords.end()), true, [&](Chunk& chunk) {
    chunk.data = std::move(elements);  // moved once: the change is applied once
  });
}

void Array::Session::update(const Selection& selection, const std::function<void(std::span<std::byte>)>& modify) {
  array_.require_fixed_size();
  const std::string subject = array_.store_->describe(array_.path_);
  SelectionPlan plan(selection, array_.metadata_, subject);
  if (chunks_in_lock_order(plan, array_.chunk_grid_shape()).size() > 1)
    throw Error(ErrorKind::kInvalidArgument, subject, "an update in a session must stay within one chunk");
  const ArrayChunks chunks(*array_.store_, array_, *array_.codecs_);
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
    // A whole chunk (not one cut short by the array's edge) is the chunk's
    // own bytes in the same order: they are changed in place, in a copy
    // only where the chunk holds other changes, which a change that throws
    // must leave as they were. (Copying them out and back through a buffer
    // zeroed first was a sixth of populate with v1; copying them every time,
    // 4% of it with one thread and 8% with two sharing the chunks.)
    if (plan.block_shape() == array_.metadata_.chunk_shape && covers_chunk(parts, coords, array_.metadata_)) {
      chunks.change(
          *chunks_, coords, false, [&](Chunk& chunk) { modify(chunk.data); }, ChunkSession::OnThrow::kMayHaveChanged);
      return;
    }
    Bytes buffer(element_count(plan.block_shape()) * item_size(array_.metadata_.data_type));
    Block block{array_.metadata_.data_type, plan.block_shape(), buffer.data(), nullptr};
    const FillValue& fill = array_.metadata_.fill_value;
    chunks.change(*chunks_, coords, false, [&](Chunk& chunk) {
      const Shape origin(coords.size(), 0);
      transfer(parts, chunk, origin, block, Direction::kChunkToBlock, WriteFilter{}, fill);
      modify(buffer);
      transfer(parts, chunk, origin, block, Direction::kBlockToChunk, WriteFilter{}, fill);
    });
  });
}

void Array::write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter) {
  Session session(*this, 0);
  session.write(selection, values, filter);
  session.commit();
}

void Array::write_chunk(std::span<const uint64_t> coords, Bytes elements) {
  Session session(*this, 0);
  session.write_chunk(coords, std::move(elements));
  session.commit();
}

void Array::write_strings(const Selection& selection, const std::vector<std::string>& values) {
  Session session(*this, 0);
  session.write_strings(selection, values);
  session.commit();
}

void Array::update(const Selection& selection, const std::function<void(std::span<std::byte>)>& modify) {
  require_fixed_size();
  SelectionPlan plan(selection, metadata_, store_->describe(path_));
  const std::map<uint64_t, Shape> touched = chunks_in_lock_order(plan, chunk_grid_shape());
  if (touched.size() == 1) {
    // As a change of one chunk, it is read, changed and stored once with
    // what other threads change in that chunk meanwhile.
    Session session(*this, 0);
    session.update(selection, modify);
    session.commit();
    return;
  }
  // Every chunk is locked first, in the order that every writer holding
  // several locks takes them, so two never wait on each other in a cycle.
  ArrayChunks chunks(*store_, *this, *codecs_);
  std::vector<std::unique_ptr<Lock>> held;
  for (const auto& [linear, coords] : touched) held.push_back(chunks.lock(coords));
  const size_t width = item_size(metadata_.data_type);
  Bytes buffer(element_count(plan.block_shape()) * width);
  Block block{metadata_.data_type, plan.block_shape(), buffer.data(), nullptr};
  chunks.read(plan, block);
  modify(buffer);
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
    chunks.rewrite(coords, covers_chunk(parts, coords, metadata_), [&](Chunk& chunk) {
      transfer(parts, chunk, Shape(coords.size(), 0), block, Direction::kBlockToChunk, WriteFilter{},
               metadata_.fill_value);
    });
  });
}

void Array::Batch::write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter) {
  array_.require_fixed_size();  // before dividing by the element size, which is 0 for strings
  const size_t width = item_size(array_.metadata_.data_type);
  const uint64_t cells = element_count(selection_shape(selection));
  const std::string subject = array_.store_->describe(array_.path_);
  check_buffer_size(values.size(), width, cells, subject);
  if (!filter.mask.empty()) check_block_size(filter.mask.size(), cells, subject + " (mask)");
  staged_.push_back(StagedWrite{selection, Bytes(values.begin(), values.end()),
                                std::vector<uint8_t>(filter.mask.begin(), filter.mask.end()), filter.skip_fill_values});
}

uint64_t Array::Batch::commit() {
  const ArrayMetadata& metadata = array_.metadata_;
  const std::string subject = array_.store_->describe(array_.path_);
  std::vector<SelectionPlan> plans;
  for (const StagedWrite& staged : staged_) plans.emplace_back(staged.selection, metadata, subject);

  // Per touched chunk, in lock order: which staged writes touch it, and how.
  struct Touch {
    size_t write;
    std::vector<const ChunkPart*> parts;
  };
  std::map<uint64_t, std::pair<Shape, std::vector<Touch>>> chunks_touched;
  const Shape grid = array_.chunk_grid_shape();
  for (size_t i = 0; i < plans.size(); ++i) {
    plans[i].for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
      auto& entry = chunks_touched[linear_index(coords, grid)];
      entry.first = coords;
      entry.second.push_back(Touch{i, parts});
    });
  }

  ArrayChunks chunks(*array_.store_, array_, *array_.codecs_);
  ChunkSession session(0);
  for (const auto& [linear, entry] : chunks_touched) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const auto& coords = entry.first;
    const auto& touches = entry.second;
    chunks.change(session, coords, false, [&](Chunk& chunk) {
      for (const Touch& touch : touches) {
        StagedWrite& staged = staged_[touch.write];
        Block block{array_.metadata_.data_type, plans[touch.write].block_shape(), staged.values.data(), nullptr};
        transfer(touch.parts, chunk, Shape(coords.size(), 0), block, Direction::kBlockToChunk,
                 WriteFilter{staged.mask, staged.skip_fill_values}, metadata.fill_value);
      }
    });
  }
  session.commit();
  staged_.clear();
  return chunks_touched.size();
}

std::vector<std::string> Array::verify_chunks() const {
  std::vector<std::string> problems;
  ArrayChunks chunks(*store_, *this, *codecs_);
  for_each_index(chunk_grid_shape(), [&](const Shape& coords) {
    try {
      if (auto value = store_->open(chunks.key(coords))) codecs_->decode(value->read_all(), chunks.where(coords));
    } catch (const Error& error) {
      problems.push_back(error.what());
    }
  });
  return problems;
}

void Array::update_attributes(const std::function<void(nlohmann::json&)>& change) {
  auto held = store_->lock(path_, kMetadataLockSlot);
  Array current = open(store_, path_);
  change(current.metadata_.attributes);
  write_node_document(*store_, path_, current.metadata_.to_json());
  metadata_ = std::move(current.metadata_);
}

}  // namespace lcstore::zarr
