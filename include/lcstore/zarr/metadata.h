// Zarr v3 node metadata (zarr.json), separate from any runtime object: parse,
// validate, serialise. Specification: zarr-specs docs/v3/core.
#pragma once

#include <cstdint>
#include <map>
// Zarr attributes and codec configurations are arbitrary JSON, kept as nlohmann::json.
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lcstore/zarr/data_type.h"

namespace lcstore::zarr {

using Shape = std::vector<uint64_t>;

// Number of cells of an array of this shape (1 for rank 0).
uint64_t element_count(const Shape& shape);
// The cells of `shape` times `item_bytes`, or nullopt when the product
// overflows 64 bits.
std::optional<uint64_t> checked_byte_count(const Shape& shape, uint64_t item_bytes);

// A chunk (or shard) is decoded whole in memory: metadata whose chunks would
// decode to more than this is refused, and no codec expands a stored chunk
// beyond it.
constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 30;
// Deepest nesting of arrays and objects a JSON document may have: copying,
// comparing and printing a document recurse once per level.
constexpr int kMaxJsonDepth = 256;

// How chunk grid coordinates become store keys.
struct ChunkKeyEncoding {
  enum class Kind { kDefault, kV2 };
  Kind kind = Kind::kDefault;
  char separator = '/';

  // Key of the chunk at `coords`, relative to the array: "c/1/0/3" (default),
  // "1.0.3" (v2), "c" or "0" for a zero-dimensional array.
  std::string key(std::span<const uint64_t> coords) const;
};

struct ArrayMetadata {
  Shape shape;
  DataType data_type = DataType::kFloat32;
  Shape chunk_shape;  // of the regular chunk grid
  ChunkKeyEncoding chunk_key_encoding;
  FillValue fill_value;
  nlohmann::json codecs = nlohmann::json::array();  // the codec chain as written in zarr.json
  nlohmann::json attributes = nlohmann::json::object();
  std::optional<std::vector<std::optional<std::string>>> dimension_names;
  // Extension fields marked "must_understand": false, kept as they were.
  nlohmann::json extra_fields = nlohmann::json::object();

  // Validates everything the core specification requires (and that the codecs
  // are known and fit the data type); throws Error naming `subject` otherwise.
  static ArrayMetadata from_json(const nlohmann::json& document, const std::string& subject);
  nlohmann::json to_json() const;
};

struct GroupMetadata {
  nlohmann::json attributes = nlohmann::json::object();
  // zarr-python's inline consolidated metadata: absent, written as null, or
  // the zarr.json document of every node below, keyed by relative path.
  enum class Consolidated { kAbsent, kNull, kInline };
  Consolidated consolidated = Consolidated::kAbsent;
  std::map<std::string, nlohmann::json> consolidated_nodes;
  nlohmann::json extra_fields = nlohmann::json::object();

  static GroupMetadata from_json(const nlohmann::json& document, const std::string& subject);
  nlohmann::json to_json() const;
};

// Parses zarr.json bytes; throws Error(kInvalidMetadata) naming `subject`,
// also for a document nested deeper than kMaxJsonDepth.
nlohmann::json parse_json_document(std::string_view text, const std::string& subject);

}  // namespace lcstore::zarr
