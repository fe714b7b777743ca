// CRC-32C (Castagnoli, the iSCSI polynomial), as the crc32c codec stores it.
#pragma once

#include <cstdint>

#include "lcstore/storage/store.h"

namespace lcstore::zarr::codecs {

// CRC-32C of `data`, continuing from `crc` (the CRC of the bytes before it).
uint32_t crc32c(ByteView data, uint32_t crc = 0);

}  // namespace lcstore::zarr::codecs
