// A Store in process memory, for tests and scratch arrays. Values are
// immutable and shared, so open() pins a version by holding a reference.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "lcstore/storage/store.h"

namespace lcstore {

class MemoryStore final : public Store {
 public:
  std::unique_ptr<ValueReader> open(std::string_view key) const override;
  void set(std::string_view key, ByteView value) override;
  void erase(std::string_view key) override;
  std::vector<std::string> list(std::string_view prefix) const override;
  std::vector<std::string> list_dir(std::string_view prefix) const override;
  std::unique_ptr<Lock> lock(std::string_view space, uint64_t slot) override;
  std::unique_ptr<Lock> try_lock(std::string_view space, uint64_t slot) override;
  std::string describe(std::string_view key) const override;

 private:
  class HeldLock;
  using LockId = std::pair<std::string, uint64_t>;

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Bytes>, std::less<>> values_;

  std::mutex lock_mutex_;
  std::condition_variable lock_released_;
  std::set<LockId> held_locks_;
};

}  // namespace lcstore
