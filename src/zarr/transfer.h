// Moving the selected cells between a chunk and the caller's memory, the
// last step of every read and the middle of every write.
#pragma once

#include <vector>

#include "lcstore/zarr/array.h"
#include "zarr/chunk.h"
#include "zarr/selection_plan.h"

namespace lcstore::zarr {

// The caller's side of a transfer: the selection's cells, in C order.
using Block = ChunkView;

enum class Direction { kChunkToBlock, kBlockToChunk };

// Moves the cells named by `parts` between `chunk` (whose first element is at
// chunk-local index `origin`) and `block`. A filter, for block-to-chunk moves,
// skips cells.
void transfer(const std::vector<const ChunkPart*>& parts, Chunk& chunk, const Shape& origin, const Block& block,
              Direction direction, const WriteFilter& filter, const FillValue& fill);

}  // namespace lcstore::zarr
