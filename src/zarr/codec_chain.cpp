#include "lcstore/error.h"
#include "zarr/codec.h"

namespace lcstore::zarr {

using nlohmann::json;

void ArrayToBytesCodec::decode_region_into(const ValueReader& value, const ChunkSpec& spec, const Box& region,
                                           const ChunkView& out, const std::string& where) const {
  copy_box(decode(value.read_all(), spec, where), region, out, Shape(region.shape.size(), 0));
}

CodecChain CodecChain::parse(const json& codecs, const ChunkSpec& spec, const std::string& subject) {
  if (!codecs.is_array()) throw Error(ErrorKind::kInvalidMetadata, subject, "codecs must be a list");
  CodecChain chain;
  chain.spec_ = spec;
  ChunkSpec current = spec;
  for (const json& entry : codecs) {
    // The spec allows a bare name for a codec without configuration.
    std::string name;
    json configuration = json::object();
    if (entry.is_string()) {
      name = entry.get<std::string>();
    } else if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
      name = entry["name"].get<std::string>();
      if (entry.contains("configuration")) configuration = entry["configuration"];
      if (!configuration.is_object()) {
        throw Error(ErrorKind::kInvalidMetadata, subject, "configuration of codec \"" + name + "\" must be an object");
      }
    } else {
      throw Error(ErrorKind::kInvalidMetadata, subject, "codec entry " + entry.dump() + " has no name");
    }

    const bool after_array_to_bytes = chain.array_to_bytes_ != nullptr;
    auto misplaced = [&](const char* kind) {
      return Error(ErrorKind::kInvalidMetadata, subject, "codec \"" + name + "\" (" + kind + ") is out of order");
    };
    if (name == "transpose") {
      if (after_array_to_bytes) throw misplaced("array to array");
      auto codec = codecs::make_transpose(configuration, current, subject);
      chain.specs_.push_back(current);
      current = codec->encoded_spec(current);
      chain.array_to_array_.push_back(std::move(codec));
    } else if (name == "bytes" || name == "vlen-utf8" || name == "sharding_indexed") {
      if (after_array_to_bytes) throw misplaced("array to bytes");
      chain.array_to_bytes_ = name == "bytes"       ? codecs::make_bytes(configuration, current, subject)
                              : name == "vlen-utf8" ? codecs::make_vlen_utf8(configuration, current, subject)
                                                    : codecs::make_sharding(configuration, current, subject);
    } else if (name == "gzip" || name == "zstd" || name == "blosc" || name == "crc32c") {
      if (!after_array_to_bytes) throw misplaced("bytes to bytes");
      chain.bytes_to_bytes_.push_back(name == "gzip"    ? codecs::make_gzip(configuration, subject)
                                      : name == "zstd"  ? codecs::make_zstd(configuration, subject)
                                      : name == "blosc" ? codecs::make_blosc(configuration, current, subject)
                                                        : codecs::make_crc32c(configuration, subject));
    } else {
      throw Error(ErrorKind::kUnsupported, subject, "unknown codec \"" + name + "\"");
    }
  }
  if (!chain.array_to_bytes_) {
    throw Error(ErrorKind::kInvalidMetadata, subject, "codecs must include one array to bytes codec (e.g. \"bytes\")");
  }
  chain.specs_.push_back(current);
  std::optional<uint64_t> size = chain.array_to_bytes_->fixed_encoded_size(current);
  for (const auto& codec : chain.bytes_to_bytes_) {
    chain.decoded_limits_.push_back(size.value_or(kMaxChunkBytes));
    if (size) size = codec->fixed_encoded_size(*size);
  }
  return chain;
}

Bytes CodecChain::encode(Chunk chunk) const {
  for (const auto& codec : array_to_array_) chunk = codec->encode(chunk);
  Bytes bytes = array_to_bytes_->encode(std::move(chunk), specs_.back());
  for (const auto& codec : bytes_to_bytes_) bytes = codec->encode(bytes);
  return bytes;
}

bool CodecChain::stores_as_is() const {
  return array_to_array_.empty() && bytes_to_bytes_.empty() && array_to_bytes_->stores_as_is(spec_);
}

void CodecChain::decode_into(ByteView encoded, const ChunkView& target, const Shape& target_start,
                             const std::string& where) const {
  const Box whole{Shape(spec_.shape.size(), 0), spec_.shape};
  // Elements stored as they are copy straight from the encoded bytes, not
  // through a chunk of their own.
  if (stores_as_is() && encoded.size() == array_to_bytes_->fixed_encoded_size(spec_)) {
    copy_box(encoded.data(), spec_.shape, whole, target, target_start);
    return;
  }
  copy_box(decode(encoded, where), whole, target, target_start);  // or the error of a wrong size
}

Chunk CodecChain::decode(ByteView encoded, const std::string& where) const {
  Bytes bytes;
  ByteView current = encoded;
  for (size_t i = bytes_to_bytes_.size(); i-- > 0;) {
    bytes = bytes_to_bytes_[i]->decode(current, decoded_limits_[i], where);
    current = bytes;
  }
  Chunk chunk = array_to_bytes_->decode(current, specs_.back(), where);
  for (size_t i = array_to_array_.size(); i-- > 0;) chunk = array_to_array_[i]->decode(chunk, specs_[i]);
  return chunk;
}

Chunk CodecChain::decode_region(const ValueReader& value, const Box& region, const std::string& where) const {
  Chunk out = Chunk::sized(spec_.data_type, region.shape);
  decode_region_into(value, region, out.view(), where);
  return out;
}

void CodecChain::decode_region_into(const ValueReader& value, const Box& region, const ChunkView& out,
                                    const std::string& where) const {
  if (array_to_array_.empty() && bytes_to_bytes_.empty()) {
    return array_to_bytes_->decode_region_into(value, specs_.back(), region, out, where);
  }
  copy_box(decode(value.read_all(), where), region, out, Shape(region.shape.size(), 0));
}

std::optional<uint64_t> CodecChain::fixed_encoded_size() const {
  if (!array_to_array_.empty()) return std::nullopt;
  std::optional<uint64_t> size = array_to_bytes_->fixed_encoded_size(specs_.back());
  for (const auto& codec : bytes_to_bytes_) {
    if (size) size = codec->fixed_encoded_size(*size);
  }
  return size;
}

json CodecChain::to_json() const {
  json list = json::array();
  for (const auto& codec : array_to_array_) list.push_back(codec->to_json());
  list.push_back(array_to_bytes_->to_json());
  for (const auto& codec : bytes_to_bytes_) list.push_back(codec->to_json());
  return list;
}

}  // namespace lcstore::zarr
