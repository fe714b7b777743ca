#include "lightcurve/declination_index.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numbers>

#include "lcstore/error.h"

namespace lcstore::lightcurve {

namespace {

// "lcsdec02" read as a little-endian number: the format of the stored index.
constexpr uint64_t kMagic = 0x323063656473636cull;

// The stored index: this header, then dec[n_indexed], ra[n_indexed] (float64)
// and rows[n_indexed] (uint32), little-endian as written by this host kind.
struct Header {
  uint64_t magic, n_objects, n_indexed, stamp, body_hash;
};
constexpr size_t kEntryBytes = 2 * sizeof(double) + sizeof(uint32_t);

// memcpy, also of zero bytes from or to an empty vector (whose data() may be
// null, which memcpy does not allow).
void copy_bytes(void* to, const void* from, size_t size) {
  if (size > 0) std::memcpy(to, from, size);
}

}  // namespace

DeclinationIndex DeclinationIndex::build(const std::vector<double>& ra, const std::vector<double>& dec,
                                         uint64_t stamp) {
  if (dec.size() > UINT32_MAX) {
    throw Error(ErrorKind::kInvalidArgument, "objects", "more than 2^32 objects cannot be indexed");
  }
  DeclinationIndex built;
  built.n_objects_ = dec.size();
  built.stamp_ = stamp;
  for (uint32_t row = 0; row < dec.size(); ++row) {
    if (!std::isnan(dec[row])) built.rows_.push_back(row);
  }
  std::stable_sort(built.rows_.begin(), built.rows_.end(), [&](uint32_t a, uint32_t b) { return dec[a] < dec[b]; });
  built.dec_.reserve(built.rows_.size());
  built.ra_.reserve(built.rows_.size());
  for (uint32_t row : built.rows_) {
    built.dec_.push_back(dec[row]);
    built.ra_.push_back(ra[row]);
  }
  return built;
}

std::optional<DeclinationIndex> DeclinationIndex::load(const Store& store, uint64_t stamp) {
  const std::optional<Bytes> bytes = store.get(kKey);
  Header header{};
  if (!bytes || bytes->size() < sizeof header) return std::nullopt;
  std::memcpy(&header, bytes->data(), sizeof header);
  const std::byte* body = bytes->data() + sizeof header;
  const size_t body_size = bytes->size() - sizeof header;
  if (header.magic != kMagic || header.stamp != stamp || header.n_indexed > header.n_objects ||
      header.n_indexed > body_size / kEntryBytes || body_size != header.n_indexed * kEntryBytes ||
      XXH3_64bits(body, body_size) != header.body_hash) {
    return std::nullopt;
  }
  DeclinationIndex loaded;
  loaded.n_objects_ = header.n_objects;
  loaded.stamp_ = stamp;
  const size_t n = header.n_indexed;
  loaded.dec_.resize(n);
  loaded.ra_.resize(n);
  loaded.rows_.resize(n);
  copy_bytes(loaded.dec_.data(), body, n * sizeof(double));
  copy_bytes(loaded.ra_.data(), body + n * sizeof(double), n * sizeof(double));
  copy_bytes(loaded.rows_.data(), body + 2 * n * sizeof(double), n * sizeof(uint32_t));
  // The hash proves the bytes are those written; these checks keep a forged
  // index from sending a query outside the store.
  const bool in_order = std::is_sorted(loaded.dec_.begin(), loaded.dec_.end()) &&
                        std::none_of(loaded.dec_.begin(), loaded.dec_.end(), [](double d) { return std::isnan(d); });
  const bool rows_valid =
      std::all_of(loaded.rows_.begin(), loaded.rows_.end(), [&](uint32_t row) { return row < header.n_objects; });
  if (!in_order || !rows_valid) return std::nullopt;
  return loaded;
}

double DeclinationIndex::ra_reach(double dec, double radius_degrees) {
  // Unless the circle holds a pole, every object within the radius is within
  // asin(sin r / cos dec) of its centre in RA: the band's objects outside
  // that are passed over before the trigonometry of their separation (most
  // of a query's time, since the band spans the field's whole width).
  constexpr double kDegree = std::numbers::pi / 180.0;
  if (std::abs(dec) + radius_degrees >= 90.0) return 360.0;
  return std::asin(std::min(1.0, std::sin(radius_degrees * kDegree) / std::cos(dec * kDegree))) / kDegree *
             (1.0 + 1e-9) +
         1e-12;
}

uint64_t DeclinationIndex::stamp_of(const Store& store, const zarr::Array& dec) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  const std::array<uint64_t, 1> length = {dec.shape().at(0)};
  XXH3_64bits_update(state, length.data(), sizeof length);
  const uint64_t n_chunks = dec.chunk_grid_shape().at(0);
  for (uint64_t chunk = 0; chunk < n_chunks; ++chunk) {
    const std::array<uint64_t, 1> coords = {chunk};
    const std::optional<Bytes> stored = store.get(dec.chunk_store_key(coords));
    // An absent chunk (all fill value) hashes differently from any stored one.
    const std::array<uint64_t, 2> marker = {chunk, stored ? stored->size() : UINT64_MAX};
    XXH3_64bits_update(state, marker.data(), sizeof marker);
    if (stored) XXH3_64bits_update(state, stored->data(), stored->size());
  }
  const uint64_t stamp = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return stamp;
}

void DeclinationIndex::save(Store& store) const {
  const size_t n = rows_.size();
  Bytes bytes(sizeof(Header) + n * kEntryBytes);
  std::byte* body = bytes.data() + sizeof(Header);
  copy_bytes(body, dec_.data(), n * sizeof(double));
  copy_bytes(body + n * sizeof(double), ra_.data(), n * sizeof(double));
  copy_bytes(body + 2 * n * sizeof(double), rows_.data(), n * sizeof(uint32_t));
  const Header header{kMagic, n_objects_, n, stamp_, XXH3_64bits(body, n * kEntryBytes)};
  std::memcpy(bytes.data(), &header, sizeof header);
  store.set(kKey, bytes);
}

}  // namespace lcstore::lightcurve
