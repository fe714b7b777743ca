// The storage layer: the Store contract on both implementations (typed
// tests), then what only the directory store has (files, leftovers).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/storage/memory_store.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct MemoryKind {
  static constexpr StoreKind kKind = StoreKind::kMemory;
};
struct DirectoryKind {
  static constexpr StoreKind kKind = StoreKind::kDirectory;
};

template <typename Kind>
class StoreTest : public ::testing::Test {
 protected:
  Store& store() { return *scratch_.store(); }
  void set(std::string_view key, std::string_view value) { store().set(key, to_bytes(value)); }
  std::optional<std::string> get(std::string_view key) {
    auto value = store().get(key);
    if (!value) return std::nullopt;
    return to_text(*value);
  }
  // Files a directory store's own machinery leaves next to the keys: temporary
  // files of interrupted writers, lock files. Nothing for a memory store.
  void plant_internal_files() {
    store().lock("", 1);
    store().lock("a", 2);
    if (const fs::path* root = scratch_.directory()) {
      write_file(*root / ".x.lcstore-tmp.1.2", "partial");
      write_file(*root / "a" / ".zarr.json.lcstore-tmp.77.3", "partial");
    }
  }

  ScratchStore scratch_{Kind::kKind};
};

class KindNames {
 public:
  template <typename Kind>
  static std::string GetName(int) {
    return name_of(Kind::kKind);
  }
};

using StoreKinds = ::testing::Types<MemoryKind, DirectoryKind>;
TYPED_TEST_SUITE(StoreTest, StoreKinds, KindNames);

// Polls `flag` for up to `limit`.
bool wait_for_flag(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TYPED_TEST(StoreTest, MissingKeyIsAbsent) {
  EXPECT_EQ(this->store().get("nothing/here"), std::nullopt);
  EXPECT_EQ(this->store().open("nothing"), nullptr);
}

TYPED_TEST(StoreTest, SetThenGetReturnsTheExactBytes) {
  std::string binary("\0\x01\xff zarr \n\0", 11);
  this->set("a/b/c", binary);
  this->set("empty", "");
  this->set("top", "x");
  EXPECT_EQ(this->get("a/b/c"), binary);
  EXPECT_EQ(this->get("empty"), "");
  EXPECT_EQ(this->get("top"), "x");
  EXPECT_EQ(this->get("a/b"), std::nullopt) << "a prefix of a key is not a key";
}

TYPED_TEST(StoreTest, PartialReads) {
  this->set("k", "0123456789");
  auto reader = this->store().open("k");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->size(), 10u);
  EXPECT_EQ(to_text(reader->read(0, 10)), "0123456789");
  EXPECT_EQ(to_text(reader->read(3, 4)), "3456");
  EXPECT_EQ(to_text(reader->read(9, 1)), "9");
  EXPECT_EQ(to_text(reader->read(10, 0)), "");
  EXPECT_EQ(to_text(reader->read_all()), "0123456789");
  // Out of range, including offsets and lengths whose sum overflows.
  EXPECT_LCSTORE_ERROR(reader->read(9, 2), kCorruptData);
  EXPECT_LCSTORE_ERROR(reader->read(11, 0), kCorruptData);
  EXPECT_LCSTORE_ERROR(reader->read(0, 11), kCorruptData);
  EXPECT_LCSTORE_ERROR(reader->read(std::numeric_limits<uint64_t>::max(), 2), kCorruptData);
  EXPECT_LCSTORE_ERROR(reader->read(2, std::numeric_limits<uint64_t>::max()), kCorruptData);
  // Into the caller's memory, with the same ranges and the same errors.
  std::string into(4, '-');
  reader->read_into(3, std::as_writable_bytes(std::span(into)));
  EXPECT_EQ(into, "3456");
  reader->read_into(6, std::as_writable_bytes(std::span(into)));
  EXPECT_EQ(into, "6789");
  EXPECT_LCSTORE_ERROR(reader->read_into(7, std::as_writable_bytes(std::span(into))), kCorruptData);
  EXPECT_LCSTORE_ERROR(reader->read_into(std::numeric_limits<uint64_t>::max(), std::as_writable_bytes(std::span(into))),
                       kCorruptData);
}

TYPED_TEST(StoreTest, SetReplacesTheValue) {
  this->set("k", "a long first value");
  this->set("k", "short");
  EXPECT_EQ(this->get("k"), "short");
  EXPECT_EQ(this->store().list(""), std::vector<std::string>{"k"});
}

// A reader racing a writer that alternates two values of different sizes sees
// one of them whole every time, never a mix or a missing key.
TYPED_TEST(StoreTest, ConcurrentReadersSeeOnlyWholeValues) {
  const Bytes small(1000, std::byte{'s'});
  const Bytes large(256 * 1024, std::byte{'L'});
  this->store().set("k", small);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      auto value = this->store().get("k");
      if (!value || (*value != small && *value != large)) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 200; ++i) this->store().set("k", i % 2 == 0 ? large : small);
  // Let the reader finish at least a few reads even on a fast writer.
  while (reads.load() < 5) std::this_thread::yield();
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
}

TYPED_TEST(StoreTest, EraseRemovesAndMissingIsFine) {
  this->set("a/b", "1");
  this->set("a/c", "2");
  this->store().erase("a/b");
  EXPECT_EQ(this->get("a/b"), std::nullopt);
  EXPECT_EQ(this->get("a/c"), "2");
  EXPECT_NO_THROW(this->store().erase("a/b"));
  EXPECT_NO_THROW(this->store().erase("never/existed/at/all"));
  EXPECT_EQ(this->store().list(""), std::vector<std::string>{"a/c"});
}

TYPED_TEST(StoreTest, ListReturnsKeysWithThePrefixSorted) {
  // Inserted out of order, with names that sort around "/" ('-' < '.' < '/' < '0').
  for (const char* key : {"b", "a/c/d", "a0", "a-b", "a/b", "a.b", "ab/x", "zarr.json"}) this->set(key, key);
  EXPECT_EQ(this->store().list(""),
            (std::vector<std::string>{"a-b", "a.b", "a/b", "a/c/d", "a0", "ab/x", "b", "zarr.json"}));
  EXPECT_EQ(this->store().list("a/"), (std::vector<std::string>{"a/b", "a/c/d"}));
  EXPECT_EQ(this->store().list("a"), (std::vector<std::string>{"a-b", "a.b", "a/b", "a/c/d", "a0", "ab/x"}));
  EXPECT_EQ(this->store().list("a/c/"), std::vector<std::string>{"a/c/d"});
  EXPECT_TRUE(this->store().list("q").empty());
}

TYPED_TEST(StoreTest, ListDirReturnsDirectChildrenSorted) {
  for (const char* key : {"zarr.json", "sub/zarr.json", "sub/c/0", "sub/c/1", "sub-2/zarr.json", "sub.x", "b"}) {
    this->set(key, key);
  }
  EXPECT_EQ(this->store().list_dir(""), (std::vector<std::string>{"b", "sub", "sub-2", "sub.x", "zarr.json"}));
  EXPECT_EQ(this->store().list_dir("sub/"), (std::vector<std::string>{"c", "zarr.json"}));
  EXPECT_EQ(this->store().list_dir("sub/c/"), (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(this->store().list_dir("missing/").empty());
}

TYPED_TEST(StoreTest, InternalFilesAreNeverListed) {
  this->set("zarr.json", "{}");
  this->set("a/zarr.json", "{}");
  this->set("a/c/0", "chunk");
  this->plant_internal_files();
  EXPECT_EQ(this->store().list(""), (std::vector<std::string>{"a/c/0", "a/zarr.json", "zarr.json"}));
  EXPECT_EQ(this->store().list("a/"), (std::vector<std::string>{"a/c/0", "a/zarr.json"}));
  EXPECT_EQ(this->store().list_dir(""), (std::vector<std::string>{"a", "zarr.json"}));
  EXPECT_EQ(this->store().list_dir("a/"), (std::vector<std::string>{"c", "zarr.json"}));
}

TYPED_TEST(StoreTest, ValueReaderPinsItsVersion) {
  this->set("k", "version one");
  auto reader = this->store().open("k");
  ASSERT_NE(reader, nullptr);
  this->set("k", "the second version, longer");
  EXPECT_EQ(reader->size(), 11u);
  EXPECT_EQ(to_text(reader->read_all()), "version one");
  EXPECT_EQ(to_text(reader->read(8, 3)), "one");
  this->store().erase("k");
  EXPECT_EQ(to_text(reader->read(0, 7)), "version");
  EXPECT_EQ(this->get("k"), std::nullopt);
}

TYPED_TEST(StoreTest, LockExcludesASecondThread) {
  constexpr int kIterations = 1000;
  std::atomic<int> inside{0}, overlaps{0};
  // Incremented as a separate load and store, so that without mutual
  // exclusion updates get lost (atomic only to keep ThreadSanitizer quiet:
  // it cannot see file locks).
  std::atomic<int> counter{0};
  auto work = [&] {
    for (int i = 0; i < kIterations; ++i) {
      auto held = this->store().lock("space", 7);
      if (inside.fetch_add(1) != 0) ++overlaps;
      const int seen = counter.load(std::memory_order_relaxed);
      if (i % 16 == 0) std::this_thread::yield();
      counter.store(seen + 1, std::memory_order_relaxed);
      inside.fetch_sub(1);
    }
  };
  std::thread first(work), second(work);
  first.join();
  second.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(counter.load(), 2 * kIterations);
}

TYPED_TEST(StoreTest, LockBlocksUntilReleasedAndOnlyItsOwnSlot) {
  auto held = this->store().lock("space", 3);

  // Another slot of the space, or the same slot of another space, is free.
  std::atomic<bool> others_taken{false};
  std::thread others([&] {
    auto a = this->store().lock("space", 4);
    auto b = this->store().lock("other", 3);
    auto c = this->store().lock("", 3);
    others_taken = true;
  });
  const bool others_free = wait_for_flag(others_taken, 10s);

  std::atomic<bool> taken{false};
  std::thread waiter([&] {
    auto same = this->store().lock("space", 3);
    taken = true;
  });
  std::this_thread::sleep_for(100ms);
  const bool taken_while_held = taken.load();
  held.reset();
  const bool taken_after_release = wait_for_flag(taken, 10s);
  waiter.join();
  others.join();

  EXPECT_TRUE(others_free) << "a different slot or space waited for the held lock";
  EXPECT_FALSE(taken_while_held) << "the same (space, slot) was taken twice";
  EXPECT_TRUE(taken_after_release);
}

TYPED_TEST(StoreTest, TryLockFailsAtOnceWhileAnotherHoldsTheLock) {
  auto held = this->store().lock("space", 5);
  EXPECT_EQ(this->store().try_lock("space", 5), nullptr);
  std::unique_ptr<Lock> from_thread;
  std::thread([&] { from_thread = this->store().try_lock("space", 5); }).join();
  EXPECT_EQ(from_thread, nullptr);
  EXPECT_NE(this->store().try_lock("space", 6), nullptr);
  held.reset();
  auto taken = this->store().try_lock("space", 5);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(this->store().try_lock("space", 5), nullptr) << "try_lock took a lock it holds";
}

TYPED_TEST(StoreTest, InvalidKeysAreRejected) {
  const Bytes value = to_bytes("v");
  for (const char* key : {"../x", "/abs", "a//b", "", "a/", "./a", "a/./b", "a/../b", ".."}) {
    SCOPED_TRACE(std::string("key \"") + key + "\"");
    EXPECT_LCSTORE_ERROR(this->store().set(key, value), kInvalidArgument);
    EXPECT_LCSTORE_ERROR(this->store().get(key), kInvalidArgument);
    EXPECT_LCSTORE_ERROR(this->store().open(key), kInvalidArgument);
    EXPECT_LCSTORE_ERROR(this->store().erase(key), kInvalidArgument);
  }
  for (const char* space : {"../x", "/abs", "a//b"}) {
    EXPECT_LCSTORE_ERROR(this->store().lock(space, 0), kInvalidArgument) << space;
  }
  EXPECT_TRUE(this->store().list("").empty()) << "nothing may have been written";
}

TYPED_TEST(StoreTest, DescribeNamesTheKey) {
  EXPECT_NE(this->store().describe("a/c/0").find("a/c/0"), std::string::npos) << this->store().describe("a/c/0");
}

// --- DirectoryStore only -------------------------------------------------

class DirectoryStoreTest : public ::testing::Test {
 protected:
  TempDir directory_;
  DirectoryStore store_{directory_.path()};
};

TEST_F(DirectoryStoreTest, KeysArePlainFiles) {
  store_.set("a/b/c", to_bytes("contents"));
  EXPECT_EQ(read_file(directory_.path() / "a" / "b" / "c"), "contents");
  // Files written by other tools are keys too.
  write_file(directory_.path() / "x" / "zarr.json", "{}");
  EXPECT_EQ(store_.get("x/zarr.json"), to_bytes("{}"));
  EXPECT_EQ(store_.list(""), (std::vector<std::string>{"a/b/c", "x/zarr.json"}));
  EXPECT_EQ(store_.describe("a/b/c"), (directory_.path() / "a/b/c").string());
  // A directory is not a value.
  EXPECT_EQ(store_.open("a/b"), nullptr);
  EXPECT_EQ(store_.get("a"), std::nullopt);
  store_.erase("a/b/c");
  EXPECT_FALSE(fs::exists(directory_.path() / "a" / "b" / "c"));
}

TEST_F(DirectoryStoreTest, SetLeavesNoTemporaryFiles) {
  for (int i = 0; i < 20; ++i) store_.set("a/k" + std::to_string(i % 3), to_bytes(std::string(100 * i, 'v')));
  EXPECT_TRUE(store_.find_leftovers().temporary_files.empty());
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(directory_.path())) {
    if (entry.is_regular_file()) files.push_back(entry.path().lexically_relative(directory_.path()).string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"a/k0", "a/k1", "a/k2"}));
}

// A process holding a lock is alive: try_lock fails until the kernel drops
// the lock with the process, however it died.
TEST_F(DirectoryStoreTest, TryLockTellsALiveHolderFromAKilledOne) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t holder = ::fork();
  if (holder == 0) {
    auto held = DirectoryStore(directory_.path()).lock("running", 42);
    const char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) std::_Exit(1);
    ::pause();
    std::_Exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_EQ(store_.try_lock("running", 42), nullptr);
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  EXPECT_NE(store_.try_lock("running", 42), nullptr);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_F(DirectoryStoreTest, FindsAndRemovesLeftovers) {
  store_.set("arr/zarr.json", to_bytes("{}"));
  store_.set("arr/c/0", to_bytes("chunk"));
  write_file(directory_.path() / ".x.lcstore-tmp.1.2", "interrupted");
  write_file(directory_.path() / "arr" / "c" / ".1.lcstore-tmp.4242.7", "interrupted");
  store_.lock("arr", 0);

  DirectoryStore::Leftovers found = store_.find_leftovers();
  EXPECT_EQ(found.temporary_files, (std::vector<std::string>{".x.lcstore-tmp.1.2", "arr/c/.1.lcstore-tmp.4242.7"}));
  EXPECT_EQ(found.lock_files, std::vector<std::string>{"arr/.lcstore.lock"});

  store_.remove_leftovers(found);
  EXPECT_FALSE(fs::exists(directory_.path() / ".x.lcstore-tmp.1.2"));
  EXPECT_FALSE(fs::exists(directory_.path() / "arr" / "c" / ".1.lcstore-tmp.4242.7"));
  EXPECT_FALSE(fs::exists(directory_.path() / "arr" / ".lcstore.lock"));
  DirectoryStore::Leftovers after = store_.find_leftovers();
  EXPECT_TRUE(after.temporary_files.empty());
  EXPECT_TRUE(after.lock_files.empty());
  EXPECT_EQ(store_.list(""), (std::vector<std::string>{"arr/c/0", "arr/zarr.json"}));
  EXPECT_NO_THROW(store_.remove_leftovers(found)) << "already removed files are fine";
}

TEST_F(DirectoryStoreTest, SynchronousDurabilityWorks) {
  DirectoryStore synced(directory_.path() / "synced", Durability::kSyncDataAndDirectory);
  synced.set("a/b", to_bytes("durable"));
  EXPECT_EQ(read_file(directory_.path() / "synced" / "a" / "b"), "durable");
  synced.erase("a/b");
  EXPECT_EQ(synced.get("a/b"), std::nullopt);
}

TEST_F(DirectoryStoreTest, MissingRootListsNothing) {
  DirectoryStore missing(directory_.path() / "does-not-exist");
  EXPECT_TRUE(missing.list("").empty());
  EXPECT_TRUE(missing.list_dir("").empty());
  EXPECT_EQ(missing.get("zarr.json"), std::nullopt);
}

}  // namespace
}  // namespace lcstore::testing
