// Codec chains from short specs ("zstd:3", "blosc:lz4:5:shuffle"), one per codec:
//   none | zstd[:LEVEL] | gzip[:LEVEL] | crc32c
//   | blosc:CNAME[:LEVEL][:shuffle|bitshuffle|noshuffle]
#pragma once

// Codec chains are zarr.json fragments: arbitrary JSON configurations.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lcstore/zarr/data_type.h"
#include "lcstore/zarr/metadata.h"

namespace lcstore::zarr {

// The zarr.json "codecs" of an array of `type`: the array-to-bytes codec
// (bytes, little-endian, or vlen-utf8) followed by `specs`. With
// `inner_chunks`, that chain becomes the inner chain of a sharding_indexed
// codec whose index is protected by crc32c. Throws Error(kInvalidArgument)
// naming the bad spec.
nlohmann::json codec_chain_from_specs(DataType type, const std::vector<std::string>& specs,
                                      const std::optional<Shape>& inner_chunks = std::nullopt);

// A sharding_indexed codec (index at the end, bytes + crc32c) storing inner
// chunks of `inner_chunks` encoded with `inner_chain`.
nlohmann::json sharding_codec(const nlohmann::json& inner_chain, const Shape& inner_chunks);

}  // namespace lcstore::zarr
