#include "lcstore/storage/memory_store.h"

#include <algorithm>

#include "lcstore/error.h"
#include "storage/keys.h"

namespace lcstore {

namespace {

class SharedValueReader final : public ValueReader {
 public:
  SharedValueReader(std::string key, std::shared_ptr<const Bytes> value)
      : key_(std::move(key)), value_(std::move(value)) {}
  uint64_t size() const override { return value_->size(); }
  Bytes read(uint64_t offset, uint64_t length) const override {
    if (offset > value_->size() || length > value_->size() - offset) {
      throw Error(ErrorKind::kCorruptData, "memory:" + key_, "byte range is beyond the end of the value");
    }
    auto begin = value_->begin() + static_cast<std::ptrdiff_t>(offset);
    return Bytes(begin, begin + static_cast<std::ptrdiff_t>(length));
  }

 private:
  std::string key_;
  std::shared_ptr<const Bytes> value_;
};

}  // namespace

class MemoryStore::HeldLock final : public Lock {
 public:
  HeldLock(MemoryStore& store, LockId id) : store_(store), id_(std::move(id)) {}
  ~HeldLock() override {
    {
      std::lock_guard guard(store_.lock_mutex_);
      store_.held_locks_.erase(id_);
    }
    store_.lock_released_.notify_all();
  }

 private:
  MemoryStore& store_;
  LockId id_;
};

std::unique_ptr<ValueReader> MemoryStore::open(std::string_view key) const {
  validate_key(key);
  std::lock_guard guard(mutex_);
  auto it = values_.find(key);
  if (it == values_.end()) return nullptr;
  return std::make_unique<SharedValueReader>(std::string(key), it->second);
}

void MemoryStore::set(std::string_view key, ByteView value) {
  validate_key(key);
  auto stored = std::make_shared<const Bytes>(value.begin(), value.end());
  std::lock_guard guard(mutex_);
  values_.insert_or_assign(std::string(key), std::move(stored));
}

void MemoryStore::erase(std::string_view key) {
  validate_key(key);
  std::lock_guard guard(mutex_);
  if (auto it = values_.find(key); it != values_.end()) values_.erase(it);
}

std::vector<std::string> MemoryStore::list(std::string_view prefix) const {
  std::lock_guard guard(mutex_);
  std::vector<std::string> keys;
  for (auto it = values_.lower_bound(prefix); it != values_.end() && it->first.starts_with(prefix); ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

std::vector<std::string> MemoryStore::list_dir(std::string_view prefix) const {
  std::vector<std::string> names;
  for (const std::string& key : list(prefix)) {
    std::string name = key.substr(prefix.size(), key.find('/', prefix.size()) - prefix.size());
    if (names.empty() || names.back() != name) names.push_back(std::move(name));
  }
  // Keys sort by their full text, so "a-b" (from "a-b/...") comes before "a"
  // (from "a/..."): the names need their own sort.
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::unique_ptr<Lock> MemoryStore::lock(std::string_view space, uint64_t slot) {
  if (!space.empty()) validate_key(space);  // as a directory store does
  LockId id{std::string(space), slot};
  std::unique_lock guard(lock_mutex_);
  lock_released_.wait(guard, [&] { return !held_locks_.contains(id); });
  held_locks_.insert(id);
  return std::make_unique<HeldLock>(*this, std::move(id));
}

std::unique_ptr<Lock> MemoryStore::try_lock(std::string_view space, uint64_t slot) {
  if (!space.empty()) validate_key(space);
  LockId id{std::string(space), slot};
  std::lock_guard guard(lock_mutex_);
  if (!held_locks_.insert(id).second) return nullptr;
  return std::make_unique<HeldLock>(*this, std::move(id));
}

std::string MemoryStore::describe(std::string_view key) const { return "memory:" + std::string(key); }

}  // namespace lcstore
