// The journal's skip decision against a model of what the store holds.
//
// Seeded random sequences of populates of one epoch (whole catalogs A and B,
// A read with invalid_to_nan, partial catalogs of disjoint and overlapping
// objects, --force, --no-overwrite, every strategy, and pairs of populates
// run at once by two threads): after each step the model predicts whether a
// populate is skipped, how many finite cells it overwrites, and every value
// of the epoch. A populate is skipped exactly when its cells all hold its
// values, except after two writers of shared cells ran at once: which of
// them wrote last is unknown, so either outcome is right as long as a skip
// leaves the store holding the skipped catalog's values.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <random>
#include <span>
#include <thread>

#include "lcstore/storage/memory_store.h"
#include "lightcurve_scenarios.h"

namespace lcstore::testing {
namespace {

using lightcurve::PopulateOptions;
using lightcurve::PopulateResult;

constexpr uint64_t kObjects = 40;
constexpr uint64_t kObjectChunk = 8;
const std::string kEpoch = "e0";

// One catalog a step may populate, with the journal id its file would get.
struct Variant {
  std::string journal_id;
  uint64_t first, end;           // its objects
  uint64_t seed;                 // which values
  bool nan_every_fifth = false;  // as --invalid-to-nan reads SExtractor's 99s

  bool has(uint64_t object) const { return object >= first && object < end; }
  float value(uint64_t object, uint64_t measurement, uint64_t value) const {
    if (nan_every_fifth && object % 5 == 0) return NAN;
    return static_cast<float>(catalog_value(object, measurement, value, seed));
  }
  bool overlaps(const Variant& other) const { return first < other.end && other.first < end; }
};

const Variant kVariants[] = {
    {"A", 0, kObjects, 1},      {"A invalid_to_nan", 0, kObjects, 1, true}, {"B", 0, kObjects, 2},
    {"P0", 0, kObjects / 2, 3}, {"P1", kObjects / 2, kObjects, 4},          {"Q", 12, 28, 5},
};
constexpr int kVariantCount = static_cast<int>(std::size(kVariants));

catalog::Table table_of(const Variant& variant) {
  std::vector<int64_t> numbers;
  std::vector<std::vector<double>> columns(kCatalogMeasurements * kValues);
  for (uint64_t o = variant.first; o < variant.end; ++o) {
    numbers.push_back(object_number(o));
    for (uint64_t m = 0; m < kCatalogMeasurements; ++m) {
      for (uint64_t v = 0; v < kValues; ++v) columns[m * kValues + v].push_back(variant.value(o, m, v));
    }
  }
  catalog::Table table(variant.journal_id);
  table.add_column(catalog::Column("NUMBER", std::move(numbers)));
  const char* names[] = {"MAG_AUTO", "MAGERR_AUTO", "MAG_APER", "MAGERR_APER"};
  for (size_t k = 0; k < columns.size(); ++k) table.add_column(catalog::Column(names[k], std::move(columns[k])));
  return table;
}

lightcurve::CreateOptions create_options() {
  std::vector<uint64_t> all(kObjects);
  for (uint64_t o = 0; o < kObjects; ++o) all[o] = o;
  const catalog::Table detections = synthetic_catalog(all, -1);
  return {.objects = lightcurve::ObjectTable::from_catalog(detections, catalog::ColumnMapping(detections, {})),
          .epochs = lightcurve::EpochTable::from_keys({kEpoch}),
          .measurements = kStoreMeasurements,
          .object_chunk = kObjectChunk};
}

// Every file of a directory with its bytes.
std::map<std::string, std::string> files_of(const std::filesystem::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files[entry.path().lexically_relative(root).string()] = read_file(entry.path());
  }
  return files;
}

bool same_bits(float a, float b) { return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b); }

enum class Expect { kSkip, kWrite, kEither };
constexpr int kNobody = -1, kEitherOfTwo = -2;

// What the epoch holds: each catalog cell's value and the variant that wrote
// it last (kEitherOfTwo: one of two that ran at once).
class Model {
 public:
  Model() : values_(kObjects * kCatalogMeasurements * kValues, NAN), writers_(kObjects, kNobody) {}

  // A populate without --force of variant v.
  Expect expect(int v) const {
    bool either = false;
    for (uint64_t o = kVariants[v].first; o < kVariants[v].end; ++o) {
      if (writers_[o] != v && writers_[o] != kEitherOfTwo) return Expect::kWrite;
      either |= writers_[o] == kEitherOfTwo;
    }
    return either ? Expect::kEither : Expect::kSkip;
  }

  uint64_t finite_cells_overwritten(int v) const {
    uint64_t count = 0;
    for_each_cell(v,
                  [&](size_t i, float value) { count += std::isfinite(values_[i]) && !same_bits(values_[i], value); });
    return count;
  }

  void write(int v, int writer) {
    for_each_cell(v, [&](size_t i, float value) { values_[i] = value; });
    for (uint64_t o = kVariants[v].first; o < kVariants[v].end; ++o) writers_[o] = writer;
  }

  // Objects of both x and y take what the store holds (checked to be one of theirs).
  void ran_at_once(int x, int y, const std::vector<float>& epoch) {
    for (uint64_t o = 0; o < kObjects; ++o) {
      if (!kVariants[x].has(o) || !kVariants[y].has(o)) continue;
      writers_[o] = kEitherOfTwo;
      for (uint64_t m = 0; m < kCatalogMeasurements; ++m) {
        for (uint64_t v = 0; v < kValues; ++v) {
          const float held = epoch[store_index(o, m, v)];
          EXPECT_TRUE(same_bits(held, kVariants[x].value(o, m, v)) || same_bits(held, kVariants[y].value(o, m, v)))
              << "object " << o << " holds " << held << ", neither writer's value";
          values_[index(o, m, v)] = held;
        }
      }
    }
  }

  // Whether the epoch (store order, every measurement) holds what the model does.
  ::testing::AssertionResult matches(const std::vector<float>& epoch) const {
    for (uint64_t o = 0; o < kObjects; ++o) {
      for (uint64_t m = 0; m < kStoreMeasurements.size(); ++m) {
        for (uint64_t v = 0; v < kValues; ++v) {
          const float want = m < kCatalogMeasurements ? values_[index(o, m, v)] : NAN;
          if (!same_bits(epoch[store_index(o, m, v)], want)) {
            return ::testing::AssertionFailure() << "object " << o << " measurement " << m << " value " << v
                                                 << ": store " << epoch[store_index(o, m, v)] << ", model " << want;
          }
        }
      }
    }
    return ::testing::AssertionSuccess();
  }

  // Whether the epoch holds variant v's values in all its cells.
  static bool holds(int v, const std::vector<float>& epoch) {
    for (uint64_t o = kVariants[v].first; o < kVariants[v].end; ++o) {
      for (uint64_t m = 0; m < kCatalogMeasurements; ++m) {
        for (uint64_t k = 0; k < kValues; ++k) {
          if (!same_bits(epoch[store_index(o, m, k)], kVariants[v].value(o, m, k))) return false;
        }
      }
    }
    return true;
  }

 private:
  static size_t index(uint64_t o, uint64_t m, uint64_t v) { return (o * kCatalogMeasurements + m) * kValues + v; }
  static size_t store_index(uint64_t o, uint64_t m, uint64_t v) {
    return (o * kStoreMeasurements.size() + m) * kValues + v;
  }
  template <class Visit>
  void for_each_cell(int v, Visit&& visit) const {
    for (uint64_t o = kVariants[v].first; o < kVariants[v].end; ++o) {
      for (uint64_t m = 0; m < kCatalogMeasurements; ++m) {
        for (uint64_t k = 0; k < kValues; ++k) visit(index(o, m, k), kVariants[v].value(o, m, k));
      }
    }
  }

  std::vector<float> values_;
  std::vector<int> writers_;  // by object: every variant gives every catalog measurement
};

// A store of one epoch, the catalogs, and the model of what it holds.
class JournalSteps : public ::testing::Test {
 protected:
  PopulateResult populate(int v, bool force, bool no_overwrite, lightcurve::Strategy strategy) {
    return store_.populate(
        kEpoch, tables_[v],
        {.strategy = strategy, .journal_id = kVariants[v].journal_id, .force = force, .no_overwrite = no_overwrite});
  }
  std::vector<float> epoch() const { return store_.epoch(kEpoch).data; }

  void sequential_step(int v, bool force, bool no_overwrite, lightcurve::Strategy strategy) {
    const Expect expected = force ? Expect::kWrite : model_.expect(v);
    const uint64_t overwrites = model_.finite_cells_overwritten(v);
    if (no_overwrite && expected != Expect::kSkip && overwrites != 0) {
      const auto before = files_of(directory_.path());
      EXPECT_TRUE(ThrowsError(
          ErrorKind::kBadInput, [&] { populate(v, force, no_overwrite, strategy); },
          [&](const Error& error) {
            EXPECT_NE(error.reason().find(std::to_string(overwrites) + " finite values of epoch " + kEpoch),
                      std::string::npos)
                << error.reason();
          }));
      EXPECT_TRUE(before == files_of(directory_.path())) << "a refused populate changed the store";
      return;
    }
    const PopulateResult result = populate(v, force, no_overwrite, strategy);
    if (result.already_done) {
      EXPECT_NE(expected, Expect::kWrite) << "skipped though the store does not hold its values";
      EXPECT_TRUE(Model::holds(v, epoch()));
    } else {
      EXPECT_NE(expected, Expect::kSkip) << "rewritten though the store holds its values";
      EXPECT_EQ(result.finite_cells_overwritten, overwrites);
    }
    model_.write(v, v);
  }

  void step_at_once(int x, int y, bool force, lightcurve::Strategy strategy) {
    const Expect expect_x = force ? Expect::kWrite : model_.expect(x);
    const Expect expect_y = force ? Expect::kWrite : model_.expect(y);
    PopulateResult result_x, result_y;
    std::thread other([&] { result_y = populate(y, force, false, strategy); });
    result_x = populate(x, force, false, strategy);
    other.join();
    const bool shared = kVariants[x].overlaps(kVariants[y]);
    for (const auto& [expected, result] : {std::pair{expect_x, &result_x}, std::pair{expect_y, &result_y}}) {
      if (expected == Expect::kWrite) {
        EXPECT_FALSE(result->already_done);
      }
      if (expected == Expect::kSkip && !shared) {
        EXPECT_TRUE(result->already_done);
      }
    }
    // One that skipped decided before the other began, which then wrote
    // last; two that skipped touch no object in common.
    if (result_x.already_done || result_y.already_done) {
      const int skipped = result_x.already_done ? x : y, other_one = skipped == x ? y : x;
      model_.write(skipped, skipped);
      model_.write(other_one, other_one);
      return;
    }
    model_.write(x, x);
    model_.write(y, y);
    if (shared) model_.ran_at_once(x, y, epoch());
  }

  TempDir directory_;
  LightCurveStore store_ =
      LightCurveStore::create(std::make_shared<DirectoryStore>(directory_.path()), create_options());
  std::vector<catalog::Table> tables_ = [] {
    std::vector<catalog::Table> tables;
    for (const Variant& variant : kVariants) tables.push_back(table_of(variant));
    return tables;
  }();
  Model model_;
};

class JournalModel : public JournalSteps, public ::testing::WithParamInterface<unsigned> {};

TEST_P(JournalModel, SkipsExactlyWhenTheStoreHoldsTheCatalog) {
  std::mt19937 random(GetParam());
  std::uniform_int_distribution<int> variant(0, kVariantCount - 1), percent(0, 99);
  std::uniform_int_distribution<size_t> strategy(0, std::size(kStrategies) - 1);
  for (int step = 0; step < 30; ++step) {
    const int v = variant(random);
    const bool force = percent(random) < 15, no_overwrite = percent(random) < 20;
    const lightcurve::Strategy how = kStrategies[strategy(random)];
    if (percent(random) < 25) {
      int w = variant(random);
      if (w == v) w = (v + 1) % kVariantCount;
      SCOPED_TRACE(fmt::format("step {}: {} and {} at once{}", step, kVariants[v].journal_id, kVariants[w].journal_id,
                               force ? " --force" : ""));
      step_at_once(v, w, force, how);
    } else {
      SCOPED_TRACE(fmt::format("step {}: {}{}{}", step, kVariants[v].journal_id, force ? " --force" : "",
                               no_overwrite ? " --no-overwrite" : ""));
      sequential_step(v, force, no_overwrite, how);
    }
    ASSERT_TRUE(model_.matches(epoch()));
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, JournalModel, ::testing::Range(1u, 17u));

TEST_F(JournalSteps, APopulateKilledMidwayIsRedoneThenSkipped) {
  populate(0, false, false, lightcurve::Strategy::kMaskedSlab);
  populate(3, false, false, lightcurve::Strategy::kMaskedSlab);
  // A rerun of A with --force killed after it began: recorded, never completed.
  DirectoryStore files(directory_.path());
  lightcurve::Journal journal(files);
  const lightcurve::PopulateRecord a = journal.read().epochs.at(kEpoch).front();
  ASSERT_EQ(a.details["catalog"], kVariants[0].journal_id);
  journal.begin(kEpoch, a.entry, a.cells);
  EXPECT_FALSE(populate(3, false, false, lightcurve::Strategy::kMaskedSlab).already_done)
      << "P0 skipped though the killed populate may have overwritten it";
  EXPECT_FALSE(populate(0, false, false, lightcurve::Strategy::kMaskedSlab).already_done);
  EXPECT_TRUE(populate(0, false, false, lightcurve::Strategy::kMaskedSlab).already_done);
  const auto history = journal.read().epochs.at(kEpoch);
  EXPECT_EQ(history.size(), 2u) << "P0 and the rerun of A, which replaced the killed one";
  EXPECT_TRUE(std::all_of(history.begin(), history.end(), [](const auto& record) { return record.completed; }));
}

// A journal written before histories: entries without cells or order.
TEST(JournalCells, AnEntryWithoutHistoryHoldsItsCellsOnlyAlone) {
  MemoryStore store;
  const std::string text =
      R"({"generation": 4, "epochs": {"e0": {"x": {"catalog": "x.cat"}}, "e1": {"x": {}, "y": {}}}})";
  store.set(".lcstore/journal.json", std::as_bytes(std::span(text)));
  lightcurve::Journal journal(store);
  EXPECT_TRUE(journal.current("e0", "x"));
  EXPECT_FALSE(journal.current("e1", "x")) << "which of x and y wrote last is not known";
  EXPECT_FALSE(journal.current("e1", "y"));
  const uint64_t began = journal.begin("e0", "z", lightcurve::CellRanges::of({3}, {0}));
  journal.complete("e0", began, {{"catalog", "z.cat"}});
  EXPECT_TRUE(journal.current("e0", "z"));
  EXPECT_FALSE(journal.current("e0", "x")) << "its cells are unknown, so all of them";
  EXPECT_EQ(journal.read().epochs.at("e0").front().details["catalog"], "x.cat");
}

TEST(JournalCells, OverlapNeedsASharedObjectAndMeasurement) {
  using lightcurve::CellRanges;
  const CellRanges low = CellRanges::of({0, 1, 2, 5}, {0, 1}), high = CellRanges::of({3, 4, 6}, {0, 1});
  EXPECT_EQ(low.objects, (std::vector<CellRanges::Run>{{0, 3, 1}, {5, 1, 1}}));
  EXPECT_FALSE(low.overlaps(high));
  EXPECT_TRUE(low.overlaps(CellRanges::of({5}, {1})));
  EXPECT_FALSE(low.overlaps(CellRanges::of({0, 1, 2, 5}, {2})));
  EXPECT_TRUE(low.overlaps(CellRanges{.every_cell = true}));
  // Writers partitioned by every other object: one run each.
  std::vector<uint64_t> even, odd;
  for (uint64_t row = 0; row < 50000; ++row) (row % 2 == 0 ? even : odd).push_back(row);
  const CellRanges evens = CellRanges::of(even, {0}), odds = CellRanges::of(odd, {0});
  EXPECT_EQ(evens.objects, (std::vector<CellRanges::Run>{{0, 25000, 2}}));
  EXPECT_FALSE(evens.overlaps(odds));
  EXPECT_FALSE(odds.overlaps(evens));
  EXPECT_TRUE(evens.overlaps(CellRanges::of({7, 49998}, {0})));
  EXPECT_TRUE(odds.overlaps(CellRanges::of({7, 49998}, {0})));
  EXPECT_FALSE(odds.overlaps(CellRanges::of({8, 49998}, {0})));
}

}  // namespace
}  // namespace lcstore::testing
