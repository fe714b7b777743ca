// The chunks a selection of an array touches, and which of their cells it
// selects: the first step of every read and write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/zarr/metadata.h"
#include "lcstore/zarr/selection.h"

namespace lcstore::zarr {

// The selected indices of one dimension that fall into one chunk.
struct ChunkPart {
  uint64_t chunk = 0;              // chunk index along the dimension
  std::vector<uint64_t> local;     // index within the chunk
  std::vector<uint64_t> position;  // index within the selection block
  bool consecutive = true;         // local and position both step by one
};

// The parts of one dimension's selection, chunk by chunk; throws
// Error(kInvalidArgument) naming `subject` for an index beyond `extent`.
std::vector<ChunkPart> split_dimension(const DimSelection& selection, uint64_t extent, uint64_t chunk_extent,
                                       size_t dimension, const std::string& subject);

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

// True when the parts name every valid cell of the chunk at `coords`, so a
// write needs not read the chunk first.
bool covers_chunk(const std::vector<const ChunkPart*>& parts, const Shape& coords, const ArrayMetadata& metadata);

// Where the cells that `parts` select of a chunk start in `block`, when they
// are one contiguous range of it: one box of the chunk that spans the
// block's later dimensions whole (a run of objects' light curves).
std::optional<uint64_t> contiguous_in_block(const std::vector<const ChunkPart*>& parts, const Shape& block_shape);

// The chunk's index in C order of the chunk grid: the order in which writers
// lock chunks.
uint64_t linear_index(const Shape& coords, const Shape& grid);

}  // namespace lcstore::zarr
