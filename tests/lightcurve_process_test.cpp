// The original's concurrency scenarios for populate() with writers in
// separate processes: each child opens its own LightCurveStore on its own
// DirectoryStore, as independent populate commands would; every strategy,
// zero lost values. Then populates killed by SIGKILL, which `lcstore fsck
// --repair` rolls back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <random>
#include <thread>
#include <tuple>

#include "lightcurve_scenarios.h"

namespace lcstore::testing {
namespace {

const int kRepetitions = stress_repetitions(100);

// Runs work(i) in `count` child processes at once; returns how many did not
// exit 0 (a child exits 1 when work throws, after printing why).
int run_processes(int count, const std::function<void(int)>& work) {
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int status = 0;
      try {
        work(i);
      } catch (const std::exception& error) {
        std::fprintf(stderr, "child %d (worker %d): %s\n", ::getpid(), i, error.what());
        status = 1;
      }
      // _exit: the child must not run the parent's atexit handlers or
      // flush its copy of the parent's stdio buffers.
      ::_exit(status);
    }
    children.push_back(pid);
  }
  int failed = 0;
  for (const pid_t child : children) {
    int status = 0;
    failed += child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  return failed;
}

using Param = std::tuple<const PopulateScenario*, Strategy>;

class LightCurveProcesses : public ::testing::TestWithParam<Param> {};

TEST_P(LightCurveProcesses, EveryValueWrittenNoneLost) {
  const auto [scenario, strategy] = GetParam();
  const PopulatePlan plan(*scenario);
  int failed_children = 0;
  const Damage damage = repeat_scenario(plan, kRepetitions, [&](const std::filesystem::path& directory) {
    failed_children += run_processes(scenario->workers, [&](int worker) {
      LightCurveStore own = LightCurveStore::open(std::make_shared<DirectoryStore>(directory));
      run_populates(own, plan, worker, strategy);
    });
  });
  EXPECT_EQ(failed_children, 0);
  EXPECT_TRUE(damage.clean()) << damage;
  EXPECT_EQ(damage.runs, static_cast<uint64_t>(kRepetitions));
}

INSTANTIATE_TEST_SUITE_P(Scenarios, LightCurveProcesses,
                         ::testing::Combine(::testing::ValuesIn(kScenarios), ::testing::ValuesIn(kStrategies)),
                         [](const ::testing::TestParamInfo<Param>& test) {
                           return scenario_name(*std::get<0>(test.param), std::get<1>(test.param));
                         });

// Every cell of the write layout, bit for bit.
std::vector<uint32_t> cells_of(const std::filesystem::path& directory) {
  const LightCurveStore light_curves = LightCurveStore::open(std::make_shared<DirectoryStore>(directory));
  std::vector<uint32_t> cells;
  for (float value : light_curves.write_layout().read<float>(zarr::select_all(light_curves.write_layout().shape())))
    cells.push_back(std::bit_cast<uint32_t>(value));
  return cells;
}

// One writer of 4,000 objects in 40 chunks per epoch: long enough for a kill
// to land among its chunk writes.
const PopulateScenario kKilledScenario{"Killed", 4000, 2, 100, 1, PopulateScenario::Split::kObjects};

// Populates killed by SIGKILL at random moments, over cells that held
// values: `fsck` reports each one killed midway, `fsck --repair` puts back
// what its cells held, and the store then holds exactly what it held before
// the populate, or all of the populate's values when the kill came after it
// completed; `fsck` is then clean, and a rerun writes the catalog.
TEST(KilledPopulates, FsckRepairPutsBackWhatTheirCellsHeld) {
  const PopulatePlan plan(kKilledScenario);
  const PlannedPopulate& killed = plan.work[0][0];
  auto populate_in_child = [&](const std::filesystem::path& directory, Strategy strategy) {
    return start_child([&directory, &killed, strategy] {
      LightCurveStore own = LightCurveStore::open(std::make_shared<DirectoryStore>(directory));
      own.populate(killed.epoch, killed.catalog, {.strategy = strategy, .journal_id = killed.journal_id});
    });
  };
  auto prepare = [&](const std::filesystem::path& directory) {
    LightCurveStore created = LightCurveStore::create(std::make_shared<DirectoryStore>(directory), plan.create_options);
    created.populate(killed.epoch, plan.work[0][1].catalog, {.journal_id = "earlier"});
  };
  std::vector<uint32_t> before, after;
  // How long a whole populate takes (the fastest of three), to spread the kills over it.
  std::chrono::microseconds full_run = std::chrono::hours(1);
  for (int probe_run = 0; probe_run < 3; ++probe_run) {
    TempDir probe;
    prepare(probe.path());
    before = cells_of(probe.path());
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(wait_for(populate_in_child(probe.path(), Strategy::kMaskedSlab)), 0);
    full_run = std::min(
        full_run, std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start));
    after = cells_of(probe.path());
  }
  ASSERT_NE(before, after);

  std::mt19937 random(2026);
  std::uniform_int_distribution<int64_t> delay(0, full_run.count());
  int rolled_back = 0, completed = 0;
  for (int run = 0; run < 45; ++run) {
    SCOPED_TRACE(fmt::format("run {}", run));
    TempDir directory;
    prepare(directory.path());
    const pid_t writer = populate_in_child(directory.path(), kStrategies[run % 3]);
    std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    ::kill(writer, SIGKILL);
    wait_for(writer);

    const CommandResult check = lcstore({"fsck", directory.str()});
    const bool killed_midway = check.out.find("killed midway; --repair puts back") != std::string::npos;
    // A kill during a publish also leaves its temporary file, which fails the check.
    const bool temporary_files = check.out.find("found temporary file") != std::string::npos;
    EXPECT_EQ(check.exit_code, killed_midway || temporary_files ? 1 : 0) << check;
    const CommandResult repair = lcstore({"fsck", directory.str(), "--repair"});
    ASSERT_EQ(repair.exit_code, 0) << repair;
    EXPECT_EQ(repair.out.find("rolled back") != std::string::npos, killed_midway) << repair;
    const std::vector<uint32_t> now = cells_of(directory.path());
    if (now == after) {
      ++completed;
      EXPECT_FALSE(killed_midway);
    } else {
      ASSERT_EQ(now, before) << "neither what the store held nor the whole populate";
      rolled_back += killed_midway;
    }
    const CommandResult clean = lcstore({"fsck", directory.str(), "--json"});
    EXPECT_EQ(clean.exit_code, 0) << clean;
    EXPECT_THAT(clean.out, ::testing::HasSubstr("\"unfinished_populates\": []"));
    LightCurveStore light_curves = LightCurveStore::open(std::make_shared<DirectoryStore>(directory.path()));
    light_curves.populate(killed.epoch, killed.catalog, {.journal_id = killed.journal_id});
    EXPECT_EQ(cells_of(directory.path()), after);
  }
  std::printf("%d of 45 populates killed midway and rolled back; %d completed before the kill\n", rolled_back,
              completed);
  EXPECT_GE(rolled_back, 10);
}

}  // namespace
}  // namespace lcstore::testing
