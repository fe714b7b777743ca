// Little-endian integers inside encoded bytes (vlen-utf8 lengths, crc32c
// checksums), written byte by byte so the format does not depend on the host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lcstore::zarr::codecs {

inline void store_le32(std::byte* target, uint32_t value) {
  for (int i = 0; i < 4; ++i) target[i] = static_cast<std::byte>(value >> (8 * i));
}

inline uint32_t load_le32(const std::byte* source) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= std::to_integer<uint32_t>(source[i]) << (8 * i);
  return value;
}

}  // namespace lcstore::zarr::codecs
