#include "lcstore/storage/store.h"

namespace lcstore {

std::optional<Bytes> Store::get(std::string_view key) const {
  auto reader = open(key);
  if (!reader) return std::nullopt;
  return reader->read_all();
}

}  // namespace lcstore
