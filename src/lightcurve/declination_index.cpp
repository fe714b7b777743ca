#include "lightcurve/declination_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "lcstore/error.h"

namespace lcstore::lightcurve {

DeclinationIndex DeclinationIndex::build(const std::vector<double>& dec) {
  if (dec.size() > UINT32_MAX) {
    throw Error(ErrorKind::kInvalidArgument, "objects", "more than 2^32 objects cannot be indexed");
  }
  DeclinationIndex built;
  built.rows_.resize(dec.size());
  std::iota(built.rows_.begin(), built.rows_.end(), 0u);
  // NaN compares false both ways; as "greater than everything" it sorts last.
  std::stable_sort(built.rows_.begin(), built.rows_.end(),
                   [&](uint32_t a, uint32_t b) { return std::isnan(dec[b]) ? !std::isnan(dec[a]) : dec[a] < dec[b]; });
  built.index(dec);
  return built;
}

DeclinationIndex DeclinationIndex::load(const Store& store, const std::vector<double>& dec) {
  const std::optional<Bytes> bytes = store.get(kKey);
  if (bytes && bytes->size() == dec.size() * sizeof(uint32_t)) {
    DeclinationIndex loaded;
    loaded.rows_.resize(dec.size());
    std::memcpy(loaded.rows_.data(), bytes->data(), bytes->size());  // little-endian, as written by this host kind
    if (loaded.index(dec)) return loaded;
  }
  return build(dec);
}

void DeclinationIndex::save(Store& store) const { store.set(kKey, std::as_bytes(std::span(rows_))); }

bool DeclinationIndex::index(const std::vector<double>& dec) {
  if (rows_.size() != dec.size()) return false;
  std::vector<bool> seen(dec.size(), false);
  sorted_dec_.clear();
  sorted_dec_.reserve(dec.size());
  for (size_t i = 0; i < rows_.size(); ++i) {
    const uint32_t row = rows_[i];
    if (row >= dec.size() || seen[row]) return false;
    seen[row] = true;
    const double value = dec[row];
    if (std::isnan(value)) continue;
    // A declination after a NaN one, or a smaller one, is out of order.
    if (sorted_dec_.size() != i || (!sorted_dec_.empty() && value < sorted_dec_.back())) return false;
    sorted_dec_.push_back(value);
  }
  return true;
}

}  // namespace lcstore::lightcurve
