// All or nothing: a populate whose writes the store refuses midway (a disk
// full for a moment, a read-only folder) leaves the store holding what it
// held before, by every strategy and whichever write fails; when the store
// refuses the undo too, the error says what remains, the journal marks the
// epoch incomplete, and a rerun completes it. A populate killed midway is
// rolled back to what the store held (roll_back_killed_populates, which
// `fsck --repair` runs), unless a later populate wrote its cells. Through a
// fault-injection store, then on a real small file system (as root).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fault_injection_store.h"
#include "lcstore/storage/directory_store.h"
#include "lightcurve/journal.h"
#include "lightcurve_scenarios.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using lightcurve::PartlyWrittenError;
using lightcurve::Strategy;
using lightcurve::UnfinishedPopulate;
using ::testing::HasSubstr;

// Two writers partitioned by object, 56 objects in chunks of 16: the
// writers share the epoch's chunk 1.
const PopulateScenario kScenario{"AllOrNothing", 56, 2, 16, 2, PopulateScenario::Split::kObjects};
const PopulatePlan& plan() {
  static const PopulatePlan planned(kScenario);
  return planned;
}
const PlannedPopulate& writer_of_e0(int worker) { return plan().work[static_cast<size_t>(worker)][0]; }

// What a store holds: the whole write layout, bit for bit, and the journal.
struct Held {
  std::vector<uint32_t> cells;
  std::optional<Bytes> journal;
  bool operator==(const Held&) const = default;
  friend void PrintTo(const Held& held, std::ostream* out) {
    *out << held.cells.size() << " cells, journal "
         << (held.journal ? std::string(reinterpret_cast<const char*>(held.journal->data()), held.journal->size())
                          : "absent");
  }
};

Held held(const std::shared_ptr<Store>& store) {
  const LightCurveStore light_curves = LightCurveStore::open(store);
  zarr::Selection all;
  for (uint64_t extent : light_curves.write_layout().shape()) all.push_back(zarr::DimSelection::all(extent));
  Held out{.journal = store->get(".lcstore/journal.json")};
  for (float value : light_curves.write_layout().read<float>(all)) out.cells.push_back(std::bit_cast<uint32_t>(value));
  return out;
}

uint64_t cells_differing(const Held& a, const Held& b) {
  uint64_t differing = 0;
  for (size_t i = 0; i < a.cells.size(); ++i) differing += a.cells[i] != b.cells[i];
  return differing;
}

std::shared_ptr<FaultInjectionStore> copy_of(const Store& from) {
  auto copy = std::make_shared<FaultInjectionStore>();
  for (const std::string& key : from.list("")) copy->set(key, *from.get(key));
  return copy;
}

// The created store with epoch e0 holding, for worker 0's objects, the values
// of e1: the populate of worker 0's e0 catalog overwrites finite cells, and
// worker 1's fills cells no one wrote.
std::shared_ptr<FaultInjectionStore> base_store() {
  auto store = std::make_shared<FaultInjectionStore>();
  LightCurveStore light_curves = LightCurveStore::create(store, plan().create_options);
  light_curves.populate("e0", plan().work[0][1].catalog, {.journal_id = "earlier"});
  return store;
}

lightcurve::PopulateOptions options_of(const PlannedPopulate& populate, Strategy strategy) {
  return {.strategy = strategy, .journal_id = populate.journal_id};
}

std::vector<std::string> undo_records(const Store& store) { return store.list(".lcstore/undo/"); }

std::vector<std::string> incomplete_catalogs(const LightCurveStore& light_curves, const std::string& epoch) {
  for (const auto& written : light_curves.info().epoch_catalogs) {
    if (written.epoch == epoch) return written.incomplete;
  }
  return {};
}

class AllOrNothing : public ::testing::TestWithParam<Strategy> {};

TEST_P(AllOrNothing, AnyOneRefusedWriteIsUndone) {
  for (int worker : {0, 1}) {
    const PlannedPopulate& populate = writer_of_e0(worker);
    const std::shared_ptr<FaultInjectionStore> base = base_store();
    const Held before = held(base);
    const auto good = copy_of(*base);
    const uint64_t first = good->operations();
    LightCurveStore::open(good).populate("e0", populate.catalog, options_of(populate, GetParam()));
    const uint64_t operations = good->operations() - first;
    const Held after = held(good);
    ASSERT_GT(cells_differing(before, after), 0u);
    for (uint64_t n = 0; n < operations; ++n) {
      SCOPED_TRACE(fmt::format("worker {}, the {}th of {} writes fails", worker, n, operations));
      const auto store = copy_of(*base);
      LightCurveStore light_curves = LightCurveStore::open(store);
      store->fail_once_after(n);
      bool written = false;
      try {
        light_curves.populate("e0", populate.catalog, options_of(populate, GetParam()));
        written = true;  // only the journal's last sync failed, after its record
      } catch (const PartlyWrittenError& error) {
        ADD_FAILURE() << "a store that takes the undo was left partly written: " << error.what();
      } catch (const Error& error) {
        EXPECT_EQ(error.reason(), "injected crash");
      }
      if (written) {
        EXPECT_EQ(held(store).cells, after.cells);
        continue;
      }
      EXPECT_EQ(held(store), before);
      EXPECT_THAT(incomplete_catalogs(light_curves, "e0"), ::testing::IsEmpty());
      const lightcurve::PopulateResult rerun =
          light_curves.populate("e0", populate.catalog, options_of(populate, GetParam()));
      EXPECT_FALSE(rerun.already_done);
      EXPECT_EQ(held(store).cells, after.cells);
    }
  }
}

TEST_P(AllOrNothing, ARefusedUndoSaysWhatRemainsAndARerunCompletes) {
  const PlannedPopulate& populate = writer_of_e0(0);
  const std::shared_ptr<FaultInjectionStore> base = base_store();
  const Held before = held(base);
  const auto good = copy_of(*base);
  LightCurveStore::open(good).populate("e0", populate.catalog, options_of(populate, GetParam()));
  const Held after = held(good);
  int partly_written = 0;
  for (uint64_t n = 0;; ++n) {
    SCOPED_TRACE(fmt::format("every write from the {}th on fails", n));
    const auto store = copy_of(*base);
    LightCurveStore light_curves = LightCurveStore::open(store);
    store->fail_after(n);
    try {
      light_curves.populate("e0", populate.catalog, options_of(populate, GetParam()));
      break;  // n is past the populate's last write
    } catch (const PartlyWrittenError& error) {
      ++partly_written;
      const Held now = held(store);
      EXPECT_EQ(error.values_left(), cells_differing(before, now));
      EXPECT_GT(error.values_left(), 0u);
      EXPECT_THAT(error.what(), HasSubstr(fmt::format("{} of the", error.values_left())));
      EXPECT_THAT(error.what(), HasSubstr("the journal marks the epoch incomplete"));
      EXPECT_THAT(incomplete_catalogs(light_curves, "e0"), ::testing::ElementsAre(populate.catalog.source()));
    } catch (const Error& error) {
      EXPECT_EQ(error.reason(), "injected crash");
      EXPECT_EQ(held(store).cells, before.cells);
    }
    store->stop_failing();
    const lightcurve::PopulateResult rerun =
        light_curves.populate("e0", populate.catalog, options_of(populate, GetParam()));
    EXPECT_FALSE(rerun.already_done);
    EXPECT_EQ(held(store).cells, after.cells);
    EXPECT_THAT(incomplete_catalogs(light_curves, "e0"), ::testing::IsEmpty());
    EXPECT_THAT(undo_records(*store), ::testing::IsEmpty());
  }
  EXPECT_GT(partly_written, 0);
}

TEST_P(AllOrNothing, AReadOnlyChunkFolderLeavesTheStoreAsItWas) {
  const std::shared_ptr<FaultInjectionStore> store = base_store();
  LightCurveStore light_curves = LightCurveStore::open(store);
  const Held before = held(store);
  // Chunk 1 of e0, which both writers change; chunks 0 (worker 0) and 2
  // (worker 1) come before or after it.
  const uint64_t shared_chunk[] = {1, 0, 0, 0};
  store->refuse(light_curves.write_layout().path() + "/" + light_curves.write_layout().chunk_key(shared_chunk));
  for (int worker : {0, 1}) {
    const PlannedPopulate& populate = writer_of_e0(worker);
    try {
      light_curves.populate("e0", populate.catalog, options_of(populate, GetParam()));
      ADD_FAILURE() << "worker " << worker << " wrote to a refused chunk";
    } catch (const Error& error) {
      EXPECT_EQ(error.reason(), "Permission denied");
      EXPECT_FALSE(dynamic_cast<const PartlyWrittenError*>(&error)) << error.what();
    }
    EXPECT_EQ(held(store), before) << "worker " << worker;
  }
}

// Two writers of one epoch at once, one write of either failing: each
// writer's cells hold its values if it succeeded and what they held before
// if it failed, whatever the other did.
TEST_P(AllOrNothing, ConcurrentWritersAreEachAllOrNothing) {
  auto base = std::make_shared<FaultInjectionStore>();
  LightCurveStore::create(base, plan().create_options);
  const Held before = held(base);
  const auto good = copy_of(*base);
  const uint64_t first = good->operations();
  for (int worker : {0, 1})
    LightCurveStore::open(good).populate("e0", writer_of_e0(worker).catalog,
                                         options_of(writer_of_e0(worker), GetParam()));
  const uint64_t operations = good->operations() - first;
  const Held after = held(good);
  const uint64_t object_cells = kStoreMeasurements.size() * kValues * kScenario.epochs;
  for (uint64_t n = 0; n < operations; ++n) {
    SCOPED_TRACE(fmt::format("the {}th of {} writes fails", n, operations));
    const auto store = copy_of(*base);
    LightCurveStore light_curves = LightCurveStore::open(store);
    store->fail_once_after(n);
    bool written[2] = {false, false};
    std::vector<std::thread> writers;
    for (int worker : {0, 1}) {
      writers.emplace_back([&, worker] {
        try {
          light_curves.populate("e0", writer_of_e0(worker).catalog, options_of(writer_of_e0(worker), GetParam()));
          written[worker] = true;
        } catch (const Error& error) {
          EXPECT_EQ(error.reason(), "injected crash");
        }
      });
    }
    for (std::thread& writer : writers) writer.join();
    const Held now = held(store);
    for (int worker : {0, 1}) {
      const uint64_t first_object = worker == 0 ? 0 : kScenario.objects / 2;
      const uint64_t end_object = worker == 0 ? kScenario.objects / 2 : kScenario.objects;
      const Held& expected = written[worker] ? after : before;
      for (uint64_t i = first_object * object_cells; i < end_object * object_cells; ++i) {
        ASSERT_EQ(now.cells[i], expected.cells[i]) << "worker " << worker << (written[worker] ? " written" : " failed");
      }
    }
  }
}

// A process killed before the n-th write of its populate writes nothing
// more: here every write from the n-th on fails. For every n, the roll back
// leaves the store holding what it held (cells and journal), or the
// populate had completed; nothing is left to undo, and a rerun writes it.
TEST_P(AllOrNothing, AKilledPopulateIsRolledBackWhereverItStopped) {
  for (int worker : {0, 1}) {
    const PlannedPopulate& populate = writer_of_e0(worker);
    const std::shared_ptr<FaultInjectionStore> base = base_store();
    const Held before = held(base);
    const auto good = copy_of(*base);
    LightCurveStore::open(good).populate("e0", populate.catalog, options_of(populate, GetParam()));
    const Held after = held(good);
    int rolled_back = 0;
    for (uint64_t n = 0;; ++n) {
      SCOPED_TRACE(fmt::format("worker {}, killed before its {}th write", worker, n));
      const auto store = copy_of(*base);
      LightCurveStore light_curves = LightCurveStore::open(store);
      store->fail_after(n);
      bool completed = false;
      try {
        light_curves.populate("e0", populate.catalog, options_of(populate, GetParam()));
        completed = true;
      } catch (const Error& error) {
        EXPECT_THAT(error.what(), HasSubstr("injected crash"));
      }
      store->stop_failing();
      if (completed) {
        EXPECT_THAT(light_curves.unfinished_populates(), ::testing::IsEmpty());
        EXPECT_EQ(held(store).cells, after.cells);
        EXPECT_THAT(undo_records(*store), ::testing::IsEmpty());
        break;
      }
      const std::vector<UnfinishedPopulate> unfinished = light_curves.unfinished_populates();
      if (!unfinished.empty()) {
        ASSERT_EQ(unfinished.size(), 1u);
        EXPECT_EQ(unfinished[0].state, UnfinishedPopulate::State::kKilled) << unfinished[0].reason;
        EXPECT_EQ(unfinished[0].catalog, populate.catalog.source());
        const std::vector<UnfinishedPopulate> repaired = light_curves.roll_back_killed_populates();
        ASSERT_EQ(repaired.size(), 1u);
        EXPECT_EQ(repaired[0].state, UnfinishedPopulate::State::kRolledBack);
        ++rolled_back;
      }
      EXPECT_EQ(held(store), before);
      EXPECT_THAT(light_curves.unfinished_populates(), ::testing::IsEmpty());
      EXPECT_THAT(undo_records(*store), ::testing::IsEmpty());
      EXPECT_FALSE(light_curves.populate("e0", populate.catalog, options_of(populate, GetParam())).already_done);
      EXPECT_EQ(held(store).cells, after.cells);
    }
    EXPECT_GE(rolled_back, 3) << "worker " << worker;
  }
}

// Worker 0's first chunk is written, then its process dies.
void kill_worker_0_midway(FaultInjectionStore& store, LightCurveStore& light_curves, Strategy strategy) {
  const PlannedPopulate& populate = writer_of_e0(0);
  store.fail_after(3);  // its journal record, its undo record, its first chunk
  EXPECT_THROW(light_curves.populate("e0", populate.catalog, options_of(populate, strategy)), Error);
  store.stop_failing();
}

TEST_P(AllOrNothing, AKilledPopulateWhoseCellsALaterOneWroteIsLeftForARerun) {
  const std::shared_ptr<FaultInjectionStore> store = base_store();
  LightCurveStore light_curves = LightCurveStore::open(store);
  const auto good = copy_of(*store);
  LightCurveStore::open(good).populate("e0", writer_of_e0(0).catalog, options_of(writer_of_e0(0), GetParam()));
  kill_worker_0_midway(*store, light_curves, GetParam());
  // The catalog that wrote e0 before runs again over the killed one's cells:
  // putting back what they held before the kill would undo it.
  light_curves.populate("e0", plan().work[0][1].catalog, {.journal_id = "earlier"});
  const Held now = held(store);
  for (const auto& found : {light_curves.unfinished_populates(), light_curves.roll_back_killed_populates()}) {
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].state, UnfinishedPopulate::State::kNeedsRerun);
    EXPECT_THAT(found[0].reason, HasSubstr("the populate from " + plan().work[0][1].catalog.source()));
    EXPECT_THAT(found[0].reason, HasSubstr("wrote some of its cells since it began"));
  }
  EXPECT_EQ(held(store), now);
  EXPECT_THAT(incomplete_catalogs(light_curves, "e0"), ::testing::ElementsAre(writer_of_e0(0).catalog.source()));
  EXPECT_FALSE(
      light_curves.populate("e0", writer_of_e0(0).catalog, options_of(writer_of_e0(0), GetParam())).already_done);
  EXPECT_EQ(held(store).cells, held(good).cells);
  EXPECT_THAT(light_curves.unfinished_populates(), ::testing::IsEmpty());
  EXPECT_THAT(undo_records(*store), ::testing::IsEmpty());
}

// A populate whose process holds its running lock is alive: nothing is
// rolled back while one runs. Undo records of no unfinished populate go.
TEST_P(AllOrNothing, NothingIsRolledBackWhileAPopulateRuns) {
  const std::shared_ptr<FaultInjectionStore> store = base_store();
  const Held before = held(store);
  LightCurveStore light_curves = LightCurveStore::open(store);
  kill_worker_0_midway(*store, light_curves, GetParam());
  const Held killed = held(store);
  store->set(".lcstore/undo/999999", Bytes(8));
  const lightcurve::JournalState journal = lightcurve::Journal(*store).read();
  const uint64_t running_lock = journal.epochs.at("e0").back().details.at("running_lock").get<uint64_t>();
  {
    const std::unique_ptr<Lock> alive = store->lock(lightcurve::kRunningPopulates, running_lock);
    const std::vector<UnfinishedPopulate> unfinished = light_curves.unfinished_populates();
    ASSERT_EQ(unfinished.size(), 1u);
    EXPECT_EQ(unfinished[0].state, UnfinishedPopulate::State::kRunning);
    try {
      light_curves.roll_back_killed_populates();
      ADD_FAILURE() << "rolled back while a populate runs";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kInvalidArgument);
      EXPECT_THAT(error.what(), HasSubstr("is running; roll back only while no populate runs"));
    }
    EXPECT_EQ(held(store), killed);
    EXPECT_EQ(undo_records(*store).size(), 2u);
  }
  const std::vector<UnfinishedPopulate> repaired = light_curves.roll_back_killed_populates();
  ASSERT_EQ(repaired.size(), 1u);
  EXPECT_EQ(repaired[0].state, UnfinishedPopulate::State::kRolledBack);
  EXPECT_EQ(held(store), before);
  EXPECT_THAT(undo_records(*store), ::testing::IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(EveryStrategy, AllOrNothing,
                         ::testing::Values(Strategy::kMaskedSlab, Strategy::kReadModifyWrite, Strategy::kScatter),
                         [](const auto& strategy) { return std::string(lightcurve::original_name(strategy.param)); });

// A file system of a few hundred KiB, mounted for the test (as root), that
// the populates fill until one runs out of space.
class SmallFileSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    mount_point_ = dir_.path() / "disk";
    fs::create_directory(mount_point_);
    if (mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=384k") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    for (const fs::path& bound : bound_) umount(bound.c_str());
    if (mounted_) umount(mount_point_.c_str());
  }

  TempDir dir_;
  fs::path mount_point_;
  bool mounted_ = false;
  std::vector<fs::path> bound_;
};

// One epoch of 2,000 objects x 3 measurements x 2 values uncompressed is 47
// KiB in 8 chunks: the disk takes a few epochs, then one populate runs out
// of space in the middle of its chunks.
lightcurve::CreateOptions disk_create_options(uint64_t epochs) {
  std::vector<uint64_t> all(2000);
  for (uint64_t o = 0; o < all.size(); ++o) all[o] = o;
  const catalog::Table detections = synthetic_catalog(all, -1);
  lightcurve::CreateOptions options{
      .objects = lightcurve::ObjectTable::from_catalog(detections, catalog::ColumnMapping(detections, {})),
      .measurements = kStoreMeasurements,
      .object_chunk = 250};
  std::vector<std::string> keys;
  for (uint64_t e = 0; e < epochs; ++e) keys.push_back(epoch_key(e));
  options.epochs = lightcurve::EpochTable::from_keys(keys);
  return options;
}

catalog::Table disk_catalog(uint64_t epoch) {
  std::vector<uint64_t> all(2000);
  for (uint64_t o = 0; o < all.size(); ++o) all[o] = o;
  return synthetic_catalog(all, static_cast<int64_t>(epoch));
}

std::vector<float> epoch_cells(const LightCurveStore& light_curves, uint64_t epoch) {
  return light_curves.epoch(epoch_key(epoch)).data;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_F(SmallFileSystem, APopulateThatRunsOutOfSpaceIsUndoneAndARerunCompletes) {
  constexpr uint64_t kEpochs = 12;
  // Space given back once the disk is full, for the rerun.
  const fs::path ballast = mount_point_ / "ballast";
  {
    std::ofstream out(ballast);
    out << std::string(160 << 10, 'x');
  }
  auto store = std::make_shared<DirectoryStore>(mount_point_ / "field.lcs");
  LightCurveStore light_curves = LightCurveStore::create(store, disk_create_options(kEpochs));
  const std::vector<float> unwritten = epoch_cells(light_curves, 0);
  uint64_t e = 0;
  std::optional<Error> failure;
  for (; e < kEpochs && !failure; ++e) {
    try {
      light_curves.populate(epoch_key(e), disk_catalog(e), {.journal_id = epoch_key(e)});
    } catch (const Error& error) {
      failure = error;
    }
  }
  ASSERT_TRUE(failure) << "the disk took every epoch";
  const uint64_t failed = e - 1;
  EXPECT_THAT(failure->reason(), HasSubstr("No space left on device"));
  // Uncompressed chunks of NaN take the space of the chunks they replace:
  // the undo fits where the write did not.
  EXPECT_EQ(failure->reason().find("could not be undone"), std::string::npos) << failure->what();
  EXPECT_TRUE(bit_equal(epoch_cells(light_curves, failed), unwritten)) << "epoch " << failed << " kept values";
  EXPECT_THAT(incomplete_catalogs(light_curves, epoch_key(failed)), ::testing::IsEmpty());
  EXPECT_THAT(light_curves.info().populated_epochs, ::testing::Not(::testing::Contains(epoch_key(failed))));

  fs::remove(ballast);
  const lightcurve::PopulateResult rerun =
      light_curves.populate(epoch_key(failed), disk_catalog(failed), {.journal_id = epoch_key(failed)});
  EXPECT_FALSE(rerun.already_done);
  for (uint64_t earlier = 0; earlier <= failed; ++earlier) {
    const std::vector<float> cells = epoch_cells(light_curves, earlier);
    EXPECT_EQ(cells[0], static_cast<float>(catalog_value(0, 0, 0, earlier))) << "epoch " << earlier;
    const size_t last_cell = (1999 * kStoreMeasurements.size() + 1) * kValues + 1;
    EXPECT_EQ(cells[last_cell], static_cast<float>(catalog_value(1999, 1, 1, earlier))) << "epoch " << earlier;
  }
}

TEST_F(SmallFileSystem, AReadOnlyChunkFolderLeavesTheEpochAsItWas) {
  auto store = std::make_shared<DirectoryStore>(mount_point_ / "field.lcs");
  LightCurveStore light_curves = LightCurveStore::create(store, disk_create_options(2));
  const std::vector<float> unwritten = epoch_cells(light_curves, 0);
  // The folder of the epoch's fourth object chunk, bound read-only onto itself.
  const fs::path folder = mount_point_ / "field.lcs" / "lightcurves" / "c" / "3";
  fs::create_directories(folder);
  ASSERT_EQ(mount(folder.c_str(), folder.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
  bound_.push_back(folder);
  ASSERT_EQ(mount(nullptr, folder.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  for (Strategy strategy : {Strategy::kMaskedSlab, Strategy::kReadModifyWrite, Strategy::kScatter}) {
    SCOPED_TRACE(lightcurve::original_name(strategy));
    try {
      light_curves.populate(epoch_key(0), disk_catalog(0), {.strategy = strategy, .journal_id = "e0"});
      ADD_FAILURE() << "wrote into a read-only folder";
    } catch (const Error& error) {
      EXPECT_THAT(error.reason(), HasSubstr("Read-only file system"));
      EXPECT_EQ(error.reason().find("could not be undone"), std::string::npos) << error.what();
    }
    EXPECT_TRUE(bit_equal(epoch_cells(light_curves, 0), unwritten));
    EXPECT_THAT(light_curves.info().epoch_catalogs, ::testing::IsEmpty());
  }
}

}  // namespace
}  // namespace lcstore::testing
