#include "zarr/selection_plan.h"

#include <map>

#include "lcstore/error.h"
#include "zarr/chunk.h"

namespace lcstore::zarr {

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

bool covers_chunk(const std::vector<const ChunkPart*>& parts, const Shape& coords, const ArrayMetadata& metadata) {
  for (size_t d = 0; d < parts.size(); ++d) {
    uint64_t begin = coords[d] * metadata.chunk_shape[d];
    uint64_t valid = std::min(metadata.chunk_shape[d], metadata.shape[d] - begin);
    if (!parts[d]->consecutive || parts[d]->local.front() != 0 || parts[d]->local.size() != valid) return false;
  }
  return true;
}

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

}  // namespace lcstore::zarr
