// A catalog file open for reading: its first bytes held in memory, read as
// far as a reader asks, and any other range read on demand.
//
// Text readers parse the whole file in memory. The FITS reader holds only
// the headers in memory and reads the table a piece at a time, so that each
// piece is decoded while it is still in the cache: reading the whole file
// first made every byte go out to memory and back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lcstore::catalog::detail {

class CatalogFile {
 public:
  // Throws Error(kIo) if `path` cannot be opened or is a directory or a device.
  explicit CatalogFile(std::string path);
  CatalogFile(const CatalogFile&) = delete;
  CatalogFile& operator=(const CatalogFile&) = delete;
  ~CatalogFile();

  const std::string& path() const { return path_; }
  // The file's size when it was opened. 0 for a pipe.
  uint64_t size() const { return size_; }
  // Whether ranges can be read anywhere (a regular file), not only in order.
  bool seekable() const { return seekable_; }

  // The file's first `bytes` bytes, or all of it if it is shorter.
  std::string_view prefix(size_t bytes);
  std::string_view whole() { return prefix(SIZE_MAX); }

  // Reads bytes [offset, offset + count) of a seekable file into `into`.
  // Throws Error(kIo) if the file ends before (it shrank since it was opened).
  void read_at(uint64_t offset, char* into, size_t count) const;

 private:
  std::string path_;
  int fd_;
  uint64_t size_ = 0;
  bool seekable_ = false;
  bool at_end_ = false;
  // Not zeroed before it is read into.
  std::unique_ptr<char[]> bytes_;
  size_t capacity_ = 0;
  size_t read_ = 0;
};

}  // namespace lcstore::catalog::detail
