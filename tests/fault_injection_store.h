// A store that models a machine crash, as LevelDB's FaultInjectionTestEnv
// does. Values live in memory; what was set or erased since the last sync()
// is volatile: crash_image() is what the disk may hold after a crash at this
// moment, every change up to the last sync() and any subset of the later
// ones. fail_after(n) makes the n-th following set() or sync() throw, so a
// writer stops where the crash happens; fail_once_after(n) makes only that
// one throw (a disk that was full for a moment), and refuse(prefix) every
// set() of a key under `prefix` (a read-only folder).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/storage/memory_store.h"

namespace lcstore::testing {

class FaultInjectionStore final : public Store {
 public:
  // From now on sync() makes nothing durable, as with Durability::kNone: to
  // show what a crash image then loses.
  void ignore_syncs() { honour_sync_ = false; }

  std::unique_ptr<ValueReader> open(std::string_view key) const override { return live_.open(key); }
  std::vector<std::string> list(std::string_view prefix) const override { return live_.list(prefix); }
  std::vector<std::string> list_dir(std::string_view prefix) const override { return live_.list_dir(prefix); }
  std::unique_ptr<Lock> lock(std::string_view space, uint64_t slot) override { return live_.lock(space, slot); }
  std::unique_ptr<Lock> try_lock(std::string_view space, uint64_t slot) override { return live_.try_lock(space, slot); }
  std::string describe(std::string_view key) const override { return "fault-injection:" + std::string(key); }

  void set(std::string_view key, ByteView value) override {
    {
      std::lock_guard guard(mutex_);
      if (!refused_prefix_.empty() && key.starts_with(refused_prefix_))
        throw Error(ErrorKind::kIo, std::string(key), "Permission denied");
      count_operation(key);
      unsynced_.emplace_back(std::string(key), Bytes(value.begin(), value.end()));
    }
    live_.set(key, value);
  }
  void erase(std::string_view key) override {
    {
      std::lock_guard guard(mutex_);
      unsynced_.emplace_back(std::string(key), std::nullopt);
    }
    live_.erase(key);
  }
  void sync() override {
    std::lock_guard guard(mutex_);
    count_operation("(sync)");
    if (!honour_sync_) return;
    for (auto& [key, value] : unsynced_) apply(synced_, key, value);
    unsynced_.clear();
  }

  // From now on, `operations` more set() and sync() calls succeed and the
  // next one throws Error(kIo, key, "injected crash"), as does every one after.
  void fail_after(uint64_t operations) {
    std::lock_guard guard(mutex_);
    operations_left_ = operations;
    fail_once_ = false;
  }
  // As fail_after, but the calls after the one that throws succeed.
  void fail_once_after(uint64_t operations) {
    std::lock_guard guard(mutex_);
    operations_left_ = operations;
    fail_once_ = true;
  }
  // Every set() and sync() succeeds again.
  void stop_failing() {
    std::lock_guard guard(mutex_);
    operations_left_.reset();
    refused_prefix_.clear();
  }
  // set() of every key that starts with `prefix` throws Error(kIo, key,
  // "Permission denied"), until stop_failing().
  void refuse(std::string prefix) {
    std::lock_guard guard(mutex_);
    refused_prefix_ = std::move(prefix);
  }

  // The set() and sync() calls that succeeded.
  uint64_t operations() const {
    std::lock_guard guard(mutex_);
    return operations_;
  }

  // The store a crash now would leave: the synced values, then each later
  // change, in order, kept or lost at random.
  std::shared_ptr<MemoryStore> crash_image(std::mt19937& random) const {
    std::lock_guard guard(mutex_);
    std::vector<std::pair<std::string, std::optional<Bytes>>> disk = synced_;
    std::bernoulli_distribution reached_disk(0.5);
    for (const auto& [key, value] : unsynced_) {
      if (reached_disk(random)) apply(disk, key, value);
    }
    auto image = std::make_shared<MemoryStore>();
    for (const auto& [key, value] : disk) {
      if (value) image->set(key, *value);
    }
    return image;
  }

 private:
  using Change = std::pair<std::string, std::optional<Bytes>>;  // nullopt: erased

  // Under mutex_.
  void count_operation(std::string_view key) {
    if (operations_left_ && (*operations_left_)-- == 0) {
      if (fail_once_) {
        operations_left_.reset();
      } else {
        operations_left_ = 0;
      }
      throw Error(ErrorKind::kIo, std::string(key), "injected crash");
    }
    ++operations_;
  }

  static void apply(std::vector<Change>& state, const std::string& key, const std::optional<Bytes>& value) {
    for (Change& change : state) {
      if (change.first == key) {
        change.second = value;
        return;
      }
    }
    state.emplace_back(key, value);
  }

  std::atomic<bool> honour_sync_ = true;
  MemoryStore live_;
  mutable std::mutex mutex_;
  std::vector<Change> synced_;    // the last value of each key the disk holds
  std::vector<Change> unsynced_;  // every change since, in order
  std::optional<uint64_t> operations_left_;
  bool fail_once_ = false;
  std::string refused_prefix_;
  uint64_t operations_ = 0;
};

}  // namespace lcstore::testing
