#include "catalog/catalog_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lcstore/error.h"

namespace lcstore::catalog::detail {

namespace {

[[noreturn]] void fail_io(const std::string& file, const char* what) {
  throw Error(ErrorKind::kIo, file, std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

// (Not mmap: a file truncated while mapped would kill the process with
// SIGBUS instead of failing the read, and mapping a file of the page cache
// is slower than read()ing it on virtual machines; see BENCHMARKS.md.)
CatalogFile::CatalogFile(std::string path) : path_(std::move(path)), fd_(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (fd_ < 0) fail_io(path_, "cannot open");
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    ::close(fd_);
    fail_io(path_, "cannot stat");
  }
  // Pipes are fine; a device (/dev/zero) would be read until memory runs out.
  if (!S_ISREG(info.st_mode) && !S_ISFIFO(info.st_mode)) {
    ::close(fd_);
    throw Error(ErrorKind::kIo, path_, "is not a regular file (a directory or a device)");
  }
  seekable_ = S_ISREG(info.st_mode);
  size_ = seekable_ ? static_cast<uint64_t>(info.st_size) : 0;
}

CatalogFile::~CatalogFile() { ::close(fd_); }

std::string_view CatalogFile::prefix(size_t bytes) {
  while (read_ < bytes && !at_end_) {
    if (read_ == capacity_) {
      // + 1: sees the end without another read. A pipe, or a file that grew
      // while being read, doubles.
      constexpr size_t kLeast = 64 << 10;
      const size_t wanted =
          std::max({static_cast<size_t>(std::min<uint64_t>(bytes, size_ + 1)), 2 * capacity_, kLeast});
      auto larger = std::make_unique_for_overwrite<char[]>(wanted);
      if (read_ > 0) std::memcpy(larger.get(), bytes_.get(), read_);  // nothing yet: no buffer to copy from
      bytes_ = std::move(larger);
      capacity_ = wanted;
    }
    const ssize_t n = ::read(fd_, bytes_.get() + read_, std::min(capacity_, bytes) - read_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_io(path_, "cannot read");
    if (n == 0) at_end_ = true;
    read_ += static_cast<size_t>(n);
  }
  return {bytes_.get(), std::min(read_, bytes)};
}

void CatalogFile::read_at(uint64_t offset, char* into, size_t count) const {
  size_t done = 0;
  while (done < count) {
    const ssize_t n = ::pread(fd_, into + done, count - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_io(path_, "cannot read");
    if (n == 0) {
      throw Error(ErrorKind::kIo, path_,
                  "the file ends at byte " + std::to_string(offset + done) + ", before byte " +
                      std::to_string(offset + count) + ": it was truncated while being read");
    }
    done += static_cast<size_t>(n);
  }
}

}  // namespace lcstore::catalog::detail
