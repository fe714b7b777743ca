// Concurrent writers in separate processes sharing one directory store, and
// writers killed with SIGKILL at random moments.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>
#include <thread>

#include "concurrency_support.h"
#include "lcstore/storage/directory_store.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

using zarr::Array;

const int kRepetitions = stress_repetitions(50);

// Runs `work(i)` in `count` processes at once; true when all exited 0.
bool run_processes(int count, const std::function<void(int)>& work) {
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) children.push_back(start_child([&work, i] { work(i); }));
  bool all_ok = true;
  for (pid_t child : children) {
    int status = wait_for(child);
    all_ok = all_ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return all_ok;
}

class ProcessWriters : public ::testing::TestWithParam<Pattern> {};

TEST_P(ProcessWriters, DisjointObjectsSharingChunksLoseNothing) {
  for (int writers : {4, 8}) {
    const Scenario scenario{.shape = {64, 4, 2, 6}, .chunks = {64, 4, 2, 1}, .writers = writers};
    uint64_t lost = 0;
    for (int repetition = 0; repetition < kRepetitions; ++repetition) {
      TempDir directory;
      Array::create(std::make_shared<DirectoryStore>(directory.path()), "", scenario_metadata(scenario));
      ASSERT_TRUE(run_processes(writers, [&](int writer) {
        Array array = Array::open(std::make_shared<DirectoryStore>(directory.path()), "");
        run_writer(array, GetParam(), writer, scenario);
      }));
      lost += count_wrong_cells(Array::open(std::make_shared<DirectoryStore>(directory.path()), ""), scenario);
    }
    EXPECT_EQ(lost, 0u) << writers << " processes, " << kRepetitions << " repetitions";
  }
}

INSTANTIATE_TEST_SUITE_P(Patterns, ProcessWriters,
                         ::testing::Values(Pattern::kScatter, Pattern::kRegionTransaction, Pattern::kMaskedSlab),
                         [](const auto& test) { return std::string(name_of(test.param)); });

TEST(ProcessWriters, RegionTransactionCounterIsExact) {
  TempDir directory;
  Array::create(std::make_shared<DirectoryStore>(directory.path()), "", counter_metadata());
  constexpr int kWriters = 6, kIncrements = 100;
  ASSERT_TRUE(run_processes(kWriters, [&](int) {
    Array counter = Array::open(std::make_shared<DirectoryStore>(directory.path()), "");
    for (int i = 0; i < kIncrements; ++i) {
      counter.update(zarr::select_all({1}),
                     [](std::span<std::byte> cell) { ++*reinterpret_cast<int64_t*>(cell.data()); });
    }
  }));
  Array counter = Array::open(std::make_shared<DirectoryStore>(directory.path()), "");
  EXPECT_EQ(counter.read<int64_t>(zarr::select_all({1}))[0], kWriters * kIncrements);
}

// The crash scenario: one writer fills each epoch chunk in two halves (even
// objects, then odd ones), so a chunk's only complete states are: empty,
// even half written, both halves written.
const Scenario kCrashScenario{.shape = {4000, 4, 2, 8}, .chunks = {4000, 4, 2, 1}, .writers = 2};

void crash_writer(const std::filesystem::path& directory) {
  Array array = Array::open(std::make_shared<DirectoryStore>(directory), "");
  for (uint64_t epoch = 0; epoch < kCrashScenario.shape[3]; ++epoch) {
    for (int half = 0; half < 2; ++half) {
      const std::vector<uint64_t> objects = objects_of(half, kCrashScenario);
      std::vector<float> values;
      for (uint64_t object : objects)
        for (uint64_t m = 0; m < kCrashScenario.shape[1]; ++m)
          for (uint64_t v = 0; v < kCrashScenario.shape[2]; ++v) values.push_back(cell_value(object, m, v, epoch));
      array.write<float>(
          {zarr::DimSelection::indices(objects), zarr::DimSelection::all(kCrashScenario.shape[1]),
           zarr::DimSelection::all(kCrashScenario.shape[2]), zarr::DimSelection::range(epoch, epoch + 1)},
          values);
    }
  }
}

int run_cli(const std::string& arguments) {
  int status = std::system((std::string(LCSTORE_CLI) + " " + arguments + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// 0 = empty, 1 = even objects only, 2 = complete; -1 = any other state.
int epoch_state(const Array& array, uint64_t epoch) {
  const Scenario& s = kCrashScenario;
  std::vector<float> slab = array.read<float>(epoch_slab(s, epoch));
  bool even_written = true, even_empty = true, odd_written = true, odd_empty = true;
  uint64_t i = 0;
  for (uint64_t o = 0; o < s.shape[0]; ++o)
    for (uint64_t m = 0; m < s.shape[1]; ++m)
      for (uint64_t v = 0; v < s.shape[2]; ++v, ++i) {
        bool written = slab[i] == cell_value(o, m, v, epoch);
        bool empty = std::isnan(slab[i]);
        if (!written && !empty) return -1;
        (o % 2 == 0 ? even_written : odd_written) &= written;
        (o % 2 == 0 ? even_empty : odd_empty) &= empty;
      }
  if (even_empty && odd_empty) return 0;
  if (even_written && odd_empty) return 1;
  if (even_written && odd_written) return 2;
  return -1;
}

TEST(CrashInjection, KilledWriterLeavesEveryChunkInACompleteState) {
  // How long a whole run takes (the fastest of three), to spread the kills over its first half.
  std::chrono::microseconds full_run = std::chrono::hours(1);
  for (int probe_run = 0; probe_run < 3; ++probe_run) {
    TempDir probe;
    Array::create(std::make_shared<DirectoryStore>(probe.path()), "", scenario_metadata(kCrashScenario));
    auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(wait_for(start_child([&] { crash_writer(probe.path()); })), 0);
    full_run = std::min(
        full_run, std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start));
  }

  std::mt19937 random(12345);
  std::uniform_int_distribution<int64_t> delay(0, full_run.count() / 2);
  int killed_mid_run = 0, temporary_files_seen = 0;
  for (int run = 0; run < 50; ++run) {
    TempDir directory;
    Array::create(std::make_shared<DirectoryStore>(directory.path()), "", scenario_metadata(kCrashScenario));
    pid_t writer = start_child([&] { crash_writer(directory.path()); });
    std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    ::kill(writer, SIGKILL);
    int status = wait_for(writer);
    killed_mid_run += WIFSIGNALED(status);

    auto store = std::make_shared<DirectoryStore>(directory.path());
    temporary_files_seen += !store->find_leftovers().temporary_files.empty();
    Array array = Array::open(store, "");
    ASSERT_TRUE(array.verify_chunks().empty()) << "run " << run;
    for (uint64_t epoch = 0; epoch < kCrashScenario.shape[3]; ++epoch) {
      ASSERT_GE(epoch_state(array, epoch), 0) << "run " << run << ", epoch " << epoch << " is in a torn state";
    }
    ASSERT_EQ(run_cli("fsck " + directory.str() + " --repair"), 0) << "run " << run;
    ASSERT_EQ(run_cli("fsck " + directory.str()), 0) << "run " << run << ": not clean after --repair";

    ASSERT_EQ(wait_for(start_child([&] { crash_writer(directory.path()); })), 0);
    ASSERT_EQ(count_wrong_cells(Array::open(store, ""), kCrashScenario), 0u) << "rerun did not complete the data";
  }
  EXPECT_GE(killed_mid_run, 35) << "most kills should land while the writer runs";
  std::printf("%d of 50 writers killed mid-run; %d left temporary files\n", killed_mid_run, temporary_files_seen);
}

}  // namespace
}  // namespace lcstore::testing
