#include "lcstore/storage/directory_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "lcstore/error.h"
#include "storage/keys.h"

namespace lcstore {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTemporaryMarker = ".lcstore-tmp.";
constexpr std::string_view kLockFileName = ".lcstore.lock";

bool is_internal_file(const std::string& name) {
  return name == kLockFileName || name.find(kTemporaryMarker) != std::string::npos;
}

Error io_error(const fs::path& path, std::string_view what) {
  return Error(ErrorKind::kIo, path.string(), std::string(what) + ": " + std::strerror(errno));
}

// Closes the descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

class FileReader final : public ValueReader {
 public:
  FileReader(fs::path path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}

  uint64_t size() const override { return size_; }

  Bytes read(uint64_t offset, uint64_t length) const override {
    check_range(offset, length);
    Bytes out(length);
    read_into(offset, out);
    return out;
  }

  void read_into(uint64_t offset, std::span<std::byte> into) const override {
    const uint64_t length = into.size();
    check_range(offset, length);
    uint64_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(fd_.get(), into.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw io_error(path_, "read failed");
      if (n == 0) throw Error(ErrorKind::kCorruptData, path_.string(), "file shrank while being read");
      done += static_cast<uint64_t>(n);
    }
  }

 private:
  void check_range(uint64_t offset, uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      throw Error(ErrorKind::kCorruptData, path_.string(),
                  "byte range " + std::to_string(offset) + "+" + std::to_string(length) + " is beyond the end of the " +
                      std::to_string(size_) + "-byte value");
    }
  }

  fs::path path_;
  FileDescriptor fd_;
  uint64_t size_;
};

class FileLock final : public Lock {
 public:
  FileLock(fs::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  // Closing the only descriptor of the open file description releases its locks.

 private:
  fs::path path_;
  FileDescriptor fd_;
};

// open(2) that creates the missing parent directories on ENOENT. Trying the
// open first spares the common case (the directory exists) a stat per component.
int open_creating_parents(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd >= 0 || errno != ENOENT) return fd;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error(ErrorKind::kIo, path.parent_path().string(), "cannot create directory: " + ec.message());
  return ::open(path.c_str(), flags, 0644);
}

void write_all(int fd, ByteView value, const fs::path& path) {
  size_t done = 0;
  while (done < value.size()) {
    ssize_t n = ::write(fd, value.data() + done, value.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw io_error(path, "write failed");
    done += static_cast<size_t>(n);
  }
}

void sync_directory(const fs::path& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) throw io_error(directory, "directory fsync failed");
}

}  // namespace

DirectoryStore::DirectoryStore(fs::path root, Durability durability, Locking locking)
    : root_(std::move(root)), durability_(durability), locking_(locking) {}

fs::path DirectoryStore::path_of(std::string_view key) const {
  validate_key(key);
  return root_ / fs::path(std::string(key));
}

std::string DirectoryStore::describe(std::string_view key) const {
  return key.empty() ? root_.string() : (root_ / fs::path(std::string(key))).string();
}

std::unique_ptr<ValueReader> DirectoryStore::open(std::string_view key) const {
  fs::path path = path_of(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return nullptr;
    throw io_error(path, "cannot open");
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    throw io_error(path, "cannot stat");
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return nullptr;
  }
  return std::make_unique<FileReader>(std::move(path), fd, static_cast<uint64_t>(info.st_size));
}

void DirectoryStore::set(std::string_view key, ByteView value) {
  fs::path path = path_of(key);
  // Unique among threads (counter) and processes (pid) sharing the directory.
  static std::atomic<uint64_t> counter{0};
  fs::path temporary = path.parent_path() / ("." + path.filename().string() + std::string(kTemporaryMarker) +
                                             std::to_string(::getpid()) + "." + std::to_string(counter++));
  {
    FileDescriptor fd(open_creating_parents(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC));
    if (fd.get() < 0) throw io_error(temporary, "cannot create temporary file");
    try {
      write_all(fd.get(), value, temporary);
      const bool sync_each = durability_ == Durability::kSyncData || durability_ == Durability::kSyncDataAndDirectory;
      if (sync_each && ::fdatasync(fd.get()) != 0) throw io_error(temporary, "fsync failed");
    } catch (...) {
      ::unlink(temporary.c_str());
      throw;
    }
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    Error error = io_error(path, "cannot publish (rename)");
    ::unlink(temporary.c_str());
    throw error;
  }
  if (durability_ == Durability::kSyncDataAndDirectory) sync_directory(path.parent_path());
}

void DirectoryStore::sync() {
  if (durability_ == Durability::kNone) return;
  // One flush of the file system writes back every file and directory entry
  // changed since, whoever changed them, at the cost of one fsync.
  FileDescriptor root(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) throw io_error(root_, "cannot open to sync");
  if (::syncfs(root.get()) != 0) throw io_error(root_, "cannot sync the file system (syncfs)");
}

void DirectoryStore::erase(std::string_view key) {
  fs::path path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) throw io_error(path, "cannot erase");
  if (durability_ == Durability::kSyncDataAndDirectory) sync_directory(path.parent_path());
}

std::vector<std::string> DirectoryStore::list(std::string_view prefix) const {
  std::vector<std::string> keys;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file() || is_internal_file(it->path().filename().string())) continue;
    std::string key = it->path().lexically_relative(root_).generic_string();
    if (key.starts_with(prefix)) keys.push_back(std::move(key));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw Error(ErrorKind::kIo, root_.string(), "cannot list: " + ec.message());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> DirectoryStore::list_dir(std::string_view prefix) const {
  std::vector<std::string> names;
  fs::path directory = prefix.empty() ? root_ : root_ / fs::path(std::string(prefix));
  std::error_code ec;
  for (auto it = fs::directory_iterator(directory, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!is_internal_file(name)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::unique_ptr<Lock> DirectoryStore::lock(std::string_view space, uint64_t slot) {
  return take_lock(space, slot, /*wait=*/true);
}

std::unique_ptr<Lock> DirectoryStore::try_lock(std::string_view space, uint64_t slot) {
  return take_lock(space, slot, /*wait=*/false);
}

std::unique_ptr<Lock> DirectoryStore::take_lock(std::string_view space, uint64_t slot, bool wait) {
  if (locking_ == Locking::kDisabled) return std::make_unique<Lock>();
  fs::path path = (space.empty() ? root_ : path_of(space)) / kLockFileName;
  int fd = open_creating_parents(path, O_RDWR | O_CREAT | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot open lock file");
  auto held = std::make_unique<FileLock>(path, fd);
  struct flock request {};
  request.l_type = F_WRLCK;
  request.l_whence = SEEK_SET;
  request.l_start = static_cast<off_t>(slot & 0x3fffffffffffffffULL);
  request.l_len = 1;
  while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &request) != 0) {
    if (!wait && (errno == EAGAIN || errno == EACCES)) return nullptr;
    if (errno != EINTR) throw io_error(path, "cannot take lock " + std::to_string(slot));
  }
  return held;
}

DirectoryStore::Leftovers DirectoryStore::find_leftovers() const {
  Leftovers found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().filename().string();
    std::string relative = it->path().lexically_relative(root_).generic_string();
    if (name == kLockFileName)
      found.lock_files.push_back(relative);
    else if (name.find(kTemporaryMarker) != std::string::npos)
      found.temporary_files.push_back(relative);
  }
  std::sort(found.temporary_files.begin(), found.temporary_files.end());
  std::sort(found.lock_files.begin(), found.lock_files.end());
  return found;
}

void DirectoryStore::remove_leftovers(const Leftovers& leftovers) {
  for (const auto* list : {&leftovers.temporary_files, &leftovers.lock_files}) {
    for (const std::string& relative : *list) {
      fs::path path = root_ / relative;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw io_error(path, "cannot remove");
    }
  }
}

}  // namespace lcstore
