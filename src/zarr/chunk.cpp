#include "zarr/chunk.h"

#include <algorithm>
#include <cstring>

namespace lcstore::zarr {

uint64_t element_count(const Shape& shape) {
  uint64_t count = 1;
  for (uint64_t extent : shape) count *= extent;
  return count;
}

std::optional<uint64_t> checked_byte_count(const Shape& shape, uint64_t item_bytes) {
  uint64_t count = item_bytes;
  for (uint64_t extent : shape) {
    if (__builtin_mul_overflow(count, extent, &count)) return std::nullopt;
  }
  return count;
}

std::vector<uint64_t> strides_of(const Shape& shape) {
  std::vector<uint64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

Chunk Chunk::sized(DataType data_type, Shape shape) {
  Chunk chunk;
  chunk.data_type = data_type;
  chunk.shape = std::move(shape);
  if (data_type == DataType::kString)
    chunk.strings.resize(chunk.size());
  else
    chunk.data.resize(chunk.size() * item_size(data_type));
  return chunk;
}

Chunk Chunk::filled(const ChunkSpec& spec) {
  Chunk chunk = sized(spec.data_type, spec.shape);
  const std::byte* fill = spec.fill_value.bytes();
  const bool zero = spec.data_type != DataType::kString &&
                    std::all_of(fill, fill + item_size(spec.data_type), [](std::byte b) { return b == std::byte{0}; });
  if (!zero) fill_view(chunk.view(), spec.fill_value);
  return chunk;
}

void fill_view(const ChunkView& target, const FillValue& fill) {
  const uint64_t count = element_count(target.shape);
  if (target.data_type == DataType::kString) {
    std::fill_n(target.strings, count, fill.text());
    return;
  }
  const size_t width = item_size(target.data_type);
  fill_elements(std::span(target.bytes, count * width), fill.bytes(), width);
}

void fill_elements(std::span<std::byte> elements, const std::byte* value, size_t width) {
  if (elements.empty()) return;
  // Doubling copies: a handful of large memcpy calls instead of one per element.
  std::memcpy(elements.data(), value, width);
  for (size_t done = width; done < elements.size(); done *= 2) {
    std::memcpy(elements.data() + done, elements.data(), std::min(done, elements.size() - done));
  }
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

namespace {

// Calls copy(from, to, count) for each run of `count` elements, contiguous in
// both arrays, that moves `box` of an array of `source_shape` to
// `target_start` of an array of `target_shape` (element offsets, C order).
template <typename Copy>
void for_each_box_run(const Shape& source_shape, const Box& box, const Shape& target_shape, const Shape& target_start,
                      Copy&& copy) {
  const size_t rank = box.shape.size();
  if (element_count(box.shape) == 0) return;
  const std::vector<uint64_t> source_stride = strides_of(source_shape);
  const std::vector<uint64_t> target_stride = strides_of(target_shape);
  // Trailing dimensions the box spans whole in both arrays join the run
  // (an object's light curve is one run, not one per measurement).
  size_t outer = rank == 0 ? 0 : rank - 1;  // dimensions walked one index at a time
  uint64_t run = rank == 0 ? 1 : box.shape[rank - 1];
  while (outer > 0 && box.shape[outer] == source_shape[outer] && box.shape[outer] == target_shape[outer]) {
    --outer;
    run *= box.shape[outer];
  }
  std::vector<uint64_t> index(outer, 0);  // position within the box
  while (true) {
    uint64_t from = 0, to = 0;
    for (size_t d = 0; d < rank; ++d) {
      const uint64_t at = d < outer ? index[d] : 0;
      from += (box.start[d] + at) * source_stride[d];
      to += (target_start[d] + at) * target_stride[d];
    }
    copy(from, to, run);
    // Advance the odometer over the walked dimensions.
    size_t d = outer;
    while (d > 0 && ++index[d - 1] == box.shape[d - 1]) index[--d] = 0;
    if (d == 0) return;
  }
}

}  // namespace

void copy_box(const Chunk& source, const Box& box, const ChunkView& target, const Shape& target_start) {
  if (source.data_type != DataType::kString)
    return copy_box(source.data.data(), source.shape, box, target, target_start);
  for_each_box_run(source.shape, box, target.shape, target_start, [&](uint64_t from, uint64_t to, uint64_t run) {
    std::copy_n(source.strings.begin() + static_cast<std::ptrdiff_t>(from), run, target.strings + to);
  });
}

void copy_box(const std::byte* source, const Shape& source_shape, const Box& box, const ChunkView& target,
              const Shape& target_start) {
  const size_t width = item_size(target.data_type);
  for_each_box_run(source_shape, box, target.shape, target_start, [&](uint64_t from, uint64_t to, uint64_t run) {
    std::memcpy(target.bytes + to * width, source + from * width, run * width);
  });
}

Chunk extract_box(const Chunk& chunk, const Box& region) {
  Chunk part = Chunk::sized(chunk.data_type, region.shape);
  copy_box(chunk, region, part.view(), Shape(region.shape.size(), 0));
  return part;
}

}  // namespace lcstore::zarr
