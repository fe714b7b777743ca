// A decoded chunk: the in-memory array that codecs encode and decode and that
// array reads and writes copy from and into.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lcstore/storage/store.h"
#include "lcstore/zarr/metadata.h"

namespace lcstore::zarr {

// What a codec needs to know about the array it decodes into.
struct ChunkSpec {
  DataType data_type;
  Shape shape;
  FillValue fill_value;
};

// Elements laid out as a Chunk's, in memory that belongs to someone else (a
// part of a caller's read buffer), so that codecs can decode straight into it.
struct ChunkView {
  DataType data_type = DataType::kFloat32;
  Shape shape;
  std::byte* bytes = nullptr;      // fixed-size data types
  std::string* strings = nullptr;  // the string data type
};

// A C-order array of one data type. Fixed-size elements live in `data`, in
// native (little-endian) byte order; strings live in `strings`.
struct Chunk {
  DataType data_type = DataType::kFloat32;
  Shape shape;
  Bytes data;
  std::vector<std::string> strings;

  // A chunk of `spec.shape` with every element equal to the fill value.
  static Chunk filled(const ChunkSpec& spec);
  // An uninitialised chunk (zeroed bytes, empty strings) to be overwritten.
  static Chunk sized(DataType data_type, Shape shape);

  uint64_t size() const { return element_count(shape); }
  bool all_equal(const FillValue& fill) const;
  ChunkView view() { return {data_type, shape, data.data(), strings.data()}; }
};

// An axis-aligned box inside a chunk: per dimension [start, start + shape).
struct Box {
  Shape start;
  Shape shape;
};

// Elements between consecutive indices of each dimension of a C-order array.
std::vector<uint64_t> strides_of(const Shape& shape);

// Sets every `width`-byte element of `elements` to `value`.
void fill_elements(std::span<std::byte> elements, const std::byte* value, size_t width);
// Sets every element of `target` to `fill`.
void fill_view(const ChunkView& target, const FillValue& fill);

// Copies `box` of `source` into `target` at `target_start` (same data type,
// same rank; box inside both).
void copy_box(const Chunk& source, const Box& box, const ChunkView& target, const Shape& target_start);
// As copy_box, from the elements of a fixed-size data type laid out in memory
// as Chunk::data holds them, in an array of `source_shape`.
void copy_box(const std::byte* source, const Shape& source_shape, const Box& box, const ChunkView& target,
              const Shape& target_start);
// The part of `chunk` inside `region`, as a chunk of its own.
Chunk extract_box(const Chunk& chunk, const Box& region);

}  // namespace lcstore::zarr
