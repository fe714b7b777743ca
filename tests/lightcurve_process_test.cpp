// The original's concurrency scenarios for populate() with writers in
// separate processes: each child opens its own LightCurveStore on its own
// DirectoryStore, as independent populate commands would; every strategy,
// zero lost values.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <functional>
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

}  // namespace
}  // namespace lcstore::testing
