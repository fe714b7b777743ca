// What the tests of a growing store (grow_test: epochs, grow_objects_test:
// objects) share: writers in threads or in processes beside a reader that
// checks every snapshot it opens, and a writer SIGKILLed at random moments.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "concurrency_support.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"
#include "test_support.h"

namespace lcstore::testing {

// A writer: what it does to a store it opens itself.
using StoreWriter = std::function<void(lightcurve::LightCurveStore&)>;
// A reader's check of the store as it is now; throws if it finds it inconsistent.
using StoreCheck = std::function<void(const std::shared_ptr<Store>&)>;

inline lightcurve::LightCurveStore open_directory(const std::filesystem::path& path) {
  return lightcurve::LightCurveStore::open(std::make_shared<DirectoryStore>(path));
}

inline bool exited_cleanly(pid_t child) {
  const int status = wait_for(child);
  return child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Runs each writer in a thread of its own, on a store it opens, while
// `check` loops in another thread; fails the test if any of them throws or
// the check never ran.
inline void run_threads_beside_a_reader(const std::filesystem::path& path, const std::vector<StoreWriter>& writers,
                                        const StoreCheck& check) {
  std::atomic<bool> writing{true};
  std::atomic<int> failures{0}, reads{0};
  auto guarded = [&](const std::function<void()>& work) {
    try {
      work();
    } catch (const std::exception& error) {
      ADD_FAILURE() << error.what();
      ++failures;
    }
  };
  std::thread reader([&] {
    guarded([&] {
      auto store = std::make_shared<DirectoryStore>(path);
      while (writing) {
        check(store);
        ++reads;
      }
    });
  });
  std::vector<std::thread> threads;
  for (const StoreWriter& writer : writers) {
    threads.emplace_back([&] {
      guarded([&] {
        lightcurve::LightCurveStore own = open_directory(path);
        writer(own);
      });
    });
  }
  for (std::thread& thread : threads) thread.join();
  writing = false;
  reader.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(reads, 0);
}

// As run_threads_beside_a_reader, each writer and the reader a process;
// then fsck finds the store clean.
inline void run_processes_beside_a_reader(const std::filesystem::path& path, const std::vector<StoreWriter>& writers,
                                          const StoreCheck& check) {
  const std::filesystem::path done = path / ".writers_done";
  const pid_t reader = start_child([&] {
    auto store = std::make_shared<DirectoryStore>(path);
    int reads = 0;
    for (; !std::filesystem::exists(done) || reads == 0; ++reads) check(store);
  });
  std::vector<pid_t> children;
  for (const StoreWriter& writer : writers) {
    children.push_back(start_child([&] {
      lightcurve::LightCurveStore own = open_directory(path);
      writer(own);
    }));
  }
  int failed = 0;
  for (pid_t child : children) failed += !exited_cleanly(child);
  write_file(done, "");
  EXPECT_TRUE(exited_cleanly(reader)) << "the reader saw arrays disagree (its message is above)";
  EXPECT_EQ(failed, 0);
  std::filesystem::remove(done);
  const CommandResult fsck = lcstore({"fsck", path.string()});
  EXPECT_EQ(fsck.exit_code, 0) << fsck;
}

// `runs` times: a new store (`create`), `grow` in a child process SIGKILLed
// after a random delay, `expect_grown(store, false)` on what it left, fsck
// --repair, `grow` again to its end, and `expect_grown(store, true)`.
// Most kills must land while the writer runs.
inline void kill_growth_and_rerun(
    int runs, uint32_t seed, const std::function<void(const std::filesystem::path&)>& create,
    const std::function<void(const std::filesystem::path&)>& grow,
    const std::function<void(const std::shared_ptr<Store>&, bool finished)>& expect_grown) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay_us(0, 150000);
  int killed_mid_run = 0;
  for (int run = 0; run < runs; ++run) {
    TempDir directory;
    const std::filesystem::path path = directory.path();
    create(path);
    const pid_t writer = start_child([&] { grow(path); });
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    ::kill(writer, SIGKILL);
    killed_mid_run += WIFSIGNALED(wait_for(writer));
    auto store = std::make_shared<DirectoryStore>(path);
    expect_grown(store, false);
    EXPECT_EQ(lcstore({"fsck", path.string(), "--repair", "-q"}).exit_code, 0) << "run " << run;
    EXPECT_EQ(lcstore({"fsck", path.string(), "-q"}).exit_code, 0) << "run " << run << ": not clean after --repair";
    ASSERT_TRUE(exited_cleanly(start_child([&] { grow(path); }))) << "the rerun failed";
    expect_grown(store, true);
  }
  EXPECT_GE(killed_mid_run, runs / 2) << "most kills should land while the writer runs";
  std::printf("%d of %d writers killed mid-run\n", killed_mid_run, runs);
}

}  // namespace lcstore::testing
