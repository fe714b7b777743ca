// The "vlen-utf8" codec (zarr-extensions codecs/vlen-utf8, numcodecs'
// VLenUTF8 layout): u32 LE element count, then per element its u32 LE byte
// length and its UTF-8 bytes.
#include <fmt/format.h>

#include <cstring>
#include <limits>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/byte_order.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

constexpr size_t kLengthSize = 4;

// Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and
// code points past U+10FFFF included), or nullopt when `text` is valid.
std::optional<size_t> invalid_utf8_at(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char lead = s[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (n - i < length || s[i + 1] < low || s[i + 1] > high) return i;
    for (size_t k = 2; k < length; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return std::nullopt;
}

class VlenUtf8Codec final : public ArrayToBytesCodec {
 public:
  explicit VlenUtf8Codec(std::string subject) : subject_(std::move(subject)) {}

  Bytes encode(Chunk chunk, const ChunkSpec&) const override {
    constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
    uint64_t total = kLengthSize;
    for (const std::string& text : chunk.strings) {
      if (text.size() > kMax) throw too_large(fmt::format("a string of {} bytes", text.size()));
      // Rejected here, on write, since decode would reject it as corrupt.
      if (auto at = invalid_utf8_at(text)) {
        throw Error(ErrorKind::kInvalidArgument, subject_,
                    fmt::format("vlen-utf8: string is not valid UTF-8 at byte {}", *at));
      }
      total += kLengthSize + text.size();
    }
    if (chunk.strings.size() > kMax) throw too_large(fmt::format("{} elements", chunk.strings.size()));
    Bytes out(total);
    std::byte* cursor = out.data();
    codecs::store_le32(cursor, static_cast<uint32_t>(chunk.strings.size()));
    cursor += kLengthSize;
    for (const std::string& text : chunk.strings) {
      codecs::store_le32(cursor, static_cast<uint32_t>(text.size()));
      cursor += kLengthSize;
      if (!text.empty()) std::memcpy(cursor, text.data(), text.size());
      cursor += text.size();
    }
    return out;
  }

  Chunk decode(ByteView encoded, const ChunkSpec& spec, const std::string& where) const override {
    auto corrupt = [&](const std::string& reason) {
      return Error(ErrorKind::kCorruptData, where, "vlen-utf8: " + reason);
    };
    const uint64_t expected = element_count(spec.shape);
    if (encoded.size() < kLengthSize) throw corrupt(fmt::format("{} bytes cannot hold the header", encoded.size()));
    const uint32_t count = codecs::load_le32(encoded.data());
    if (count != expected) throw corrupt(fmt::format("holds {} elements, expected {}", count, expected));
    Chunk chunk;
    chunk.data_type = DataType::kString;
    chunk.shape = spec.shape;
    chunk.strings.resize(count);
    size_t position = kLengthSize;
    for (uint32_t i = 0; i < count; ++i) {
      if (encoded.size() - position < kLengthSize) {
        throw corrupt(fmt::format("truncated: {} bytes end inside the length of element {}", encoded.size(), i));
      }
      const uint32_t length = codecs::load_le32(encoded.data() + position);
      position += kLengthSize;
      if (encoded.size() - position < length) {
        throw corrupt(fmt::format("truncated: element {} of {} bytes at offset {} runs past the {} bytes", i, length,
                                  position, encoded.size()));
      }
      std::string& text = chunk.strings[i];
      text.assign(reinterpret_cast<const char*>(encoded.data() + position), length);
      position += length;
      if (auto at = invalid_utf8_at(text)) {
        throw corrupt(fmt::format("element {} is not valid UTF-8 (byte {})", i, *at));
      }
    }
    if (position != encoded.size()) {
      throw corrupt(fmt::format("{} bytes follow the last element", encoded.size() - position));
    }
    return chunk;
  }

  nlohmann::json to_json() const override {
    return {{"name", "vlen-utf8"}, {"configuration", nlohmann::json::object()}};
  }

 private:
  Error too_large(const std::string& what) const {
    return Error(ErrorKind::kInvalidArgument, subject_, "vlen-utf8: cannot store " + what + " (limit 2^32 - 1)");
  }

  std::string subject_;
};

}  // namespace

std::shared_ptr<const ArrayToBytesCodec> codecs::make_vlen_utf8(const nlohmann::json& configuration,
                                                                const ChunkSpec& spec, const std::string& subject) {
  Configuration config(configuration, "vlen-utf8", subject, {});
  if (spec.data_type != DataType::kString) {
    throw config.error(fmt::format("applies to the string data type, not {} (use \"bytes\")", name_of(spec.data_type)));
  }
  return std::make_shared<VlenUtf8Codec>(subject);
}

}  // namespace lcstore::zarr
