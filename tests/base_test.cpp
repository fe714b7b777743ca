// The base layer: parallel_for.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lcstore/parallel.h"

namespace lcstore {
namespace {

TEST(ParallelFor, CallsEveryItemOnceWithWorkersBelowTheThreadCount) {
  constexpr size_t kItems = 1000;
  std::vector<std::atomic<int>> calls(kItems);
  std::mutex mutex;
  std::set<unsigned> workers;
  std::set<std::thread::id> threads;
  parallel_for(kItems, 3, [&](size_t item, unsigned worker) {
    ++calls[item];
    std::lock_guard lock(mutex);
    workers.insert(worker);
    threads.insert(std::this_thread::get_id());
  });
  for (size_t i = 0; i < kItems; ++i) EXPECT_EQ(calls[i], 1) << i;
  EXPECT_LE(*workers.rbegin(), 2u);
  EXPECT_LE(threads.size(), 3u);
}

TEST(ParallelFor, OneThreadIsTheCaller) {
  std::set<std::thread::id> threads;
  parallel_for(10, 1, [&](size_t, unsigned) { threads.insert(std::this_thread::get_id()); });
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ParallelFor, NoItemsAndZeroThreadsAreFine) {
  int calls = 0;
  parallel_for(0, 4, [&](size_t, unsigned) { ++calls; });
  EXPECT_EQ(calls, 0);
  parallel_for(3, 0, [&](size_t, unsigned worker) {
    EXPECT_EQ(worker, 0u);
    ++calls;
  });
  EXPECT_EQ(calls, 3);
}

TEST(ParallelFor, TheFirstErrorStopsTheRestAndIsRethrown) {
  std::atomic<size_t> started{0};
  try {
    parallel_for(100, 1, [&](size_t item, unsigned) {
      ++started;
      if (item == 5) throw std::runtime_error("item 5 failed");
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "item 5 failed");
  }
  EXPECT_EQ(started, 6u) << "no item is handed out after the failure";

  started = 0;
  EXPECT_THROW(parallel_for(1000, 4,
                            [&](size_t item, unsigned) {
                              ++started;
                              if (item == 0) throw std::runtime_error("first");
                              std::this_thread::sleep_for(std::chrono::microseconds(100));
                            }),
               std::runtime_error);
  EXPECT_LT(started, 1000u);
}

}  // namespace
}  // namespace lcstore
