#include "lcstore/storage/store.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "lcstore/error.h"
#include "storage/keys.h"

namespace lcstore {

void validate_key(std::string_view key) {
  bool bad = key.empty() || key.front() == '/' || key.back() == '/';
  size_t start = 0;
  while (!bad && start <= key.size()) {
    size_t end = std::min(key.find('/', start), key.size());
    std::string_view part = key.substr(start, end - start);
    bad = part.empty() || part == "." || part == "..";
    start = end + 1;
  }
  if (bad) throw Error(ErrorKind::kInvalidArgument, std::string(key), "not a valid store key");
}

void ValueReader::read_into(uint64_t offset, std::span<std::byte> into) const {
  const Bytes bytes = read(offset, into.size());
  std::memcpy(into.data(), bytes.data(), bytes.size());
}

std::optional<Bytes> Store::get(std::string_view key) const {
  auto reader = open(key);
  if (!reader) return std::nullopt;
  return reader->read_all();
}

}  // namespace lcstore
