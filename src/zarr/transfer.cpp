#include "zarr/transfer.h"

#include <bit>
#include <cstring>

namespace lcstore::zarr {

namespace {

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

// The first flag in [from, end) that is not 0, eight flags tested at a time:
// a staged slab's mask is runs of an object's cells.
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

// One transfer's cells, once the trailing dimensions of one selected cell
// are folded away: runs of cells `chunk_step` and `block_step` apart.
class CellMover {
 public:
  CellMover(Chunk& chunk, const Block& block, Direction direction, const WriteFilter& filter, const FillValue& fill,
            uint64_t chunk_step, uint64_t block_step)
      : chunk_(chunk),
        block_(block),
        direction_(direction),
        filter_(filter),
        fill_(fill),
        width_(item_size(chunk.data_type)),
        chunk_step_(chunk_step),
        block_step_(block_step) {}

  // Moves the wanted ones of `count` cells from in_chunk / in_block on.
  void move_row(uint64_t in_chunk, uint64_t in_block, uint64_t count) const {
    if (filter_.mask.empty() && !filter_.skip_fill_values) return move(in_chunk, in_block, count);
    // Runs of wanted cells move with one copy each: a staged slab's mask is
    // mostly long runs, and a mask over adjacent cells is scanned for the
    // ends of its runs directly.
    if (!filter_.skip_fill_values && block_step_ == 1) {
      const uint8_t* cells_wanted = filter_.mask.data() + in_block;
      const uint8_t* const end = cells_wanted + count;
      for (const uint8_t* k = cells_wanted; k < end;) {
        const uint8_t* run = first_set(k, end);
        k = first_unset(run, end);
        const auto first = static_cast<uint64_t>(run - cells_wanted);
        if (k > run) move(in_chunk + first * chunk_step_, in_block + first, static_cast<uint64_t>(k - run));
      }
      return;
    }
    for (uint64_t k = 0; k < count;) {
      while (k < count && !wanted(in_block + k * block_step_)) ++k;
      const uint64_t run = k;
      while (k < count && wanted(in_block + k * block_step_)) ++k;
      if (k > run) move(in_chunk + run * chunk_step_, in_block + run * block_step_, k - run);
    }
  }

 private:
  bool wanted(uint64_t in_block) const {
    if (!filter_.mask.empty() && filter_.mask[in_block] == 0) return false;
    if (filter_.skip_fill_values) {
      if (chunk_.data_type == DataType::kString) return block_.strings[in_block] != fill_.text();
      return std::memcmp(block_.bytes + in_block * width_, fill_.bytes(), width_) != 0;
    }
    return true;
  }

  // Moves `count` cells from in_chunk / in_block on, whatever the filter.
  void move(uint64_t in_chunk, uint64_t in_block, uint64_t count) const {
    if (chunk_.data_type == DataType::kString) {
      for (uint64_t k = 0; k < count; ++k) {
        std::string& in_chunk_k = chunk_.strings[in_chunk + k * chunk_step_];
        std::string& in_block_k = block_.strings[in_block + k * block_step_];
        if (direction_ == Direction::kChunkToBlock)
          in_block_k = in_chunk_k;
        else
          in_chunk_k = in_block_k;
      }
      return;
    }
    std::byte* chunk_cells = chunk_.data.data() + in_chunk * width_;
    std::byte* block_cells = block_.bytes + in_block * width_;
    if (chunk_step_ == 1 && block_step_ == 1) {
      if (direction_ == Direction::kChunkToBlock)
        std::memcpy(block_cells, chunk_cells, count * width_);
      else
        std::memcpy(chunk_cells, block_cells, count * width_);
    } else if (direction_ == Direction::kChunkToBlock) {
      copy_strided(block_cells, block_step_, chunk_cells, chunk_step_, count, width_);
    } else {
      copy_strided(chunk_cells, chunk_step_, block_cells, block_step_, count, width_);
    }
  }

  Chunk& chunk_;
  const Block& block_;
  const Direction direction_;
  const WriteFilter& filter_;
  const FillValue& fill_;
  const size_t width_;
  const uint64_t chunk_step_, block_step_;
};

// How many leading dimensions remain once those the selection takes whole,
// in the chunk and in the block alike, fold into one run of `row` cells, so
// that whole slabs move with one copy.
size_t fold_whole_dimensions(const std::vector<const ChunkPart*>& parts, size_t dimensions, const Shape& origin,
                             const Shape& chunk_shape, const Shape& block_shape, uint64_t& row) {
  size_t folded = dimensions;
  row = 1;
  while (folded > 0) {
    const size_t d = folded - 1;
    const ChunkPart& part = *parts[d];
    const uint64_t n = part.local.size();
    if (!part.consecutive || part.local[0] != origin[d] || n != chunk_shape[d] || part.position[0] != 0 ||
        n != block_shape[d]) {
      break;
    }
    row *= n;
    folded = d;
  }
  return folded;
}

}  // namespace

void transfer(const std::vector<const ChunkPart*>& parts, Chunk& chunk, const Shape& origin, const Block& block,
              Direction direction, const WriteFilter& filter, const FillValue& fill) {
  // A chunk opened to be overwritten whole has no elements yet.
  if (chunk.data.empty() && chunk.strings.empty()) chunk = Chunk::sized(chunk.data_type, chunk.shape);
  const std::vector<uint64_t> chunk_strides = strides_of(chunk.shape);
  const std::vector<uint64_t> block_strides = strides_of(block.shape);

  // Trailing dimensions with one selected cell are a fixed offset, and the
  // cells of the dimensions before them lie a fixed step apart in the chunk
  // and in the block: an epoch chunk read into a block of many epochs puts
  // one cell every n_epochs.
  size_t inner = parts.size();
  uint64_t chunk_offset = 0, block_offset = 0;
  while (inner > 0 && parts[inner - 1]->local.size() == 1) {
    const size_t d = --inner;
    chunk_offset += (parts[d]->local[0] - origin[d]) * chunk_strides[d];
    block_offset += parts[d]->position[0] * block_strides[d];
  }
  const CellMover mover(chunk, block, direction, filter, fill, inner == 0 ? 1 : chunk_strides[inner - 1],
                        inner == 0 ? 1 : block_strides[inner - 1]);
  uint64_t row = 1;
  const size_t folded = fold_whole_dimensions(parts, inner, origin, chunk.shape, block.shape, row);
  if (folded == 0) return mover.move_row(chunk_offset, block_offset, row);

  // Every combination of the dimensions before the last one left, then the
  // last one's cells as runs.
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
      mover.move_row(chunk_base + (last.local[0] - origin[pivot]) * chunk_strides[pivot],
                     block_base + last.position[0] * block_strides[pivot], last.local.size() * row);
    } else {
      for (size_t k = 0; k < last.local.size(); ++k) {
        mover.move_row(chunk_base + (last.local[k] - origin[pivot]) * chunk_strides[pivot],
                       block_base + last.position[k] * block_strides[pivot], row);
      }
    }
    size_t d = pivot;
    while (d > 0 && ++index[d - 1] == parts[d - 1]->local.size()) index[--d] = 0;
    if (d == 0) return;
  }
}

}  // namespace lcstore::zarr
