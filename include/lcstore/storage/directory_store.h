// A Store on a local (or network) file system directory: key "a/b/c" is the
// file <root>/a/b/c, so the directory is a plain Zarr v3 store that
// zarr-python, xarray and zarrita open as it is.
//
// Atomic publish: set() writes a temporary file in the key's own directory
// (".<name>.lcstore-tmp.<pid>.<n>", never a valid chunk or metadata key) and
// renames it over the key; rename(2) within a directory is atomic on POSIX
// file systems, so readers need no locks.
//
// Locks are open-file-description fcntl locks (F_OFD_SETLKW) on one byte
// (the slot) of the file <root>/<space>/.lcstore.lock. They exclude threads
// and processes alike and the kernel drops them when a holder dies, so a
// killed writer never leaves a lock held. They are honoured by local file
// systems, by NFSv4 (lock state on the server) and by Lustre mounted with
// "-o flock"; on file systems without fcntl lock support (Lustre
// "noflock", some FUSE mounts) lock() fails loudly with an I/O error rather
// than silently not locking.
#pragma once

#include <filesystem>

#include "lcstore/storage/store.h"

namespace lcstore {

// What survives a machine crash. Each set() is atomic whatever the choice;
// durability is whether its bytes reach the disk before lcstore goes on.
enum class Durability {
  // sync() flushes the whole file system holding the store (syncfs(2)): every
  // file written and renamed since, in one flush per commit rather than one
  // per value. The default.
  kSyncOnCommit,
  kNone,                  // sync() does nothing: for scratch stores; a crash may lose recent writes
  kSyncData,              // fsync each value before it is published, and sync() as kSyncOnCommit
  kSyncDataAndDirectory,  // also fsync the directory after each rename
};

enum class Locking {
  kEnabled,
  // lock() does nothing: only for a store with a single writer, and to measure
  // what locking costs.
  kDisabled,
};

class DirectoryStore final : public Store {
 public:
  explicit DirectoryStore(std::filesystem::path root, Durability durability = Durability::kSyncOnCommit,
                          Locking locking = Locking::kEnabled);

  std::unique_ptr<ValueReader> open(std::string_view key) const override;
  void set(std::string_view key, ByteView value) override;
  void erase(std::string_view key) override;
  std::vector<std::string> list(std::string_view prefix) const override;
  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::unique_ptr<Lock> lock(std::string_view space, uint64_t slot) override;
  std::unique_ptr<Lock> try_lock(std::string_view space, uint64_t slot) override;
  void sync() override;
  std::string describe(std::string_view key) const override;

  const std::filesystem::path& root() const { return root_; }

  // Files lcstore itself leaves in the tree: temporary files of writers that
  // died before publishing, and lock files. Paths relative to the root.
  struct Leftovers {
    std::vector<std::string> temporary_files;
    std::vector<std::string> lock_files;
  };
  Leftovers find_leftovers() const;
  // Deletes them. Only safe when no writer is running.
  void remove_leftovers(const Leftovers& leftovers);

 private:
  std::filesystem::path path_of(std::string_view key) const;
  // nullptr when `wait` is false and another holder has the lock.
  std::unique_ptr<Lock> take_lock(std::string_view space, uint64_t slot, bool wait);

  std::filesystem::path root_;
  Durability durability_;
  Locking locking_;
};

}  // namespace lcstore
