// Concurrent writers in threads of one process: no write pattern loses a
// cell, overlapping writes never mix, transactions are serialisable and
// readers never see a torn chunk.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "concurrency_support.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/group.h"
#include "test_support.h"
#include "zarr/chunk_write_queue.h"

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
// writers through one Array object hand their changes of a chunk to the one
// writing it (zarr/chunk_write_queue.h), which alone keeps them from losing
// cells (next test).
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

// Writers through one Array object combine their changes of a chunk in this
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

// combine_chunk_write on its own: which writer's commit applies which
// changes, in which order, and whose error reaches whom. The "chunk" is a
// log: each change applied adds its writer's name, each commit a "|".
class Log {
 public:
  void add(const std::string& entry) {
    std::lock_guard guard(mutex_);
    entries_ += entry;
  }
  std::string entries() {
    std::lock_guard guard(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::string entries_;
};

struct Writer {
  std::string name;
  std::function<void()> while_applying = [] {};  // runs as the change is applied
  bool change_fails = false;
  std::function<void()> before_storing = [] {};  // runs in this writer's commits
  bool commit_fails = false;
};

const std::string kChunkKey = "store:array:c/0";

// Submits `writer`'s change; returns the error it got, or "".
std::string submit(Log& log, const Writer& writer) {
  const std::function<void(zarr::Chunk&)> apply = [&](zarr::Chunk&) {
    writer.while_applying();
    if (writer.change_fails) throw std::runtime_error(writer.name + " failed");
    log.add(writer.name);
  };
  zarr::ChunkChange change{false, apply};
  try {
    zarr::combine_chunk_write(kChunkKey, change, [&](bool, const zarr::ForEachChange& for_each_change) {
      zarr::Chunk chunk;
      for_each_change([&](zarr::ChunkChange& each) {
        try {
          each.apply(chunk);
        } catch (...) {
          each.error = std::current_exception();
        }
      });
      writer.before_storing();
      if (writer.commit_fails) throw std::runtime_error("commit of " + writer.name + " failed");
      log.add("|");
    });
  } catch (const std::exception& error) {
    return error.what();
  }
  return "";
}

void wait_for_waiting_writers(size_t count) {
  while (zarr::writers_waiting(kChunkKey) != count) std::this_thread::yield();
}

// Writer A is applying its change when B, then C, submit theirs. Returns
// the log and each writer's error.
std::pair<std::string, std::vector<std::string>> join_a_write(Writer a, Writer b, Writer c) {
  Log log;
  std::atomic<bool> a_applying = false;
  a.while_applying = [&] {
    a_applying = true;
    wait_for_waiting_writers(2);
  };
  std::vector<std::string> errors(3);
  std::thread first([&] { errors[0] = submit(log, a); });
  while (!a_applying) std::this_thread::yield();
  std::thread second([&] { errors[1] = submit(log, b); });
  wait_for_waiting_writers(1);
  std::thread third([&] { errors[2] = submit(log, c); });
  for (std::thread* thread : {&first, &second, &third}) thread->join();
  EXPECT_EQ(zarr::writers_waiting(kChunkKey), 0u);
  return {log.entries(), errors};
}

TEST(CombinedChunkWrites, ChangesArrivingDuringAWriteAreStoredWithIt) {
  const auto [log, errors] = join_a_write({"A"}, {"B"}, {"C"});
  EXPECT_EQ(log, "ABC|") << "one commit, in the order of arrival";
  EXPECT_EQ(errors, std::vector<std::string>(3));
}

TEST(CombinedChunkWrites, AFailingChangeFailsAlone) {
  const auto [log, errors] = join_a_write({"A"}, {.name = "B", .change_fails = true}, {"C"});
  EXPECT_EQ(log, "AC|");
  EXPECT_EQ(errors, (std::vector<std::string>{"", "B failed", ""}));
}

TEST(CombinedChunkWrites, AFailedCommitFailsEveryChangeInIt) {
  const auto [log, errors] = join_a_write({.name = "A", .commit_fails = true}, {"B"}, {"C"});
  EXPECT_EQ(log, "ABC") << "applied, never stored";
  EXPECT_EQ(errors, std::vector<std::string>(3, "commit of A failed"));
}

TEST(CombinedChunkWrites, AChangeArrivingAfterTheLastIsAppliedGoesIntoTheNextWrite) {
  Log log;
  std::atomic<bool> a_storing = false;
  Writer a{.name = "A", .before_storing = [&] {
             if (a_storing.exchange(true)) return;  // only its first commit waits
             wait_for_waiting_writers(1);
           }};
  std::string a_error, d_error;
  std::thread first([&] { a_error = submit(log, a); });
  while (!a_storing) std::this_thread::yield();
  std::thread late([&] { d_error = submit(log, {"D"}); });
  first.join();
  late.join();
  EXPECT_EQ(log.entries(), "A|D|") << "D stored by A's thread, in a second write";
  EXPECT_EQ(a_error, "");
  EXPECT_EQ(d_error, "");
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
