// Key-value storage: the bottom layer of lcstore.
//
// A Store maps "/"-separated string keys to immutable byte values, the model
// of the Zarr v3 abstract store. Two guarantees every implementation gives and
// the upper layers rely on:
//
//  * set() publishes atomically: a concurrent or later reader sees either the
//    whole old value or the whole new one, never a mix, and a writer killed
//    mid-set leaves the old value in place.
//  * open() pins one version of a value: every read through the returned
//    ValueReader comes from that version even if the key is replaced or erased
//    meanwhile. A partial read (a shard index, then an inner chunk) is
//    therefore always self-consistent.
//
// Stores also provide exclusive locks, shared by threads and processes, which
// the zarr layer takes around each chunk read-modify-write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lcstore {

using Bytes = std::vector<std::byte>;
using ByteView = std::span<const std::byte>;

// One pinned version of a stored value.
class ValueReader {
 public:
  virtual ~ValueReader() = default;
  virtual uint64_t size() const = 0;
  // Reads [offset, offset + length); throws lcstore::Error if the range is
  // outside the value.
  virtual Bytes read(uint64_t offset, uint64_t length) const = 0;
  Bytes read_all() const { return read(0, size()); }
  // As read(offset, into.size()), into memory the caller provides: it need
  // not be zeroed first, as a new Bytes is.
  virtual void read_into(uint64_t offset, std::span<std::byte> into) const;
};

// A held lock; releasing it is destroying it.
class Lock {
 public:
  virtual ~Lock() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // The whole value, or nullopt when the key does not exist.
  virtual std::optional<Bytes> get(std::string_view key) const;
  // A pinned version of the value for (repeated) partial reads, or nullptr
  // when the key does not exist.
  virtual std::unique_ptr<ValueReader> open(std::string_view key) const = 0;
  // Atomically replaces (or creates) the value.
  virtual void set(std::string_view key, ByteView value) = 0;
  // Removes the key; erasing a missing key is not an error.
  virtual void erase(std::string_view key) = 0;
  // Every key that starts with `prefix`, in lexicographic order.
  virtual std::vector<std::string> list(std::string_view prefix) const = 0;
  // Names directly below `prefix` (a key or a "directory"), sorted, without
  // the prefix. `prefix` is "" for the root or ends with "/".
  virtual std::vector<std::string> list_dir(std::string_view prefix) const = 0;

  // Blocks until this caller holds lock `slot` of lock space `space`, to the
  // exclusion of every other holder of that (space, slot), in this or any
  // other process using the same store. Locks are not re-entrant: a caller
  // that needs several must take them in increasing slot order.
  virtual std::unique_ptr<Lock> lock(std::string_view space, uint64_t slot) = 0;
  // As lock(), but returns nullptr at once when another holder has the lock:
  // how a process tells whether the holder of a lock is still alive.
  virtual std::unique_ptr<Lock> try_lock(std::string_view space, uint64_t slot) = 0;

  // Makes every value set or erased so far survive a machine crash (power
  // loss, kernel panic): the commit point of a writer that records elsewhere
  // what it wrote. Does nothing by default, for stores that keep nothing
  // after a crash anyway (memory) or make each set durable itself.
  virtual void sync() {}

  // Human-readable location, for error messages ("/data/lc.zarr", "memory").
  virtual std::string describe(std::string_view key) const = 0;
};

// A store that forwards every call to another: derive from it to change or
// observe a few calls (count reads, inject faults) and keep the rest.
class StoreWrapper : public Store {
 public:
  explicit StoreWrapper(std::shared_ptr<Store> target) : target_(std::move(target)) {}

  std::optional<Bytes> get(std::string_view key) const override { return target_->get(key); }
  std::unique_ptr<ValueReader> open(std::string_view key) const override { return target_->open(key); }
  void set(std::string_view key, ByteView value) override { target_->set(key, value); }
  void erase(std::string_view key) override { target_->erase(key); }
  std::vector<std::string> list(std::string_view prefix) const override { return target_->list(prefix); }
  std::vector<std::string> list_dir(std::string_view prefix) const override { return target_->list_dir(prefix); }
  std::unique_ptr<Lock> lock(std::string_view space, uint64_t slot) override { return target_->lock(space, slot); }
  std::unique_ptr<Lock> try_lock(std::string_view space, uint64_t slot) override {
    return target_->try_lock(space, slot);
  }
  void sync() override { target_->sync(); }
  std::string describe(std::string_view key) const override { return target_->describe(key); }

  Store& target() const { return *target_; }

 private:
  std::shared_ptr<Store> target_;
};

}  // namespace lcstore
