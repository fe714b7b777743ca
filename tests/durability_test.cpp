// Durability: after a machine crash at any point of a run of populates, the
// journal claims only catalogs whose every cell the disk holds, so a rerun
// skips only what is really there. A FaultInjectionStore stops the writer at
// a random set() or sync() and keeps a random part of what was not yet synced.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "fault_injection_store.h"
#include "lightcurve_scenarios.h"

namespace lcstore::testing {
namespace {

// One writer, 6 epochs of 96 objects in chunks of 16: 36 epoch chunks.
const PopulateScenario kCrashScenario{"Crash", 96, 6, 16, 1, PopulateScenario::Split::kObjects};

struct CrashOutcome {
  uint64_t journaled = 0;              // populates the crash image's journal records
  uint64_t journaled_but_missing = 0;  // ... of which a cell is not in the image
};

bool same_cell(float expected, float stored) {
  return expected == stored || (std::isnan(expected) && std::isnan(stored));
}

// Whether the journal records the planned populate as completed.
bool journaled(const lightcurve::JournalState& journal, const PlannedPopulate& populate) {
  const auto epoch = journal.epochs.find(populate.epoch);
  if (epoch == journal.epochs.end()) return false;
  return std::any_of(epoch->second.begin(), epoch->second.end(), [&](const lightcurve::PopulateRecord& record) {
    return record.entry.starts_with(populate.journal_id + " ") && record.completed.has_value();
  });
}

// Creates the store, populates the plan's catalogs until the crash after
// `operations` set() and sync() calls, then checks the crash image. `sync` false: from after
// the creation on, syncs make nothing durable.
CrashOutcome crash_and_check(const PopulatePlan& plan, uint64_t operations, bool sync, std::mt19937& random) {
  auto store = std::make_shared<FaultInjectionStore>();
  LightCurveStore writer = LightCurveStore::create(store, plan.create_options);
  if (!sync) store->ignore_syncs();
  store->fail_after(operations);
  try {
    for (const PlannedPopulate& populate : plan.work[0]) {
      writer.populate(populate.epoch, populate.catalog, {.journal_id = populate.journal_id});
    }
  } catch (const Error& error) {
    // The populate that fails cannot undo its writes either: the store refuses them too.
    if (!error.reason().starts_with("injected crash")) throw;
  }
  const std::shared_ptr<MemoryStore> image = store->crash_image(random);
  const LightCurveStore reopened = LightCurveStore::open(image);
  const lightcurve::JournalState journal = lightcurve::Journal(*image).read();
  CrashOutcome outcome;
  const uint64_t n_measurements = kStoreMeasurements.size();
  for (const PlannedPopulate& populate : plan.work[0]) {
    if (!journaled(journal, populate)) continue;
    ++outcome.journaled;
    const uint64_t e = reopened.epoch_index(populate.epoch);
    const std::vector<float> cells = reopened.epoch(populate.epoch).data;
    bool missing = false;
    for (uint64_t o = 0; o < plan.scenario.objects; ++o) {
      for (uint64_t m = 0; m < n_measurements; ++m) {
        for (uint64_t v = 0; v < kValues; ++v) {
          missing |= !same_cell(plan.expected[plan.index(o, m, v, e)], cells[(o * n_measurements + m) * kValues + v]);
        }
      }
    }
    outcome.journaled_but_missing += missing;
  }
  return outcome;
}

uint64_t operations_of_a_whole_run(const PopulatePlan& plan) {
  auto store = std::make_shared<FaultInjectionStore>();
  LightCurveStore writer = LightCurveStore::create(store, plan.create_options);
  const uint64_t before = store->operations();
  for (const PlannedPopulate& populate : plan.work[0]) {
    writer.populate(populate.epoch, populate.catalog, {.journal_id = populate.journal_id});
  }
  return store->operations() - before;
}

constexpr int kCrashes = 60;

TEST(Durability, AfterACrashTheJournalClaimsOnlyWhatTheDiskHolds) {
  const PopulatePlan plan(kCrashScenario);
  const uint64_t operations = operations_of_a_whole_run(plan);
  ASSERT_GT(operations, plan.populates);  // a chunk or more per populate, and the journal
  std::mt19937 random(20261207);
  uint64_t journaled = 0;
  for (int crash = 0; crash < kCrashes; ++crash) {
    const uint64_t crash_at = std::uniform_int_distribution<uint64_t>(0, operations)(random);
    const CrashOutcome outcome = crash_and_check(plan, crash_at, /*sync=*/true, random);
    EXPECT_EQ(outcome.journaled_but_missing, 0u) << "crash after " << crash_at << " of " << operations << " operations";
    journaled += outcome.journaled;
  }
  // The crashes fell across the run: some journaled populates survived them.
  EXPECT_GT(journaled, 0u);
}

// Without syncs (Durability::kNone) the same check finds journal entries
// whose cells the disk lost: the check can fail.
TEST(Durability, WithoutSyncACrashLosesJournaledCells) {
  const PopulatePlan plan(kCrashScenario);
  const uint64_t operations = operations_of_a_whole_run(plan);
  std::mt19937 random(7);
  uint64_t lost = 0;
  for (int crash = 0; crash < kCrashes; ++crash) {
    lost += crash_and_check(plan, operations, /*sync=*/false, random).journaled_but_missing;
  }
  EXPECT_GT(lost, 0u);
}

}  // namespace
}  // namespace lcstore::testing
