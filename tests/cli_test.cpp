// The lcstore command-line program, run as a subprocess on the zarr-python
// fixtures: `zarr info` reports what zarr.json says, `zarr dump` reproduces
// the expected files byte for byte, `zarr reencode` round-trips through every
// codec and chunking, `zarr demo` checks itself, and bad input fails with a
// message naming the file and the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const fs::path kFixtures = fs::path(LCSTORE_FIXTURES) / "zarr-python-3.0.6";

// Runs a command that must succeed and returns its stdout.
std::string succeed(const std::vector<std::string>& args) {
  CommandResult result = lcstore(args);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.err, "");
  return result.out;
}

json info(const fs::path& node) {
  const std::string out = succeed({"zarr", "info", node.string()});
  json summary = json::parse(out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(summary.is_discarded()) << "`zarr info` printed no JSON:\n" << out;
  return summary;
}

std::string dump(const fs::path& array, const std::string& format) {
  return succeed({"zarr", "dump", "--as", format, array.string()});
}

json read_json(const fs::path& path) { return json::parse(read_file(path)); }

void write_json(const fs::path& path, const json& document) { write_file(path, document.dump(2)); }

// Asserts that a command failed through lcstore's error path (exit status 1,
// "lcstore: <kind>: <subject>: <reason>" on stderr, nothing on stdout) and
// that the message contains every one of `parts`.
void expect_failure(const CommandResult& result, const std::vector<std::string>& parts) {
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.err, ::testing::StartsWith("lcstore: ")) << result;
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("internal error"))) << result;
  EXPECT_EQ(result.out, "") << result;
  for (const std::string& part : parts) EXPECT_THAT(result.err, HasSubstr(part));
}

// ---------------------------------------------------------------------------
// The fixture arrays, as MANIFEST.json lists them.

struct FixtureArray {
  std::string name;      // path below the fixtures directory
  json shape;            // as in the manifest
  std::string dtype;     // numpy's name ("object" for strings)
  std::string expected;  // "f64", "i64" or "json"
};

void PrintTo(const FixtureArray& array, std::ostream* out) { *out << array.name; }

std::vector<FixtureArray> manifest_arrays() {
  std::vector<FixtureArray> arrays;
  try {
    for (const json& entry : read_json(kFixtures / "MANIFEST.json")) {
      if (entry.value("kind", "array") != "array") continue;
      arrays.push_back({entry.at("name"), entry.at("shape"), entry.at("dtype"), entry.at("expected")});
    }
  } catch (const std::exception&) {
    // An empty list fails ManifestListsTheFixtures below.
  }
  return arrays;
}

std::string test_name_of(std::string name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

fs::path expected_file(const FixtureArray& array) {
  fs::path path = kFixtures / array.name;
  path += ".expected." + array.expected;
  return path;
}

TEST(CliFixtures, ManifestListsTheFixtures) {
  // Guards the parameterised tests below against silently running on nothing.
  EXPECT_GE(manifest_arrays().size(), 17u) << "cannot read " << (kFixtures / "MANIFEST.json");
}

class CliFixtureArray : public ::testing::TestWithParam<FixtureArray> {};

TEST_P(CliFixtureArray, InfoReportsTheMetadata) {
  const FixtureArray& fixture = GetParam();
  const json document = read_json(kFixtures / fixture.name / "zarr.json");
  const json summary = info(kFixtures / fixture.name);
  EXPECT_EQ(summary["node_type"], "array");
  EXPECT_EQ(summary["shape"], fixture.shape);
  EXPECT_EQ(summary["data_type"], fixture.dtype == "object" ? "string" : fixture.dtype);
  EXPECT_EQ(summary["codecs"], document["codecs"]);
  EXPECT_EQ(summary["fill_value"], document["fill_value"]);
  EXPECT_EQ(summary["attributes"], document["attributes"]);
  EXPECT_EQ(summary["dimension_names"], document.value("dimension_names", json(nullptr)));
  const json& grid_chunks = document["chunk_grid"]["configuration"]["chunk_shape"];
  if (document["codecs"][0]["name"] == "sharding_indexed") {
    EXPECT_EQ(summary["chunks"], document["codecs"][0]["configuration"]["chunk_shape"]);
    EXPECT_EQ(summary["shards"], grid_chunks);
  } else {
    EXPECT_EQ(summary["chunks"], grid_chunks);
    EXPECT_EQ(summary["shards"], nullptr);
  }
}

TEST_P(CliFixtureArray, DumpEqualsTheExpectedFile) {
  const FixtureArray& fixture = GetParam();
  const std::string expected = read_file(expected_file(fixture));
  const std::string out = dump(kFixtures / fixture.name, fixture.expected);
  if (fixture.expected == "json") {
    EXPECT_EQ(json::parse(out), json::parse(expected));
  } else {
    ASSERT_EQ(out.size(), expected.size());
    EXPECT_TRUE(out == expected) << "dump --as " << fixture.expected << " differs from " << expected_file(fixture);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CliFixtureArray, ::testing::ValuesIn(manifest_arrays()),
                         [](const auto& test) { return test_name_of(test.param.name); });

TEST(CliDump, JsonOfNumbersHasNullForNaN) {
  const std::string expected = read_file(kFixtures / "f32_raw.expected.f64");
  json values = json::array();
  for (size_t i = 0; i < expected.size(); i += sizeof(double)) {
    double value;
    std::memcpy(&value, expected.data() + i, sizeof value);
    values.push_back(std::isnan(value) ? json(nullptr) : json(value));
  }
  ASSERT_TRUE(std::find(values.begin(), values.end(), nullptr) != values.end()) << "f32_raw has no NaN to check";
  EXPECT_EQ(json::parse(dump(kFixtures / "f32_raw", "json")), values);
  // Integers as JSON numbers.
  const json integers = json::parse(dump(kFixtures / "u16_1d", "json"));
  const std::string expected_integers = read_file(kFixtures / "u16_1d.expected.i64");
  ASSERT_EQ(integers.size() * sizeof(int64_t), expected_integers.size());
  for (size_t i = 0; i < integers.size(); ++i) {
    int64_t value;
    std::memcpy(&value, expected_integers.data() + i * sizeof value, sizeof value);
    EXPECT_EQ(integers[i], value) << "cell " << i;
  }
}

TEST(CliInfo, ShardedArrayReportsInnerChunksAndShards) {
  const json summary = info(kFixtures / "f32_sharded_end");
  EXPECT_EQ(summary["shape"], json({37, 5, 2, 11}));
  EXPECT_EQ(summary["data_type"], "float32");
  EXPECT_EQ(summary["chunks"], json({10, 5, 2, 4}));
  EXPECT_EQ(summary["shards"], json({20, 5, 2, 8}));
  EXPECT_EQ(summary["fill_value"], "NaN");
  ASSERT_EQ(summary["codecs"].size(), 1u);
  const json& sharding = summary["codecs"][0];
  EXPECT_EQ(sharding["name"], "sharding_indexed");
  EXPECT_EQ(sharding["configuration"]["index_location"], "end");
  EXPECT_EQ(sharding["configuration"]["codecs"][1]["name"], "zstd");
  EXPECT_EQ(sharding["configuration"]["index_codecs"][1]["name"], "crc32c");
  EXPECT_EQ(summary["dimension_names"], nullptr);
}

TEST(CliInfo, XarrayArrayReportsDimensionNames) {
  const json summary = info(kFixtures / "xarray_lightcurves.zarr" / "lightcurves");
  EXPECT_EQ(summary["dimension_names"], json({"object", "measurement", "value", "epoch"}));
  EXPECT_EQ(summary["shape"], json({120, 3, 2, 9}));
  EXPECT_EQ(summary["shards"], nullptr);
}

TEST(CliInfo, ConsolidatedGroup) {
  const json summary = info(kFixtures / "group_consolidated");
  EXPECT_EQ(summary["node_type"], "group");
  EXPECT_EQ(summary["attributes"], json({{"title", "fixture group"}, {"n", 3}}));
  EXPECT_EQ(summary["children"], json::parse(R"([{"name": "sub", "node_type": "group"}])"));
  EXPECT_EQ(summary["consolidated_nodes"], json({"sub", "sub/x"}));
}

TEST(CliInfo, XarrayDatasetGroup) {
  const json summary = info(kFixtures / "xarray_lightcurves.zarr");
  const std::vector<std::string> variables = {"dec",    "epoch", "epoch_mjd", "lightcurves", "measurement",
                                              "object", "ra",    "value",     "x_image",     "y_image"};
  json children = json::array();
  for (const std::string& name : variables) children.push_back({{"name", name}, {"node_type", "array"}});
  EXPECT_EQ(summary["children"], children);
  EXPECT_EQ(summary["consolidated_nodes"], json(variables));
}

TEST(CliInfo, GroupWithoutConsolidatedMetadata) {
  TempDir temp;
  const fs::path group = temp.path() / "g";
  fs::copy(kFixtures / "group_consolidated", group, fs::copy_options::recursive);
  json document = read_json(group / "zarr.json");
  document.erase("consolidated_metadata");
  write_json(group / "zarr.json", document);
  const json summary = info(group);
  EXPECT_EQ(summary["consolidated_nodes"], nullptr);
  EXPECT_EQ(summary["children"], json::parse(R"([{"name": "sub", "node_type": "group"}])"));
}

// ---------------------------------------------------------------------------
// reencode: any chunking and codec chain holds the same values.

struct ReencodeCase {
  std::string name;
  std::string source;                // fixture array
  std::vector<std::string> options;  // after SRC DST
  json chunks;                       // expected in the target's info
  json shards;
  std::vector<std::string> codecs;  // expected codec names (of the inner chain when sharded)
};

void PrintTo(const ReencodeCase& c, std::ostream* out) { *out << c.name; }

std::vector<ReencodeCase> reencode_cases() {
  const json same = json({10, 5, 2, 4});  // the chunks of f32_raw
  return {
      {"zstd5", "f32_raw", {"--codec", "zstd:5"}, same, nullptr, {"bytes", "zstd"}},
      {"gzip", "f32_raw", {"--codec", "gzip"}, same, nullptr, {"bytes", "gzip"}},
      {"blosc_lz4_shuffle", "f32_raw", {"--codec", "blosc:lz4:5:shuffle"}, same, nullptr, {"bytes", "blosc"}},
      {"blosc_zstd_bitshuffle", "f32_raw", {"--codec", "blosc:zstd:3:bitshuffle"}, same, nullptr, {"bytes", "blosc"}},
      {"crc32c", "f32_raw", {"--codec", "crc32c"}, same, nullptr, {"bytes", "crc32c"}},
      {"none", "f32_zstd", {"--codec", "none"}, json({10, 5, 1, 11}), nullptr, {"bytes"}},
      {"zstd_then_crc32c",
       "f32_transpose",
       {"--codec", "zstd:3", "--codec", "crc32c"},
       same,
       nullptr,
       {"bytes", "zstd", "crc32c"}},
      {"chunks",
       "f32_zstd",
       {"--chunks", "7,5,2,3", "--codec", "zstd:5"},
       json({7, 5, 2, 3}),
       nullptr,
       {"bytes", "zstd"}},
      {"shards",
       "f32_raw",
       {"--chunks", "10,5,2,4", "--shards", "20,5,2,8", "--codec", "zstd:5"},
       same,
       json({20, 5, 2, 8}),
       {"bytes", "zstd"}},
      {"shards_crc32c",
       "f32_gzip",
       {"--chunks", "5,5,2,3", "--shards", "10,5,2,6", "--codec", "crc32c"},
       json({5, 5, 2, 3}),
       json({10, 5, 2, 6}),
       {"bytes", "crc32c"}},
      {"unshard", "f32_sharded_end", {"--codec", "gzip"}, same, nullptr, {"bytes", "gzip"}},
      {"sparse",
       "f32_sparse_fill",
       {"--chunks", "5,5,2,5", "--codec", "zstd:5"},
       json({5, 5, 2, 5}),
       nullptr,
       {"bytes", "zstd"}},
      {"int32_blosc", "i32_zstd", {"--codec", "blosc:zstd:3:bitshuffle"}, json({8, 5}), nullptr, {"bytes", "blosc"}},
      {"uint16_sharded",
       "u16_1d",
       {"--chunks", "10", "--shards", "40", "--codec", "crc32c"},
       json({10}),
       json({40}),
       {"bytes", "crc32c"}},
      {"float64_none", "f64_1d", {"--codec", "none"}, json({16}), nullptr, {"bytes"}},
      {"strings_gzip", "str_vlen", {"--codec", "gzip"}, json({10}), nullptr, {"vlen-utf8", "gzip"}},
      {"strings_sharded",
       "str_vlen",
       {"--chunks", "5", "--shards", "10", "--codec", "zstd:5"},
       json({5}),
       json({10}),
       {"vlen-utf8", "zstd"}},
  };
}

class CliReencode : public ::testing::TestWithParam<ReencodeCase> {};

TEST_P(CliReencode, KeepsEveryValue) {
  const ReencodeCase& c = GetParam();
  TempDir temp;
  const fs::path source = kFixtures / c.source;
  const fs::path target = temp.path() / "target";
  std::vector<std::string> args = {"zarr", "reencode", source.string(), target.string()};
  args.insert(args.end(), c.options.begin(), c.options.end());
  succeed(args);

  const json summary = info(target);
  EXPECT_EQ(summary["shape"], info(source)["shape"]);
  EXPECT_EQ(summary["chunks"], c.chunks);
  EXPECT_EQ(summary["shards"], c.shards);
  const json& chain = c.shards.is_null() ? summary["codecs"] : summary["codecs"][0]["configuration"]["codecs"];
  std::vector<std::string> names;
  for (const json& codec : chain) names.push_back(codec["name"]);
  EXPECT_EQ(names, c.codecs) << summary["codecs"].dump();

  const std::string format = source.filename() == "str_vlen" ? "json" : c.source.starts_with("f") ? "f64" : "i64";
  const std::string original = dump(source, format);
  ASSERT_FALSE(original.empty());
  EXPECT_TRUE(dump(target, format) == original) << "values differ after reencode " << c.name;
}

INSTANTIATE_TEST_SUITE_P(Variants, CliReencode, ::testing::ValuesIn(reencode_cases()),
                         [](const auto& test) { return test.param.name; });

TEST(CliReencode, ConfiguresTheCodecsAsAsked) {
  TempDir temp;
  succeed({"zarr", "reencode", (kFixtures / "f32_raw").string(), (temp.path() / "a").string(), "--codec",
           "blosc:zstd:3:bitshuffle", "--codec", "crc32c"});
  const json blosc = info(temp.path() / "a")["codecs"][1];
  EXPECT_EQ(blosc["configuration"]["cname"], "zstd");
  EXPECT_EQ(blosc["configuration"]["clevel"], 3);
  EXPECT_EQ(blosc["configuration"]["shuffle"], "bitshuffle");
  EXPECT_EQ(blosc["configuration"]["typesize"], 4);
  succeed({"zarr", "reencode", (kFixtures / "f32_raw").string(), (temp.path() / "b").string(), "--codec", "zstd:5"});
  EXPECT_EQ(info(temp.path() / "b")["codecs"][1]["configuration"]["level"], 5);
}

// ---------------------------------------------------------------------------
// demo

TEST(CliDemo, EveryArrayRoundTrips) {
  TempDir temp;
  const fs::path demo = temp.path() / "demo.zarr";
  const std::string out = succeed({"zarr", "demo", demo.string()});
  const std::vector<std::string> arrays = {
      "raw", "gzip", "zstd", "blosc_lz4_shuffle", "blosc_zstd_bitshuffle", "crc32c", "zstd_crc32c", "sharded_zstd"};
  for (const std::string& name : arrays) {
    bool reported_ok = false;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with(name + " ")) reported_ok = line.ends_with("  ok");
    }
    EXPECT_TRUE(reported_ok) << name << " is not reported \"ok\":\n" << out;
  }
  EXPECT_THAT(out, ::testing::ContainsRegex("object \\(strings\\).*  ok\n"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("MISMATCH")));

  const json records = json::parse(succeed({"zarr", "demo", (temp.path() / "again.zarr").string(), "--json"}));
  EXPECT_EQ(records["group"], (temp.path() / "again.zarr").string());
  ASSERT_EQ(records["arrays"].size(), arrays.size() + 1);
  for (size_t i = 0; i < arrays.size(); ++i) {
    EXPECT_EQ(records["arrays"][i]["array"], arrays[i]);
    EXPECT_EQ(records["arrays"][i]["round_trip"], "ok");
    EXPECT_GT(records["arrays"][i]["stored_bytes"].get<uint64_t>(), 0u);
    EXPECT_GT(records["arrays"][i]["ratio"].get<double>(), 0.0);
  }
  EXPECT_EQ(records["arrays"].back()["array"], "object (strings)");

  // The demo wrote the same values with every chain: check them independently.
  const json summary = info(demo);
  EXPECT_EQ(summary["children"].size(), arrays.size() + 1);
  EXPECT_EQ(summary["consolidated_nodes"].size(), arrays.size() + 1);
  const std::string raw = dump(demo / "raw", "f64");
  EXPECT_EQ(raw.size(), 200u * 8 * 2 * 30 * sizeof(double));
  for (const std::string& name : arrays) EXPECT_TRUE(dump(demo / name, "f64") == raw) << name;
  const json names = json::parse(dump(demo / "object", "json"));
  ASSERT_EQ(names.size(), 200u);
  EXPECT_EQ(names[0], "I1");
  EXPECT_EQ(names[199], "I200");
}

// ---------------------------------------------------------------------------
// Bad input: a clear message naming the file and the reason, exit status 1.

class CliBadInput : public ::testing::Test {
 protected:
  // A writable copy of a fixture.
  fs::path copy_of(const std::string& fixture) {
    const fs::path copy = temp_.path() / fs::path(fixture).filename();
    fs::copy(kFixtures / fixture, copy, fs::copy_options::recursive);
    return copy;
  }
  // Changes the copy's zarr.json.
  template <typename Edit>
  void edit_metadata(const fs::path& node, Edit&& edit) {
    json document = read_json(node / "zarr.json");
    edit(document);
    write_json(node / "zarr.json", document);
  }

  TempDir temp_;
};

struct TruncationCase {
  std::string fixture;
  std::string chunk;   // key of the chunk (shard) to truncate
  std::string reason;  // expected in the message
  std::string format = "f64";
};

void PrintTo(const TruncationCase& c, std::ostream* out) { *out << c.fixture << " " << c.chunk; }

class CliTruncatedChunk : public CliBadInput, public ::testing::WithParamInterface<TruncationCase> {};

TEST_P(CliTruncatedChunk, NamesTheChunkAndTheReason) {
  const TruncationCase& c = GetParam();
  const fs::path array = copy_of(c.fixture);
  const fs::path chunk = array / c.chunk;
  ASSERT_TRUE(fs::is_regular_file(chunk));
  fs::resize_file(chunk, fs::file_size(chunk) / 2);
  expect_failure(lcstore({"zarr", "dump", "--as", c.format, array.string()}),
                 {chunk.string(), "corrupt data", c.reason});
}

INSTANTIATE_TEST_SUITE_P(Codecs, CliTruncatedChunk,
                         ::testing::Values(TruncationCase{"f32_raw", "c/1/0/0/2", "bytes: expected"},
                                           TruncationCase{"f32_zstd", "c/0/0/0/0", "zstd"},
                                           TruncationCase{"f32_gzip", "c/0/0/0/0", "gzip"},
                                           TruncationCase{"f32_blosc_lz4_shuffle", "c/0/0/0/0", "blosc"},
                                           TruncationCase{"f32_crc32c", "c/0/0/0/0", "crc32c"},
                                           TruncationCase{"f32_sharded_end", "c/0/0/0/0", "crc32c"},
                                           TruncationCase{"str_vlen", "c/0", "zstd", "json"}),
                         [](const auto& test) { return test.param.fixture; });

TEST_F(CliBadInput, Crc32cMismatchNamesTheChunk) {
  for (const std::string fixture : {"f32_crc32c", "f32_zstd_crc32c"}) {
    const fs::path array = copy_of(fixture);
    const fs::path chunk = array / "c/1/0/0/1";
    std::string bytes = read_file(chunk);
    ASSERT_GT(bytes.size(), 20u);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
    write_file(chunk, bytes);
    SCOPED_TRACE(fixture);
    expect_failure(lcstore({"zarr", "dump", "--as", "f64", array.string()}),
                   {chunk.string(), "crc32c checksum mismatch"});
  }
}

TEST_F(CliBadInput, InvalidJson) {
  const fs::path array = copy_of("f32_raw");
  write_file(array / "zarr.json", R"({"zarr_format": 3, "node_type": "array", "shape": [37, 5)");
  for (const char* command : {"info", "dump"}) {
    SCOPED_TRACE(command);
    expect_failure(lcstore({"zarr", command, array.string()}), {(array / "zarr.json").string(), "not valid JSON"});
  }
  // A broken child makes its parent group's listing fail, naming the child.
  const fs::path group = copy_of("group_consolidated");
  write_file(group / "sub" / "zarr.json", "{,}");
  expect_failure(lcstore({"zarr", "info", group.string()}), {(group / "sub" / "zarr.json").string(), "not valid JSON"});
}

TEST_F(CliBadInput, UnknownCodec) {
  const fs::path array = copy_of("f32_zstd");
  edit_metadata(array, [](json& document) { document["codecs"][1]["name"] = "lzma9"; });
  expect_failure(lcstore({"zarr", "info", array.string()}),
                 {(array / "zarr.json").string(), "unsupported", "unknown codec \"lzma9\""});
}

TEST_F(CliBadInput, ChunkShapeOfAnotherRank) {
  const fs::path array = copy_of("f32_raw");
  edit_metadata(array, [](json& document) { document["chunk_grid"]["configuration"]["chunk_shape"] = {10, 5, 2}; });
  expect_failure(lcstore({"zarr", "info", array.string()}),
                 {(array / "zarr.json").string(), "chunk_shape has 3 dimensions but shape has 4"});
}

TEST_F(CliBadInput, FillValueOfTheWrongType) {
  struct Case {
    const char* fixture;
    json fill;
  };
  for (const Case& c : {Case{"f32_raw", "abc"}, Case{"f32_raw", true}, Case{"f32_raw", "0x7fc0"}, Case{"i32_zstd", 1.5},
                        Case{"i32_zstd", "NaN"}, Case{"u16_1d", -1}, Case{"u16_1d", 65536}, Case{"str_vlen", 0}}) {
    SCOPED_TRACE(std::string(c.fixture) + " with fill_value " + c.fill.dump());
    const fs::path array = copy_of(c.fixture);
    edit_metadata(array, [&](json& document) { document["fill_value"] = c.fill; });
    expect_failure(lcstore({"zarr", "info", array.string()}),
                   {(array / "zarr.json").string(), "fill_value " + c.fill.dump() + " is not a valid"});
    fs::remove_all(array);
  }
}

TEST_F(CliBadInput, SpecialFloatFillValuesAreValid) {
  for (const char* fill : {"NaN", "Infinity", "-Infinity", "0x7fc00000"}) {
    SCOPED_TRACE(fill);
    const fs::path array = copy_of("f32_raw");
    edit_metadata(array, [&](json& document) { document["fill_value"] = fill; });
    EXPECT_EQ(info(array)["fill_value"], fill == std::string("0x7fc00000") ? "NaN" : fill);
    fs::remove_all(array);
  }
}

TEST_F(CliBadInput, FillValueFillsMissingChunks) {
  // f32_sparse_fill has missing chunks; with "Infinity" as fill value exactly
  // their cells (NaN before) read as +inf.
  const fs::path array = copy_of("f32_sparse_fill");
  edit_metadata(array, [](json& document) { document["fill_value"] = "Infinity"; });
  const std::string before = read_file(kFixtures / "f32_sparse_fill.expected.f64");
  const std::string after = dump(array, "f64");
  ASSERT_EQ(after.size(), before.size());
  size_t changed = 0;
  for (size_t i = 0; i < before.size(); i += sizeof(double)) {
    double old_value, new_value;
    std::memcpy(&old_value, before.data() + i, sizeof(double));
    std::memcpy(&new_value, after.data() + i, sizeof(double));
    if (std::memcmp(&old_value, &new_value, sizeof(double)) == 0) continue;
    ++changed;
    EXPECT_TRUE(std::isnan(old_value) && std::isinf(new_value) && new_value > 0) << "cell " << i / sizeof(double);
  }
  EXPECT_GT(changed, 0u);
}

TEST_F(CliBadInput, NonexistentPath) {
  const std::string missing = (temp_.path() / "no" / "such.zarr").string();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"zarr", "info", missing}, std::vector<std::string>{"zarr", "dump", missing},
        std::vector<std::string>{"zarr", "reencode", missing, (temp_.path() / "out").string()}}) {
    SCOPED_TRACE(args[1]);
    expect_failure(lcstore(args), {missing, "no such directory"});
  }
  EXPECT_FALSE(fs::exists(temp_.path() / "out"));
  // A directory that is not a Zarr node.
  fs::create_directories(temp_.path() / "empty");
  expect_failure(lcstore({"zarr", "info", (temp_.path() / "empty").string()}),
                 {(temp_.path() / "empty").string(), "no Zarr node"});
}

TEST_F(CliBadInput, BadCodecSpec) {
  const std::string source = (kFixtures / "f32_raw").string();
  const fs::path target = temp_.path() / "target";
  for (const char* spec : {"lzma", "blosc", "zstd:fast", "gzip:"}) {
    SCOPED_TRACE(spec);
    expect_failure(lcstore({"zarr", "reencode", source, target.string(), "--codec", spec}),
                   {"--codec", "\"" + std::string(spec) + "\""});
    EXPECT_FALSE(fs::exists(target)) << "a rejected --codec must not leave a target behind";
  }
  // Well-formed but out of the codec's range: the codec names itself.
  expect_failure(lcstore({"zarr", "reencode", source, target.string(), "--codec", "gzip:12"}), {"gzip", "level"});
  expect_failure(lcstore({"zarr", "reencode", source, target.string(), "--codec", "blosc:snappy2"}),
                 {"blosc", "snappy2"});
}

TEST_F(CliBadInput, BadChunksOrShards) {
  const std::string source = (kFixtures / "f32_raw").string();
  const std::string target = (temp_.path() / "target").string();
  expect_failure(lcstore({"zarr", "reencode", source, target, "--chunks", "10,0,2,4"}),
                 {"--chunks", "not a list of positive integers"});
  expect_failure(lcstore({"zarr", "reencode", source, target, "--chunks", "10,5"}),
                 {"--chunks", "one extent per dimension"});
  // Shards must be whole multiples of the inner chunks.
  expect_failure(lcstore({"zarr", "reencode", source, target, "--chunks", "10,5,2,4", "--shards", "15,5,2,8"}),
                 {"sharding_indexed"});
}

TEST_F(CliBadInput, ReencodeOntoItsOwnSource) {
  // Rewriting chunks that are still to be read would destroy the array.
  const fs::path array = copy_of("f32_raw");
  const fs::path same = array.parent_path() / "." / array.filename();
  fs::create_directory_symlink(array, temp_.path() / "link");
  for (const fs::path& target : {array, same, temp_.path() / "link"}) {
    SCOPED_TRACE(target.string());
    expect_failure(lcstore({"zarr", "reencode", array.string(), target.string(), "--chunks", "5,5,2,3"}),
                   {target.string(), "is the source array itself"});
  }
  EXPECT_TRUE(dump(array, "f64") == read_file(kFixtures / "f32_raw.expected.f64"));
}

TEST_F(CliBadInput, FloatArrayAsInt64) {
  // NaN has no int64 value (converting it is undefined behaviour).
  const fs::path array = kFixtures / "f32_raw";
  expect_failure(lcstore({"zarr", "dump", "--as", "i64", array.string()}),
                 {array.string(), "floating-point array dumps only --as f64 or json"});
}

TEST_F(CliBadInput, BadCommandLine) {
  CommandResult result = lcstore({"zarr", "dump", "--as", "f99", (kFixtures / "f32_raw").string()});
  EXPECT_NE(result.exit_code, 0) << result;
  EXPECT_THAT(result.err, HasSubstr("--as")) << result;
  result = lcstore({"zarr"});
  EXPECT_NE(result.exit_code, 0) << result;
  EXPECT_THAT(result.err, HasSubstr("subcommand is required")) << result;
}

}  // namespace
}  // namespace lcstore::testing
