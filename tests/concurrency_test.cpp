// Concurrent writers in threads of one process: no write pattern loses a
// cell, overlapping writes never mix, transactions are serialisable and
// readers never see a torn chunk.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "concurrency_support.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/group.h"
#include "test_support.h"
#include "zarr/chunk_session.h"

namespace lcstore::testing {
namespace {

using zarr::Array;

const int kRepetitions = stress_repetitions(200);

template <typename Work>
void run_threads(int count, Work&& work) {
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) threads.emplace_back([&work, i] { work(i); });
  for (auto& thread : threads) thread.join();
}

class ThreadWriters : public ::testing::TestWithParam<Pattern> {};

TEST_P(ThreadWriters, DisjointObjectsSharingChunksLoseNothing) {
  const Scenario scenario;
  uint64_t lost = 0;
  for (int repetition = 0; repetition < kRepetitions; ++repetition) {
    TempDir directory;
    auto store = std::make_shared<DirectoryStore>(directory.path());
    Array array = Array::create(store, "", scenario_metadata(scenario));
    run_threads(scenario.writers, [&](int writer) { run_writer(array, GetParam(), writer, scenario); });
    lost += count_wrong_cells(Array::open(store, ""), scenario);
  }
  EXPECT_EQ(lost, 0u) << "cells lost over " << kRepetitions << " repetitions";
}

INSTANTIATE_TEST_SUITE_P(Patterns, ThreadWriters,
                         ::testing::Values(Pattern::kScatter, Pattern::kRegionTransaction, Pattern::kMaskedSlab),
                         [](const auto& test) { return std::string(name_of(test.param)); });

// Control: the same writers on a store whose locks are disabled reproduce the
// original's lost updates, which shows that the checks above detect them.
// Each writer opens the array itself, as writers in other processes do:
// writers through one Array object change a chunk that one of them has open
// in memory (zarr/chunk_session.h), which alone keeps them from losing cells
// (next test).
TEST(ThreadWriters, WithoutLocksTheSameWritersLoseCells) {
  const Scenario scenario;
  uint64_t lost = 0;
  for (int repetition = 0; repetition < kRepetitions && lost == 0; ++repetition) {
    TempDir directory;
    auto store = std::make_shared<DirectoryStore>(directory.path(), Durability::kNone, Locking::kDisabled);
    Array array = Array::create(store, "", scenario_metadata(scenario));
    run_threads(scenario.writers, [&](int writer) {
      Array own = Array::open(store, "");
      run_writer(own, Pattern::kScatter, writer, scenario);
    });
    lost += count_wrong_cells(array, scenario);
  }
  EXPECT_GT(lost, 0u);
}

// Writers through one Array object share the chunks they have open in this
// process: even with the store's locks disabled none is lost, where the
// control above loses some.
TEST(ThreadWriters, WritersOfOneArrayCombineChangesWithoutLocks) {
  const Scenario scenario;
  uint64_t lost = 0;
  for (int repetition = 0; repetition < kRepetitions; ++repetition) {
    TempDir directory;
    auto store = std::make_shared<DirectoryStore>(directory.path(), Durability::kNone, Locking::kDisabled);
    Array array = Array::create(store, "", scenario_metadata(scenario));
    run_threads(scenario.writers, [&](int writer) { run_writer(array, Pattern::kScatter, writer, scenario); });
    lost += count_wrong_cells(array, scenario);
  }
  EXPECT_EQ(lost, 0u) << "cells lost over " << kRepetitions << " repetitions";
}

TEST(ThreadWriters, BatchedCommitsLoseNothing) {
  const Scenario scenario;
  for (int repetition = 0; repetition < kRepetitions; ++repetition) {
    TempDir directory;
    auto store = std::make_shared<DirectoryStore>(directory.path());
    Array array = Array::create(store, "", scenario_metadata(scenario));
    run_threads(scenario.writers, [&](int writer) {
      Array::Batch batch(array);
      const std::vector<uint64_t> objects = objects_of(writer, scenario);
      for (uint64_t epoch = 0; epoch < scenario.shape[3]; ++epoch) {
        for (uint64_t object : objects) {
          std::vector<float> values;
          for (uint64_t m = 0; m < scenario.shape[1]; ++m) {
            for (uint64_t v = 0; v < scenario.shape[2]; ++v) values.push_back(cell_value(object, m, v, epoch));
          }
          batch.write<float>({zarr::DimSelection::range(object, object + 1), zarr::DimSelection::all(scenario.shape[1]),
                              zarr::DimSelection::all(scenario.shape[2]), zarr::DimSelection::range(epoch, epoch + 1)},
                             values);
        }
      }
      EXPECT_EQ(batch.commit(), scenario.shape[3]) << "one read-modify-write per touched chunk";
    });
    ASSERT_EQ(count_wrong_cells(array, scenario), 0u) << "repetition " << repetition;
  }
}

// ChunkSession on its own, with chunks of four int32 in a fake store that
// records every store: who reads, changes and stores what, and when.
class FakeChunks {
 public:
  // The fake store holds one array: its sessions share this registry.
  std::shared_ptr<zarr::ChunkRegistry> registry = zarr::make_chunk_registry();

  zarr::ChunkAccess access(const std::string& key) {
    return {key, [] { return std::make_unique<Lock>(); },
            [this, key](bool) {
              std::lock_guard guard(mutex_);
              ++loads_;
              auto found = stored_.find(key);
              zarr::Chunk chunk{zarr::DataType::kInt32, {4}, Bytes(16, std::byte{0}), {}};
              if (found != stored_.end()) std::memcpy(chunk.data.data(), found->second.data(), 16);
              return chunk;
            },
            [this, key](zarr::Chunk chunk) {
              std::lock_guard guard(mutex_);
              if (fail_stores_) throw std::runtime_error("disk full");
              std::array<int32_t, 4> values;
              std::memcpy(values.data(), chunk.data.data(), 16);
              stored_[key] = values;
              ++stores_;
              ++stores_of_[key];
            }};
  }
  // Sets element `index` of the chunk to `value`.
  static std::function<void(zarr::Chunk&)> set(size_t index, int32_t value) {
    return [=](zarr::Chunk& chunk) { std::memcpy(chunk.data.data() + index * 4, &value, 4); };
  }
  std::array<int32_t, 4> stored(const std::string& key) {
    std::lock_guard guard(mutex_);
    return stored_.at(key);
  }
  int stores() {
    std::lock_guard guard(mutex_);
    return stores_;
  }
  int stores(const std::string& key) {
    std::lock_guard guard(mutex_);
    return stores_of_[key];
  }
  int loads() {
    std::lock_guard guard(mutex_);
    return loads_;
  }
  void fail_stores() { fail_stores_ = true; }

 private:
  std::mutex mutex_;
  std::map<std::string, std::array<int32_t, 4>> stored_;
  std::map<std::string, int> stores_of_;
  int stores_ = 0, loads_ = 0;
  std::atomic<bool> fail_stores_ = false;
};

constexpr uint64_t kLargeBudget = 1 << 20;

// Session A holds chunk "k" open; session B, on another thread, changes it
// too, and commits when b_commits() is called.
struct TwoSessions {
  FakeChunks chunks;
  zarr::ChunkSession a{chunks.registry, kLargeBudget};
  std::atomic<bool> b_changed = false, b_may_commit = false;
  std::string b_error;
  std::thread b;

  explicit TwoSessions(const std::function<void(zarr::Chunk&)>& b_change) {
    a.change("k", false, FakeChunks::set(0, 1), chunks.access("k"));
    b = std::thread([this, b_change] {
      zarr::ChunkSession session(chunks.registry, kLargeBudget);
      try {
        session.change("k", false, b_change, chunks.access("k"));
      } catch (const std::exception& error) {
        b_error = error.what();
      }
      b_changed = true;
      while (!b_may_commit) std::this_thread::yield();
      try {
        session.commit();
      } catch (const std::exception& error) {
        b_error = error.what();
      }
    });
    while (!b_changed) std::this_thread::yield();
  }
  void b_commits() {
    b_may_commit = true;
    b.join();
  }
  ~TwoSessions() {
    b_may_commit = true;
    if (b.joinable()) b.join();
  }
};

TEST(ChunkSessions, AChunkHeldOpenIsChangedInMemoryAndStoredOnceForAll) {
  TwoSessions sessions(FakeChunks::set(1, 2));
  EXPECT_EQ(sessions.chunks.stores(), 0) << "held open until a session commits";
  // B's commit stores the chunk A opened and had not begun to store.
  sessions.b_commits();
  EXPECT_EQ(sessions.b_error, "");
  EXPECT_EQ(sessions.chunks.stores(), 1);
  EXPECT_EQ(sessions.chunks.stored("k"), (std::array<int32_t, 4>{1, 2, 0, 0}));
  sessions.a.commit();
  EXPECT_EQ(sessions.chunks.loads(), 1);
  EXPECT_EQ(sessions.chunks.stores(), 1) << "stored once for both";
}

TEST(ChunkSessions, ACommitWaitsWhileAnotherSessionStoresAChunkWithItsChanges) {
  FakeChunks chunks;
  std::atomic<bool> storing = false, release = false;
  zarr::ChunkAccess slow = chunks.access("k");
  slow.store = [&, store = slow.store](zarr::Chunk chunk) {
    storing = true;
    while (!release) std::this_thread::yield();
    store(std::move(chunk));
  };
  zarr::ChunkSession a(chunks.registry, kLargeBudget);
  a.change("k", false, FakeChunks::set(0, 1), slow);
  std::atomic<bool> b_changed = false, b_committed = false;
  std::thread b([&] {
    zarr::ChunkSession session(chunks.registry, kLargeBudget);
    session.change("k", false, FakeChunks::set(1, 2), chunks.access("k"));
    b_changed = true;
    while (!storing) std::this_thread::yield();
    session.commit();
    b_committed = true;
  });
  while (!b_changed) std::this_thread::yield();
  std::thread a_commits([&] { a.commit(); });
  while (!storing) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(b_committed) << "B's changes are not stored yet";
  release = true;
  a_commits.join();
  b.join();
  EXPECT_TRUE(b_committed);
  EXPECT_EQ(chunks.stores(), 1);
  EXPECT_EQ(chunks.stored("k"), (std::array<int32_t, 4>{1, 2, 0, 0}));
}

TEST(ChunkSessions, AChangeThatThrowsFailsAloneAndChangesNothing) {
  TwoSessions sessions([](zarr::Chunk&) { throw std::runtime_error("bad change"); });
  EXPECT_EQ(sessions.b_error, "bad change");
  sessions.b_commits();
  EXPECT_EQ(sessions.chunks.stores(), 0) << "B changed nothing, so its commit stores nothing";
  sessions.a.commit();
  EXPECT_EQ(sessions.chunks.stored("k"), (std::array<int32_t, 4>{1, 0, 0, 0}));
}

TEST(ChunkSessions, AFailedStoreFailsEveryWriterOfTheChunk) {
  TwoSessions sessions(FakeChunks::set(1, 2));
  sessions.chunks.fail_stores();
  sessions.b_commits();
  // B stored A's chunk and failed: an Error naming the chunk.
  EXPECT_EQ(sessions.b_error, "k: disk full");
  // A's change was in it too.
  EXPECT_THROW(sessions.a.commit(), Error);
}

TEST(ChunkSessions, AChunkHeldOpenByAnotherSessionOfTheSameThreadIsRefused) {
  FakeChunks chunks;
  zarr::ChunkSession first(chunks.registry, kLargeBudget), second(chunks.registry, kLargeBudget);
  first.change("k", false, FakeChunks::set(0, 1), chunks.access("k"));
  // Else the second session's commit would wait for the first's forever.
  EXPECT_LCSTORE_ERROR(second.change("k", false, FakeChunks::set(1, 2), chunks.access("k")), kInvalidArgument);
  first.commit();
  second.change("k", false, FakeChunks::set(1, 2), chunks.access("k"));
  second.commit();
  EXPECT_EQ(chunks.stored("k"), (std::array<int32_t, 4>{1, 2, 0, 0}));
}

TEST(ChunkSessions, AChunkStoredMeanwhileIsReadAgain) {
  FakeChunks chunks;
  zarr::ChunkSession first(chunks.registry, kLargeBudget), second(chunks.registry, kLargeBudget);
  first.change("k", false, FakeChunks::set(0, 1), chunks.access("k"));
  first.commit();
  second.change("k", false, FakeChunks::set(3, 4), chunks.access("k"));
  second.commit();
  EXPECT_EQ(chunks.loads(), 2);
  EXPECT_EQ(chunks.stores(), 2);
  EXPECT_EQ(chunks.stored("k"), (std::array<int32_t, 4>{1, 0, 0, 4}));
}

TEST(ChunkSessions, ChunksBeyondTheBudgetAreStoredOldestFirst) {
  FakeChunks chunks;
  zarr::ChunkSession unbuffered(chunks.registry, 0);
  unbuffered.change("a", false, FakeChunks::set(0, 1), chunks.access("a"));
  EXPECT_EQ(chunks.stores(), 1) << "a budget of 0 stores each chunk at once";
  zarr::ChunkSession two_chunks(chunks.registry, 32);  // a chunk is 16 bytes
  for (const char* key : {"b", "c", "d"}) two_chunks.change(key, false, FakeChunks::set(0, 1), chunks.access(key));
  EXPECT_EQ(chunks.stores(), 2) << "the third chunk pushed the first out";
  EXPECT_NO_THROW(chunks.stored("b"));
  {
    zarr::ChunkSession abandoned(chunks.registry, kLargeBudget);
    abandoned.change("e", false, FakeChunks::set(0, 5), chunks.access("e"));
  }
  EXPECT_EQ(chunks.stored("e")[0], 5) << "destroying a session stores what it held";
  two_chunks.commit();
  EXPECT_EQ(chunks.stores(), 5);
}

std::string trail_key(int k) { return "trail/" + std::to_string(k); }

// Session A opens 33 chunks and so stores the first; B, on another thread,
// then opens that one anew: B trails A.
struct TrailingSession {
  FakeChunks chunks;
  zarr::ChunkSession a;
  std::atomic<bool> b_reopened = false;

  explicit TrailingSession(std::chrono::milliseconds catch_up_wait) : a(chunks.registry, kLargeBudget, catch_up_wait) {}
  void a_opens_33() {
    for (int k = 0; k <= 32; ++k) a_changes(k);
  }
  void a_changes(int k) { a.change(trail_key(k), false, FakeChunks::set(0, 1), chunks.access(trail_key(k))); }
  void b_changes(zarr::ChunkSession& b, int k) {
    b.change(trail_key(k), false, FakeChunks::set(1, 2), chunks.access(trail_key(k)));
  }
};

TEST(ChunkSessions, ASessionThatAnotherTrailsWaitsForItToCatchUp) {
  constexpr int kChunks = 40;
  TrailingSession sessions(std::chrono::minutes(1));
  sessions.a_opens_33();
  ASSERT_EQ(sessions.chunks.stores(trail_key(0)), 1) << "over its 32 chunks, A stored its first";
  std::thread b([&] {
    zarr::ChunkSession session(sessions.chunks.registry, kLargeBudget);
    sessions.b_changes(session, 0);
    sessions.b_reopened = true;
    // A would meanwhile store every chunk it holds, were it not to wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int k = 1; k < kChunks; ++k) sessions.b_changes(session, k);
    session.commit();
  });
  while (!sessions.b_reopened) std::this_thread::yield();
  for (int k = 33; k < kChunks; ++k) sessions.a_changes(k);
  sessions.a.commit();
  b.join();
  EXPECT_EQ(sessions.chunks.stores(trail_key(0)), 2);
  EXPECT_EQ(sessions.chunks.stores(trail_key(1)), 1) << "A stored its oldest chunk only once B had changed it too";
  for (int k = 0; k < kChunks; ++k) {
    EXPECT_EQ(sessions.chunks.stored(trail_key(k)), (std::array<int32_t, 4>{1, 2, 0, 0})) << trail_key(k);
  }
}

// The trailed thread has committed the session that B trails and begun another
// (as a populate of the next epoch does): that one waits for B.
TEST(ChunkSessions, TheNextSessionOfATrailedThreadWaitsToo) {
  FakeChunks chunks;
  auto key = [](const char* epoch, int k) { return std::string(epoch) + "/" + std::to_string(k); };
  auto change = [&](zarr::ChunkSession& session, const std::string& chunk_key, size_t index, int32_t value) {
    session.change(chunk_key, false, FakeChunks::set(index, value), chunks.access(chunk_key));
  };
  zarr::ChunkSession first(chunks.registry, kLargeBudget);
  for (int k = 0; k <= 32; ++k) change(first, key("e0", k), 0, 1);
  first.commit();
  zarr::ChunkSession next(chunks.registry, kLargeBudget, std::chrono::minutes(1));
  for (int k = 0; k <= 32; ++k) change(next, key("e1", k), 0, 1);
  std::atomic<bool> b_reopened = false;
  std::thread b([&] {
    zarr::ChunkSession session(chunks.registry, kLargeBudget);
    change(session, key("e0", 0), 1, 2);
    b_reopened = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int k = 1; k <= 33; ++k) change(session, key("e1", k), 1, 2);
    session.commit();
  });
  while (!b_reopened) std::this_thread::yield();
  change(next, key("e1", 33), 0, 1);
  next.commit();
  b.join();
  EXPECT_EQ(chunks.stores(key("e1", 1)), 1) << "the next session stored its oldest chunk once B had changed it too";
  EXPECT_EQ(chunks.stored(key("e1", 1)), (std::array<int32_t, 4>{1, 2, 0, 0}));
}

TEST(ChunkSessions, ATrailedSessionGoesOnWhenTheOtherDoesNotCatchUp) {
  TrailingSession sessions(std::chrono::milliseconds(100));
  std::atomic<bool> a_stored_first = false;
  auto a = std::async(std::launch::async, [&] {
    sessions.a_opens_33();
    a_stored_first = true;
    while (!sessions.b_reopened) std::this_thread::yield();
    for (int k = 33; k < 40; ++k) sessions.a_changes(k);  // B does not come
    sessions.a.commit();
  });
  while (!a_stored_first) std::this_thread::yield();
  zarr::ChunkSession b(sessions.chunks.registry, kLargeBudget);
  sessions.b_changes(b, 0);
  sessions.b_reopened = true;
  const bool went_on = a.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  if (!went_on) sessions.b_changes(b, 20);  // B catches up: that ends A's wait in any case
  a.get();
  b.commit();
  EXPECT_TRUE(went_on) << "A waited longer than its catch-up wait";
  EXPECT_EQ(sessions.chunks.stored(trail_key(39)), (std::array<int32_t, 4>{1, 0, 0, 0}));
}

TEST(ChunkSessions, ASessionOfTheSameThreadTrailsNone) {
  auto one_thread = std::async(std::launch::async, [] {
    TrailingSession sessions(std::chrono::minutes(1));
    sessions.a_opens_33();
    zarr::ChunkSession b(sessions.chunks.registry, kLargeBudget);
    sessions.b_changes(b, 0);
    sessions.a_changes(33);  // B could not catch up while A waited
    sessions.a.commit();
    b.commit();
    return sessions.chunks.stored(trail_key(0));
  });
  ASSERT_EQ(one_thread.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "A waited for B";
  EXPECT_EQ(one_thread.get(), (std::array<int32_t, 4>{1, 2, 0, 0}));
}

// Every writer writes the whole array with its own value: each chunk must end
// holding one writer's value throughout.
TEST(ThreadWriters, OverlappingWritesNeverMixWithinAChunk) {
  const Scenario scenario{.shape = {64, 4, 2, 6}, .chunks = {16, 4, 2, 1}};
  for (int repetition = 0; repetition < 50; ++repetition) {
    TempDir directory;
    auto store = std::make_shared<DirectoryStore>(directory.path());
    Array array = Array::create(store, "", scenario_metadata(scenario));
    const uint64_t cells = zarr::element_count(scenario.shape);
    run_threads(scenario.writers, [&](int writer) {
      std::vector<float> values(cells, static_cast<float>(writer + 1));
      for (int round = 0; round < 3; ++round) array.write<float>(zarr::select_all(scenario.shape), values);
    });
    for (uint64_t chunk_start = 0; chunk_start < scenario.shape[0]; chunk_start += scenario.chunks[0]) {
      for (uint64_t epoch = 0; epoch < scenario.shape[3]; ++epoch) {
        std::vector<float> chunk = array.read<float>(
            {zarr::DimSelection::range(chunk_start, chunk_start + scenario.chunks[0]), zarr::DimSelection::all(4),
             zarr::DimSelection::all(2), zarr::DimSelection::range(epoch, epoch + 1)});
        ASSERT_GE(chunk[0], 1.0f);
        ASSERT_LE(chunk[0], static_cast<float>(scenario.writers));
        for (float value : chunk) ASSERT_EQ(value, chunk[0]) << "a chunk mixes two writers' values";
      }
    }
  }
}

TEST(ThreadWriters, RegionTransactionCounterIsExact) {
  TempDir directory;
  auto store = std::make_shared<DirectoryStore>(directory.path());
  Array counter = Array::create(store, "counter", counter_metadata());
  constexpr int kWriters = 4, kIncrements = 250;
  run_threads(kWriters, [&](int) {
    for (int i = 0; i < kIncrements; ++i) {
      counter.update(zarr::select_all({1}),
                     [](std::span<std::byte> cell) { ++*reinterpret_cast<int64_t*>(cell.data()); });
    }
  });
  EXPECT_EQ(counter.read<int64_t>(zarr::select_all({1}))[0], kWriters * kIncrements);
}

TEST(ThreadWriters, ReaderNeverSeesATornChunk) {
  const Scenario scenario;
  TempDir directory;
  auto store = std::make_shared<DirectoryStore>(directory.path());
  Array array = Array::create(store, "", scenario_metadata(scenario));
  std::atomic<bool> writing{true};
  std::atomic<uint64_t> reads{0}, bad_cells{0};
  std::thread reader([&] {
    while (writing.load()) {
      // A torn chunk would fail to decode (zstd) and throw, failing the test.
      std::vector<float> all = array.read<float>(zarr::select_all(scenario.shape));
      uint64_t i = 0;
      for (uint64_t o = 0; o < scenario.shape[0]; ++o)
        for (uint64_t m = 0; m < scenario.shape[1]; ++m)
          for (uint64_t v = 0; v < scenario.shape[2]; ++v)
            for (uint64_t e = 0; e < scenario.shape[3]; ++e, ++i)
              if (!std::isnan(all[i]) && all[i] != cell_value(o, m, v, e)) ++bad_cells;
      ++reads;
    }
  });
  for (int repetition = 0; repetition < 20; ++repetition) {
    run_threads(scenario.writers,
                [&](int writer) { run_writer(array, static_cast<Pattern>(repetition % 3), writer, scenario); });
  }
  writing = false;
  reader.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(bad_cells.load(), 0u);
  EXPECT_EQ(count_wrong_cells(array, scenario), 0u);
}

// Metadata transactions from several threads and processes' worth of
// writers: no increment of the attribute counter is lost, and consolidating
// in between never drops an edit.
TEST(ThreadWriters, AttributeTransactionsAreSerialized) {
  TempDir directory;
  auto store = std::make_shared<DirectoryStore>(directory.path());
  zarr::Group::create(store, "", {{"counter", 0}});
  Array::create(store, "values", scenario_metadata(Scenario{}));
  constexpr int kWriters = 4, kIncrements = 50;
  run_threads(kWriters, [&](int writer) {
    zarr::Group group = zarr::Group::open(store, "");
    for (int i = 0; i < kIncrements; ++i) {
      group.update_attributes(
          [](nlohmann::json& attributes) { attributes["counter"] = attributes["counter"].get<int>() + 1; });
      if (writer == 0 && i % 10 == 0) group.consolidate();
    }
  });
  zarr::Group group = zarr::Group::open(store, "");
  EXPECT_EQ(group.attributes()["counter"], kWriters * kIncrements);
  EXPECT_EQ(group.metadata().consolidated, zarr::GroupMetadata::Consolidated::kInline);
  EXPECT_TRUE(group.metadata().consolidated_nodes.contains("values"));
}

}  // namespace
}  // namespace lcstore::testing
