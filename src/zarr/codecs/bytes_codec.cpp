// The "bytes" codec (zarr-specs v3 codecs/bytes): fixed-size elements laid
// out in C order with a declared byte order.
#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

// Chunk::data holds little-endian elements; only "big" needs a swap.
static_assert(std::endian::native == std::endian::little, "Chunk byte order assumes a little-endian host");

void reverse_each_element(Bytes& bytes, size_t width) {
  for (auto it = bytes.begin(); it != bytes.end(); it += static_cast<std::ptrdiff_t>(width)) {
    std::reverse(it, it + static_cast<std::ptrdiff_t>(width));
  }
}

class BytesCodec final : public ArrayToBytesCodec {
 public:
  BytesCodec(std::optional<std::string> endian, size_t width)
      : endian_(std::move(endian)), width_(width), swap_(width > 1 && endian_ == "big") {}

  Bytes encode(Chunk chunk, const ChunkSpec&) const override {
    Bytes bytes = std::move(chunk.data);
    if (swap_) reverse_each_element(bytes, width_);
    return bytes;
  }

  Chunk decode(ByteView encoded, const ChunkSpec& spec, const std::string& where) const override {
    const uint64_t expected = encoded_size(spec);
    if (encoded.size() != expected) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("bytes: expected {} bytes for {} elements of {}, got {}", expected,
                              element_count(spec.shape), name_of(spec.data_type), encoded.size()));
    }
    Chunk chunk;
    chunk.data_type = spec.data_type;
    chunk.shape = spec.shape;
    chunk.data.assign(encoded.begin(), encoded.end());
    if (swap_) reverse_each_element(chunk.data, width_);
    // Any non-zero byte is true (as numpy reads it); normalising keeps later
    // bool arithmetic well defined.
    if (spec.data_type == DataType::kBool) {
      for (std::byte& b : chunk.data) b = b == std::byte{0} ? std::byte{0} : std::byte{1};
    }
    return chunk;
  }

  // Rows [a, b) along the first axis of a C-order chunk are one contiguous
  // byte range, so reading that slab is enough for any region within it;
  // when the region is the whole slab and the bytes are its elements as they
  // are, they are read straight into `out`.
  void decode_region_into(const ValueReader& value, const ChunkSpec& spec, const Box& region, const ChunkView& out,
                          const std::string& where) const override {
    if (element_count(region.shape) == 0) return;
    const Shape origin(region.shape.size(), 0);
    if (spec.shape.empty()) return copy_box(decode_read(value.read_all(), spec, where), region, out, origin);
    const uint64_t total = encoded_size(spec);
    if (value.size() != total) {
      throw Error(ErrorKind::kCorruptData, where, fmt::format("bytes: expected {} bytes, got {}", total, value.size()));
    }
    const uint64_t row_bytes = total / spec.shape[0];
    ChunkSpec slab_spec = spec;
    slab_spec.shape[0] = region.shape[0];
    Box within = region;
    within.start[0] = 0;
    if (within.shape == slab_spec.shape && stores_as_is(spec)) {
      value.read_into(region.start[0] * row_bytes, std::span(out.bytes, region.shape[0] * row_bytes));
      return;
    }
    const Chunk slab =
        decode_read(value.read(region.start[0] * row_bytes, region.shape[0] * row_bytes), slab_spec, where);
    copy_box(slab, within, out, origin);
  }

  std::optional<uint64_t> fixed_encoded_size(const ChunkSpec& spec) const override { return encoded_size(spec); }
  // Bools are not: decoding makes any non-zero byte 1.
  bool stores_as_is(const ChunkSpec& spec) const override { return !swap_ && spec.data_type != DataType::kBool; }

  nlohmann::json to_json() const override {
    if (!endian_) return {{"name", "bytes"}};
    return {{"name", "bytes"}, {"configuration", {{"endian", *endian_}}}};
  }

 private:
  // As decode, from bytes just read: kept as the chunk's own when they are
  // its elements as they are, not copied.
  Chunk decode_read(Bytes encoded, const ChunkSpec& spec, const std::string& where) const {
    if (!stores_as_is(spec) || encoded.size() != encoded_size(spec)) return decode(encoded, spec, where);
    Chunk chunk;
    chunk.data_type = spec.data_type;
    chunk.shape = spec.shape;
    chunk.data = std::move(encoded);
    return chunk;
  }

  uint64_t encoded_size(const ChunkSpec& spec) const { return element_count(spec.shape) * width_; }

  std::optional<std::string> endian_;  // absent only for one-byte types
  size_t width_;
  bool swap_;
};

}  // namespace

std::shared_ptr<const ArrayToBytesCodec> codecs::make_bytes(const nlohmann::json& configuration, const ChunkSpec& spec,
                                                            const std::string& subject) {
  Configuration config(configuration, "bytes", subject, {"endian"});
  const size_t width = item_size(spec.data_type);
  if (width == 0) {
    throw config.error(fmt::format("data type {} has no fixed size (use \"vlen-utf8\")", name_of(spec.data_type)));
  }
  std::optional<std::string> endian;
  if (config.has("endian") || width > 1) endian = config.choice("endian", {"little", "big"});
  return std::make_shared<BytesCodec>(std::move(endian), width);
}

}  // namespace lcstore::zarr
