#include "zarr/chunk.h"

#include <algorithm>
#include <cstring>

namespace lcstore::zarr {

uint64_t element_count(const Shape& shape) {
  uint64_t count = 1;
  for (uint64_t extent : shape) count *= extent;
  return count;
}

Chunk Chunk::sized(DataType data_type, Shape shape) {
  Chunk chunk;
  chunk.data_type = data_type;
  chunk.shape = std::move(shape);
  if (data_type == DataType::kString) chunk.strings.resize(chunk.size());
  else chunk.data.resize(chunk.size() * item_size(data_type));
  return chunk;
}

Chunk Chunk::filled(const ChunkSpec& spec) {
  Chunk chunk = sized(spec.data_type, spec.shape);
  if (spec.data_type == DataType::kString) {
    std::fill(chunk.strings.begin(), chunk.strings.end(), spec.fill_value.text());
    return chunk;
  }
  const size_t width = item_size(spec.data_type);
  const std::byte* fill = spec.fill_value.bytes();
  bool zero = std::all_of(fill, fill + width, [](std::byte b) { return b == std::byte{0}; });
  if (!zero && !chunk.data.empty()) {
    // Doubling copies: a handful of large memcpy calls instead of one per element.
    std::memcpy(chunk.data.data(), fill, width);
    for (size_t done = width; done < chunk.data.size(); done *= 2) {
      std::memcpy(chunk.data.data() + done, chunk.data.data(), std::min(done, chunk.data.size() - done));
    }
  }
  return chunk;
}

bool Chunk::all_equal(const FillValue& fill) const {
  if (data_type == DataType::kString) {
    return std::all_of(strings.begin(), strings.end(), [&](const std::string& s) { return s == fill.text(); });
  }
  // Bitwise comparison: a NaN fill value matches NaN cells with the same bits,
  // which is how zarr-python decides that a chunk is empty. The first element
  // equals the fill value and every element equals the one before it.
  const size_t width = item_size(data_type);
  if (data.empty()) return true;
  return std::memcmp(data.data(), fill.bytes(), width) == 0 &&
         std::memcmp(data.data(), data.data() + width, data.size() - width) == 0;
}

void copy_box(const Chunk& source, const Box& box, Chunk& target, const Shape& target_start) {
  const size_t rank = box.shape.size();
  if (element_count(box.shape) == 0) return;
  // Element strides of both arrays in C order.
  std::vector<uint64_t> source_stride(rank, 1), target_stride(rank, 1);
  for (size_t d = rank; d-- > 1;) {
    source_stride[d - 1] = source_stride[d] * source.shape[d];
    target_stride[d - 1] = target_stride[d] * target.shape[d];
  }
  const uint64_t run = rank == 0 ? 1 : box.shape[rank - 1];
  const size_t width = item_size(source.data_type);
  std::vector<uint64_t> index(rank, 0);  // position within the box, last dimension stays 0
  while (true) {
    uint64_t from = 0, to = 0;
    for (size_t d = 0; d < rank; ++d) {
      from += (box.start[d] + index[d]) * source_stride[d];
      to += (target_start[d] + index[d]) * target_stride[d];
    }
    if (source.data_type == DataType::kString) {
      std::copy_n(source.strings.begin() + static_cast<std::ptrdiff_t>(from), run,
                  target.strings.begin() + static_cast<std::ptrdiff_t>(to));
    } else {
      std::memcpy(&target.data[to * width], &source.data[from * width], run * width);
    }
    // Advance the odometer over every dimension but the last.
    size_t d = rank > 0 ? rank - 1 : 0;
    while (d > 0) {
      --d;
      if (++index[d] < box.shape[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (rank <= 1) return;
  }
}

Chunk extract_box(const Chunk& chunk, const Box& region) {
  Chunk part = Chunk::sized(chunk.data_type, region.shape);
  copy_box(chunk, region, part, Shape(region.shape.size(), 0));
  return part;
}

}  // namespace lcstore::zarr
