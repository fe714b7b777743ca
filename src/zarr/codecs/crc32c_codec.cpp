// The "crc32c" codec (zarr-specs v3 codecs/crc32c): the data followed by its
// CRC-32C, 4 bytes little-endian. No Debian package ships a CRC-32C library
// (zlib's crc32 is the other polynomial), so it is implemented here.
#include <array>
#include <cstring>

#include "zarr/codecs/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include <fmt/format.h>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/byte_order.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli polynomial
constexpr size_t kChecksumSize = 4;

// Slice-by-8: table[k][b] is the CRC of byte b followed by k zero bytes, so
// eight input bytes are folded with eight independent look-ups.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables tables{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (kPolynomial & (0u - (crc & 1u)));
    tables[0][b] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t b = 0; b < 256; ++b) tables[k][b] = (tables[k - 1][b] >> 8) ^ tables[0][tables[k - 1][b] & 0xFFu];
  }
  return tables;
}

constexpr Tables kTables = make_tables();

// Both variants work on the pre-inverted register value.
uint32_t update_portable(uint32_t crc, const unsigned char* p, size_t n) {
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t low;
    uint32_t high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + 4, 4);
    low ^= crc;  // the register lines up with the first four (little-endian) bytes
    crc = kTables[7][low & 0xFFu] ^ kTables[6][(low >> 8) & 0xFFu] ^ kTables[5][(low >> 16) & 0xFFu] ^
          kTables[4][low >> 24] ^ kTables[3][high & 0xFFu] ^ kTables[2][(high >> 8) & 0xFFu] ^
          kTables[1][(high >> 16) & 0xFFu] ^ kTables[0][high >> 24];
  }
  for (; n > 0; --n, ++p) crc = (crc >> 8) ^ kTables[0][(crc ^ *p) & 0xFFu];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t update_sse42(uint32_t crc, const unsigned char* p, size_t n) {
  uint64_t wide = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    wide = _mm_crc32_u64(wide, word);
  }
  auto narrow = static_cast<uint32_t>(wide);
  for (; n > 0; --n, ++p) narrow = _mm_crc32_u8(narrow, *p);
  return narrow;
}
#endif

using Update = uint32_t (*)(uint32_t, const unsigned char*, size_t);

Update select_update() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return update_sse42;
#endif
  return update_portable;
}

uint32_t run(Update update, ByteView data, uint32_t crc) {
  return ~update(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

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
  static const Update update = select_update();
  return run(update, data, crc);
}

uint32_t codecs::crc32c_portable(ByteView data, uint32_t crc) { return run(update_portable, data, crc); }

std::shared_ptr<const BytesToBytesCodec> codecs::make_crc32c(const nlohmann::json& configuration,
                                                             const std::string& subject) {
  Configuration config(configuration, "crc32c", subject, {});
  return std::make_shared<Crc32cCodec>();
}

}  // namespace lcstore::zarr
