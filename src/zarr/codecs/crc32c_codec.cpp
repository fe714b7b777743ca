// The "crc32c" codec (zarr-specs v3 codecs/crc32c): the data followed by its
// CRC-32C, 4 bytes little-endian, computed by ISA-L (zlib's crc32 is the
// other polynomial).
#include <fmt/format.h>
#include <isa-l/crc.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/byte_order.h"
#include "zarr/codecs/configuration.h"
#include "zarr/codecs/crc32c.h"

namespace lcstore::zarr {
namespace {

constexpr size_t kChecksumSize = 4;

class Crc32cCodec final : public BytesToBytesCodec {
 public:
  Bytes encode(ByteView decoded) const override {
    Bytes out(decoded.size() + kChecksumSize);
    if (!decoded.empty()) std::memcpy(out.data(), decoded.data(), decoded.size());
    codecs::store_le32(out.data() + decoded.size(), codecs::crc32c(decoded));
    return out;
  }

  // Decodes to fewer bytes than it is given: no size to bound.
  Bytes decode(ByteView encoded, uint64_t /*max_size*/, const std::string& where) const override {
    if (encoded.size() < kChecksumSize) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("crc32c: {} bytes cannot hold a 4-byte checksum", encoded.size()));
    }
    const ByteView data = encoded.first(encoded.size() - kChecksumSize);
    const uint32_t stored = codecs::load_le32(encoded.data() + data.size());
    const uint32_t actual = codecs::crc32c(data);
    if (stored != actual) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("crc32c checksum mismatch (stored {:08x}, computed {:08x} over {} bytes)", stored, actual,
                              data.size()));
    }
    return Bytes(data.begin(), data.end());
  }

  std::optional<uint64_t> fixed_encoded_size(uint64_t size) const override { return size + kChecksumSize; }

  nlohmann::json to_json() const override { return {{"name", "crc32c"}}; }
};

}  // namespace

uint32_t codecs::crc32c(ByteView data, uint32_t crc) {
  // ISA-L works on the register value, not inverted before and after, and
  // takes an int length.
  uint32_t state = ~crc;
  // crc32_iscsi only reads the buffer, though its parameter is not const.
  auto* bytes = reinterpret_cast<unsigned char*>(const_cast<std::byte*>(data.data()));
  for (size_t done = 0; done < data.size();) {
    const size_t part = std::min<size_t>(data.size() - done, INT_MAX);
    state = crc32_iscsi(bytes + done, static_cast<int>(part), state);
    done += part;
  }
  return ~state;
}

std::shared_ptr<const BytesToBytesCodec> codecs::make_crc32c(const nlohmann::json& configuration,
                                                             const std::string& subject) {
  Configuration config(configuration, "crc32c", subject, {});
  return std::make_shared<Crc32cCodec>();
}

}  // namespace lcstore::zarr
