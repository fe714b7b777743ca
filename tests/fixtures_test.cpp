// Reading what zarr-python 3.0.6 and xarray wrote: every fixture of
// MANIFEST.json, cell by cell, whole and partially; the consolidated group;
// the xarray light-curve dataset.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/array.h"
#include "lcstore/zarr/group.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using zarr::Array;
using zarr::DataType;
using zarr::DimSelection;
using zarr::Group;
using zarr::GroupMetadata;
using zarr::NodeType;
using zarr::select_all;
using zarr::Selection;
using zarr::Shape;

static_assert(std::endian::native == std::endian::little, "the expected files are little-endian");

const fs::path kRoot = fs::path(LCSTORE_FIXTURES) / "zarr-python-3.0.6";

std::shared_ptr<Store> fixture_store(const std::string& name) { return std::make_shared<DirectoryStore>(kRoot / name); }

json read_json(const fs::path& path) { return zarr::parse_json_document(read_file(path), path.string()); }

// A little-endian file of 8-byte values.
template <typename T>
std::vector<T> read_values(const fs::path& path) {
  static_assert(sizeof(T) == 8);
  const std::string bytes = read_file(path);
  if (bytes.size() % 8 != 0) throw std::runtime_error(path.string() + " is not a whole number of 8-byte values");
  std::vector<T> values(bytes.size() / 8);
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

// Reads any numeric array and converts each cell to Out (exactly, for the
// types the fixtures use).
template <typename Out>
std::vector<Out> read_converted(const Array& array, const Selection& selection) {
  auto convert = [&]<typename T>(T*) {
    const std::vector<T> values = array.read<T>(selection);
    return std::vector<Out>(values.begin(), values.end());
  };
  switch (array.data_type()) {
    case DataType::kInt8:
      return convert(static_cast<int8_t*>(nullptr));
    case DataType::kInt16:
      return convert(static_cast<int16_t*>(nullptr));
    case DataType::kInt32:
      return convert(static_cast<int32_t*>(nullptr));
    case DataType::kInt64:
      return convert(static_cast<int64_t*>(nullptr));
    case DataType::kUint8:
      return convert(static_cast<uint8_t*>(nullptr));
    case DataType::kUint16:
      return convert(static_cast<uint16_t*>(nullptr));
    case DataType::kUint32:
      return convert(static_cast<uint32_t*>(nullptr));
    case DataType::kUint64:
      return convert(static_cast<uint64_t*>(nullptr));
    case DataType::kFloat32:
      return convert(static_cast<float*>(nullptr));
    case DataType::kFloat64:
      return convert(static_cast<double*>(nullptr));
    default:
      break;
  }
  throw std::runtime_error("data type " + std::string(zarr::name_of(array.data_type())) + " is not numeric");
}

// Exact equality of every cell; NaN matches NaN (at the same positions).
template <typename T>
::testing::AssertionResult SameValues(const std::vector<T>& expected, const std::vector<T>& actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure() << "expected " << expected.size() << " values, got " << actual.size();
  }
  uint64_t wrong = 0;
  ::testing::Message examples;
  for (size_t i = 0; i < expected.size(); ++i) {
    bool same;
    if constexpr (std::is_floating_point_v<T>) {
      same = std::isnan(expected[i]) ? std::isnan(actual[i])
                                     : std::bit_cast<uint64_t>(expected[i]) == std::bit_cast<uint64_t>(actual[i]);
    } else {
      same = expected[i] == actual[i];
    }
    if (!same && ++wrong <= 3) examples << "\n  cell " << i << ": expected " << expected[i] << ", got " << actual[i];
  }
  if (wrong == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << wrong << " of " << expected.size() << " cells differ:" << examples;
}

// --- Every manifest entry ------------------------------------------------------

struct ManifestEntry {
  std::string name;
  bool is_group = false;
  Shape shape;
  std::string dtype;
  std::string expected;  // "f64", "i64" or "json"
  std::string problem;   // why the entry could not be read, if it could not
};

// One entry per manifest item; an item that cannot be read becomes an entry
// whose test fails (and so does a manifest that cannot be read at all).
std::vector<ManifestEntry> load_manifest() {
  std::vector<ManifestEntry> entries;
  json manifest;
  try {
    manifest = read_json(kRoot / "MANIFEST.json");
    if (!manifest.is_array() || manifest.empty()) throw std::runtime_error("MANIFEST.json lists no fixture");
  } catch (const std::exception& error) {
    return {ManifestEntry{.name = "MANIFEST", .problem = error.what()}};
  }
  for (const json& item : manifest) {
    ManifestEntry entry;
    try {
      entry.name = item.at("name").get<std::string>();
      entry.is_group = item.value("kind", "array") == "group";
      if (!entry.is_group) {
        entry.shape = item.at("shape").get<Shape>();
        entry.dtype = item.at("dtype").get<std::string>();
        entry.expected = item.at("expected").get<std::string>();
      }
    } catch (const std::exception& error) {
      if (entry.name.empty()) entry.name = "entry_" + std::to_string(entries.size());
      entry.problem = "unreadable manifest entry " + item.dump() + ": " + error.what();
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

class Fixture : public ::testing::TestWithParam<ManifestEntry> {
 protected:
  Array open_array() const {
    const ManifestEntry& entry = GetParam();
    Array array = Array::open(fixture_store(entry.name), "");
    EXPECT_EQ(array.shape(), entry.shape);
    const std::string type(zarr::name_of(array.data_type()));
    // numpy reports zarr-python's variable-length strings as "object".
    EXPECT_EQ(entry.dtype == "object" ? "string" : entry.dtype, type);
    return array;
  }
  fs::path expected_file() const { return kRoot / (GetParam().name + ".expected." + GetParam().expected); }

  // The selections every array is also read with, partially.
  static std::vector<Selection> partial_selections(const Shape& shape) {
    std::vector<Selection> selections{box_selection(shape), mixed_read_selection(shape)};
    Selection last_cell, first_cell;
    for (uint64_t extent : shape) {
      last_cell.push_back(DimSelection::indices({extent - 1}));
      first_cell.push_back(DimSelection::range(0, 1));
    }
    selections.push_back(last_cell);
    selections.push_back(first_cell);
    return selections;
  }

  template <typename T>
  void check_numeric(const Array& array, const std::vector<T>& expected) {
    ASSERT_EQ(expected.size(), zarr::element_count(array.shape())) << expected_file();
    EXPECT_TRUE(SameValues(expected, read_converted<T>(array, select_all(array.shape()))));
    for (const Selection& selection : partial_selections(array.shape())) {
      EXPECT_TRUE(SameValues(select_cells(expected, array.shape(), selection), read_converted<T>(array, selection)));
    }
  }

  void check_strings(const Array& array, const std::vector<std::string>& expected) {
    ASSERT_EQ(expected.size(), zarr::element_count(array.shape())) << expected_file();
    EXPECT_EQ(array.read_strings(select_all(array.shape())), expected);
    for (const Selection& selection : partial_selections(array.shape())) {
      EXPECT_EQ(array.read_strings(selection), select_cells(expected, array.shape(), selection));
    }
  }
};

TEST_P(Fixture, ReadsExactlyTheExpectedValues) {
  const ManifestEntry& entry = GetParam();
  ASSERT_TRUE(entry.problem.empty()) << entry.problem;
  if (entry.is_group) {
    // Every node below the group opens, and every array reads whole.
    const Group group = Group::open(fixture_store(entry.name), "");
    ASSERT_FALSE(group.children().empty());
    std::vector<Group> pending{group};
    int arrays = 0;
    while (!pending.empty()) {
      const Group current = pending.back();
      pending.pop_back();
      for (const Group::Child& child : current.children()) {
        if (child.type == NodeType::kGroup) {
          pending.push_back(current.open_group(child.name));
        } else {
          const Array array = current.open_array(child.name);
          EXPECT_NO_THROW(read_converted<double>(array, select_all(array.shape()))) << child.name;
          ++arrays;
        }
      }
    }
    EXPECT_GT(arrays, 0);
    return;
  }
  const Array array = open_array();
  if (entry.expected == "f64") {
    check_numeric(array, read_values<double>(expected_file()));
  } else if (entry.expected == "i64") {
    check_numeric(array, read_values<int64_t>(expected_file()));
  } else if (entry.expected == "json") {
    check_strings(array, read_json(expected_file()).get<std::vector<std::string>>());
  } else {
    FAIL() << "unknown kind of expected values \"" << entry.expected << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(ZarrPython, Fixture, ::testing::ValuesIn(load_manifest()),
                         [](const ::testing::TestParamInfo<ManifestEntry>& test) {
                           std::string name = test.param.name;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// The manifest covers what the README promises; a fixture dropped from it
// would silently lose its test.
TEST(Manifest, ListsEveryFixture) {
  std::vector<std::string> names;
  for (const ManifestEntry& entry : load_manifest()) names.push_back(entry.name);
  for (const char* name :
       {"f32_raw", "f32_crc32c", "f32_zstd", "f32_gzip", "f32_blosc_lz4_shuffle", "f32_blosc_zstd_bitshuffle",
        "f32_zstd_crc32c", "f32_big_endian", "f32_transpose", "f32_sharded_end", "f32_sharded_start", "f32_sparse_fill",
        "i32_zstd", "u16_1d", "f64_1d", "str_vlen", "group_consolidated", "xarray_lightcurves.zarr/lightcurves"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

// Missing chunks of the sparse fixture read as the fill value (NaN).
TEST(SparseFixture, MissingChunksAreFillValue) {
  const Array array = Array::open(fixture_store("f32_sparse_fill"), "");
  const std::vector<double> expected = read_values<double>(kRoot / "f32_sparse_fill.expected.f64");
  EXPECT_FALSE(fs::exists(kRoot / "f32_sparse_fill" / "c" / "1")) << "the fixture should lack chunks";
  // Chunk (1, 0, 0, 0) is missing: rows 10..19.
  const Selection missing{DimSelection::range(10, 20), DimSelection::all(5), DimSelection::all(2),
                          DimSelection::range(0, 4)};
  const std::vector<float> cells = array.read<float>(missing);
  for (float cell : cells) ASSERT_TRUE(std::isnan(cell));
  EXPECT_TRUE(
      SameValues(select_cells(expected, array.shape(), missing), std::vector<double>(cells.begin(), cells.end())));
}

// --- The consolidated group ----------------------------------------------------

TEST(GroupFixture, ConsolidatedGroupWithNestedNodes) {
  const Group root = Group::open(fixture_store("group_consolidated"), "");
  EXPECT_EQ(root.attributes(), (json{{"title", "fixture group"}, {"n", 3}}));
  const std::vector<Group::Child> children = root.children();
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].name, "sub");
  EXPECT_EQ(children[0].type, NodeType::kGroup);

  const Group sub = root.open_group("sub");
  EXPECT_EQ(sub.attributes(), (json{{"kind", "nested"}}));
  const std::vector<Group::Child> sub_children = sub.children();
  ASSERT_EQ(sub_children.size(), 1u);
  EXPECT_EQ(sub_children[0].name, "x");
  EXPECT_EQ(sub_children[0].type, NodeType::kArray);
  const Array x = sub.open_array("x");
  EXPECT_EQ(x.shape(), Shape{7});
  EXPECT_EQ(x.read<float>(select_all({7})), (std::vector<float>{0, 1, 2, 3, 4, 5, 6}));

  const GroupMetadata& metadata = root.metadata();
  ASSERT_EQ(metadata.consolidated, GroupMetadata::Consolidated::kInline);
  std::vector<std::string> nodes;
  for (const auto& [path, node] : metadata.consolidated_nodes) nodes.push_back(path);
  EXPECT_EQ(nodes, (std::vector<std::string>{"sub", "sub/x"}));
  EXPECT_EQ(metadata.consolidated_nodes.at("sub/x"), read_json(kRoot / "group_consolidated/sub/x/zarr.json"));
  EXPECT_EQ(metadata.consolidated_nodes.at("sub")["attributes"], (json{{"kind", "nested"}}));
  EXPECT_EQ(zarr::ArrayMetadata::from_json(metadata.consolidated_nodes.at("sub/x"), "sub/x").to_json(),
            x.metadata().to_json());
}

// --- The xarray light-curve dataset --------------------------------------------

TEST(XarrayFixture, DatasetLayout) {
  const Group dataset = Group::open(fixture_store("xarray_lightcurves.zarr"), "");
  std::vector<std::string> names;
  for (const Group::Child& child : dataset.children()) {
    EXPECT_EQ(child.type, NodeType::kArray) << child.name;
    names.push_back(child.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"dec", "epoch", "epoch_mjd", "lightcurves", "measurement", "object", "ra",
                                             "value", "x_image", "y_image"}));

  // Inline consolidated metadata: one node per array, identical to its zarr.json.
  const GroupMetadata& metadata = dataset.metadata();
  ASSERT_EQ(metadata.consolidated, GroupMetadata::Consolidated::kInline);
  std::vector<std::string> nodes;
  for (const auto& [path, node] : metadata.consolidated_nodes) nodes.push_back(path);
  EXPECT_EQ(nodes, names);
  for (const std::string& name : names) {
    const json& node = metadata.consolidated_nodes.at(name);
    EXPECT_EQ(node, read_json(kRoot / "xarray_lightcurves.zarr" / name / "zarr.json")) << name;
    const Array array = dataset.open_array(name);
    EXPECT_EQ(array.shape(), node["shape"].get<Shape>()) << name;
    EXPECT_EQ(array.metadata().attributes, node["attributes"]) << name;
  }
}

TEST(XarrayFixture, LightCurvesArray) {
  const Array lightcurves = Group::open(fixture_store("xarray_lightcurves.zarr"), "").open_array("lightcurves");
  EXPECT_EQ(lightcurves.shape(), (Shape{120, 3, 2, 9}));
  EXPECT_EQ(lightcurves.data_type(), DataType::kFloat32);
  ASSERT_TRUE(lightcurves.metadata().dimension_names.has_value());
  EXPECT_EQ(*lightcurves.metadata().dimension_names,
            (std::vector<std::optional<std::string>>{"object", "measurement", "value", "epoch"}));
  const json& attributes = lightcurves.metadata().attributes;
  EXPECT_EQ(attributes["_FillValue"], "AAAAAAAA+H8=");  // base64 of float64 NaN, as xarray stores it
  EXPECT_EQ(attributes["coordinates"], "dec epoch_mjd ra x_image y_image");
  EXPECT_EQ(attributes["n_objects"], 120);
  EXPECT_EQ(lightcurves.metadata().fill_value, zarr::FillValue::of(0.0f));

  const std::vector<double> expected = read_values<double>(kRoot / "xarray_lightcurves.zarr/lightcurves.expected.f64");
  const std::vector<float> cells = lightcurves.read<float>(select_all(lightcurves.shape()));
  EXPECT_TRUE(SameValues(expected, std::vector<double>(cells.begin(), cells.end())));
  // One light curve: object 57, measurement "iso", value "mag", every epoch.
  const Selection curve{DimSelection::range(57, 58), DimSelection::range(1, 2), DimSelection::range(0, 1),
                        DimSelection::all(9)};
  const std::vector<float> one = lightcurves.read<float>(curve);
  EXPECT_TRUE(
      SameValues(select_cells(expected, lightcurves.shape(), curve), std::vector<double>(one.begin(), one.end())));
}

TEST(XarrayFixture, CoordinateArrays) {
  const Group dataset = Group::open(fixture_store("xarray_lightcurves.zarr"), "");
  auto strings = [&](const std::string& name) {
    const Array array = dataset.open_array(name);
    EXPECT_EQ(array.data_type(), DataType::kString) << name;
    EXPECT_EQ(*array.metadata().dimension_names, std::vector<std::optional<std::string>>{name}) << name;
    return array.read_strings(select_all(array.shape()));
  };
  EXPECT_EQ(strings("measurement"), (std::vector<std::string>{"auto", "iso", "aper_2"}));
  EXPECT_EQ(strings("value"), (std::vector<std::string>{"mag", "mag_err"}));
  const std::vector<std::string> objects = strings("object");
  ASSERT_EQ(objects.size(), 120u);
  for (size_t i = 0; i < objects.size(); ++i) EXPECT_EQ(objects[i], "I" + std::to_string(i));
  const std::vector<std::string> epochs = strings("epoch");
  ASSERT_EQ(epochs.size(), 9u);
  EXPECT_EQ(epochs.front(), "r58520832");
  EXPECT_EQ(epochs.back(), "r58522880");
  for (const std::string& epoch : epochs) EXPECT_EQ(epoch.size(), 9u) << epoch;
  EXPECT_EQ(dataset.open_array("object").read_strings({DimSelection::indices({119, 0, 64})}),
            (std::vector<std::string>{"I119", "I0", "I64"}));

  // Numeric coordinates: the epochs' MJDs, positions inside the field.
  std::vector<double> mjd = dataset.open_array("epoch_mjd").read<double>(select_all({9}));
  for (size_t i = 0; i < mjd.size(); ++i) EXPECT_EQ(mjd[i], 58000.0 + 7.5 * static_cast<double>(i));
  for (const char* name : {"ra", "dec"}) {
    const std::vector<double> values = dataset.open_array(name).read<double>(select_all({120}));
    const double low = std::string(name) == "ra" ? 265.0 : 65.0;
    for (double value : values) {
      EXPECT_GE(value, low) << name;
      EXPECT_LT(value, low + 1.0) << name;
    }
  }
  for (const char* name : {"x_image", "y_image"}) {
    const std::vector<float> values = dataset.open_array(name).read<float>(select_all({120}));
    for (float value : values) {
      EXPECT_GT(value, 0.0f) << name;
      EXPECT_LT(value, 4096.0f) << name;
    }
  }
}

}  // namespace
}  // namespace lcstore::testing
