// The codec model of Zarr v3: a chain of array->array codecs, exactly one
// array->bytes codec, then bytes->bytes codecs. Each codec is built from its
// zarr.json entry by the registry in codec_chain.cpp and can write itself back.
//
// Errors: decode functions receive `where` (the store location of the chunk)
// and throw lcstore::Error(kCorruptData, where, ...) when bytes do not decode.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "zarr/chunk.h"

namespace lcstore::zarr {

class ArrayToArrayCodec {
 public:
  virtual ~ArrayToArrayCodec() = default;
  // The spec of the encoded array given the decoded one.
  virtual ChunkSpec encoded_spec(const ChunkSpec& decoded) const = 0;
  virtual Chunk encode(const Chunk& decoded) const = 0;
  virtual Chunk decode(const Chunk& encoded, const ChunkSpec& decoded) const = 0;
  virtual nlohmann::json to_json() const = 0;
};

class ArrayToBytesCodec {
 public:
  virtual ~ArrayToBytesCodec() = default;
  // Takes the chunk by value: a codec that keeps the bytes as they are moves them.
  virtual Bytes encode(Chunk chunk, const ChunkSpec& spec) const = 0;
  virtual Chunk decode(ByteView encoded, const ChunkSpec& spec, const std::string& where) const = 0;
  // Decodes only `region` of the chunk stored in `value` into `out` (of the
  // region's shape), reading as few bytes as the format allows, and writes
  // every element of `out`. Called only when this codec is the last of the
  // chain (nothing compresses its output as a whole). The default reads all.
  virtual void decode_region_into(const ValueReader& value, const ChunkSpec& spec, const Box& region,
                                  const ChunkView& out, const std::string& where) const;
  // Encoded size when it depends only on the spec (bytes codec), for indexes.
  virtual std::optional<uint64_t> fixed_encoded_size(const ChunkSpec&) const { return std::nullopt; }
  // True when the encoded bytes are the elements exactly as Chunk::data
  // holds them, so that decoding is a copy.
  virtual bool stores_as_is(const ChunkSpec&) const { return false; }
  virtual nlohmann::json to_json() const = 0;
};

class BytesToBytesCodec {
 public:
  virtual ~BytesToBytesCodec() = default;
  virtual Bytes encode(ByteView decoded) const = 0;
  // Throws Error(kCorruptData, where) rather than produce more than
  // `max_size` bytes, before allocating them (a decompression bomb).
  virtual Bytes decode(ByteView encoded, uint64_t max_size, const std::string& where) const = 0;
  // Encoded size for a given input size when it is fixed (crc32c: +4).
  virtual std::optional<uint64_t> fixed_encoded_size(uint64_t) const { return std::nullopt; }
  virtual nlohmann::json to_json() const = 0;
};

// The whole chain of one array (or of a shard's inner chunks / index).
class CodecChain {
 public:
  // Builds the chain from the "codecs" list of zarr.json for chunks of
  // `spec`; throws Error(kUnsupported / kInvalidMetadata) naming `subject`
  // for an unknown codec, a bad configuration or a codec that does not fit
  // the data type.
  static CodecChain parse(const nlohmann::json& codecs, const ChunkSpec& spec, const std::string& subject);

  // By value, as ArrayToBytesCodec::encode: a caller done with the chunk moves it.
  Bytes encode(Chunk chunk) const;
  Chunk decode(ByteView encoded, const std::string& where) const;
  // Decodes a whole chunk into `target` (which holds it) at `target_start`.
  void decode_into(ByteView encoded, const ChunkView& target, const Shape& target_start,
                   const std::string& where) const;
  // Decodes `region` of a stored chunk, partially when the chain allows.
  Chunk decode_region(const ValueReader& value, const Box& region, const std::string& where) const;
  // As decode_region, into `out` (of the region's shape): every element of
  // `out` is written, with the fill value where nothing is stored.
  void decode_region_into(const ValueReader& value, const Box& region, const ChunkView& out,
                          const std::string& where) const;
  // True when a chunk's encoded bytes are its elements exactly as Chunk::data
  // holds them (a lone "bytes" codec in native order).
  bool stores_as_is() const;
  std::optional<uint64_t> fixed_encoded_size() const;
  nlohmann::json to_json() const;
  const ChunkSpec& spec() const { return spec_; }

 private:
  ChunkSpec spec_;
  // specs_[i] is the spec of the input of array_to_array_[i]; the last entry
  // is the input of the array->bytes codec.
  std::vector<ChunkSpec> specs_;
  std::vector<std::shared_ptr<const ArrayToArrayCodec>> array_to_array_;
  std::shared_ptr<const ArrayToBytesCodec> array_to_bytes_;
  std::vector<std::shared_ptr<const BytesToBytesCodec>> bytes_to_bytes_;
  // decoded_limits_[i]: the most bytes bytes_to_bytes_[i] may decode to,
  // exact where every codec before it has a fixed size, else kMaxChunkBytes.
  std::vector<uint64_t> decoded_limits_;
};

// Constructors the registry calls, one per codec; `configuration` is the
// entry's "configuration" object (empty object when absent).
namespace codecs {
std::shared_ptr<const ArrayToArrayCodec> make_transpose(const nlohmann::json& configuration, const ChunkSpec& decoded,
                                                        const std::string& subject);
std::shared_ptr<const ArrayToBytesCodec> make_bytes(const nlohmann::json& configuration, const ChunkSpec& spec,
                                                    const std::string& subject);
std::shared_ptr<const ArrayToBytesCodec> make_vlen_utf8(const nlohmann::json& configuration, const ChunkSpec& spec,
                                                        const std::string& subject);
std::shared_ptr<const ArrayToBytesCodec> make_sharding(const nlohmann::json& configuration, const ChunkSpec& spec,
                                                       const std::string& subject);
std::shared_ptr<const BytesToBytesCodec> make_gzip(const nlohmann::json& configuration, const std::string& subject);
std::shared_ptr<const BytesToBytesCodec> make_zstd(const nlohmann::json& configuration, const std::string& subject);
std::shared_ptr<const BytesToBytesCodec> make_blosc(const nlohmann::json& configuration, const ChunkSpec& spec,
                                                    const std::string& subject);
std::shared_ptr<const BytesToBytesCodec> make_crc32c(const nlohmann::json& configuration, const std::string& subject);
}  // namespace codecs

}  // namespace lcstore::zarr
