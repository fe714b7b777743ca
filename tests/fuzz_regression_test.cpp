// Inputs that crashed, hung or over-allocated a parser, kept as regression
// tests: the fuzz harnesses (fuzz/harnesses.h) run on every input kept in
// tests/regressions/<harness>/, and the reported cases are checked for their
// messages, in the library and through the command line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "harnesses.h"
#include "lcstore/catalog/read_catalog.h"
#include "lcstore/error.h"
#include "lcstore/storage/memory_store.h"
#include "lcstore/zarr/metadata.h"
#include "lightcurve/journal.h"
#include "test_support.h"
#include "zarr/codec.h"

namespace fs = std::filesystem;
using namespace lcstore;
using namespace lcstore::zarr;
using lcstore::testing::read_file;
using lcstore::testing::run_command;
using lcstore::testing::TempDir;
using lcstore::testing::ThrowsError;
using lcstore::testing::write_file;
using nlohmann::json;

namespace {

const fs::path kRegressions = fs::path(LCSTORE_SOURCE_DIR) / "tests" / "regressions";
const fs::path kFixtures = LCSTORE_FIXTURES;

// Asserts that `text` contains `part`.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// A float64 array's zarr.json (the f64_1d fixture's fields) with `shape` and `chunks`.
json array_document(const Shape& shape, const Shape& chunks) {
  return {{"zarr_format", 3},
          {"node_type", "array"},
          {"shape", shape},
          {"data_type", "float64"},
          {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", chunks}}}}},
          {"chunk_key_encoding", {{"name", "default"}}},
          {"fill_value", 0.0},
          {"codecs", json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}})},
          {"attributes", json::object()}};
}

// `depth` objects nested in "attributes", as text (too deep to build as json).
std::string deeply_nested_document(size_t depth) {
  std::string text = array_document({41}, {16}).dump();
  std::string nested;
  for (size_t i = 0; i < depth; ++i) nested += "{\"a\":";
  nested += "1" + std::string(depth, '}');
  text.replace(text.find("\"attributes\":{}"), 15, "\"attributes\":" + nested);
  return text;
}

}  // namespace

TEST(FuzzRegressions, EveryKeptInputIsRefusedCleanly) {
  size_t inputs = 0;
  for (const fs::directory_entry& harness : fs::directory_iterator(kRegressions)) {
    const auto run = fuzz::harness_named(harness.path().filename().string());
    ASSERT_NE(run, nullptr) << harness.path() << " names no harness of fuzz/harnesses.h";
    for (const fs::directory_entry& input : fs::directory_iterator(harness.path())) {
      SCOPED_TRACE(input.path().string());
      const std::string bytes = read_file(input.path());
      run({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      ++inputs;
    }
  }
  EXPECT_GT(inputs, 0u);
}

TEST(FuzzRegressions, JsonNestedTooDeeplyIsRefused) {
  for (size_t depth : {size_t{kMaxJsonDepth}, size_t{100000}}) {
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kInvalidMetadata, [&] { parse_json_document(deeply_nested_document(depth), "zarr.json"); },
        [](const Error& error) {
          EXPECT_TRUE(Contains(error.what(), "zarr.json: JSON nested deeper than 256 levels"));
        }));
  }
  // The array itself is one level, attributes a second.
  const json document = parse_json_document(deeply_nested_document(kMaxJsonDepth - 2), "zarr.json");
  EXPECT_EQ(ArrayMetadata::from_json(document, "zarr.json").shape, Shape{41});
}

TEST(FuzzRegressions, ShapesAndChunksBeyondWhatCanBeDecodedAreRefused) {
  const uint64_t two_to_40 = uint64_t{1} << 40;
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kInvalidMetadata,
      [&] {
        ArrayMetadata::from_json(array_document({two_to_40, two_to_40}, {1, 1}), "zarr.json");
      },
      [](const Error& error) {
        EXPECT_TRUE(Contains(error.what(), "shape [1099511627776, 1099511627776] holds more than 2^64 bytes"));
      }));
  const uint64_t ten_to_18 = 1'000'000'000'000'000'000;
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kUnsupported, [&] { ArrayMetadata::from_json(array_document({ten_to_18}, {ten_to_18}), "zarr.json"); },
      [](const Error& error) {
        EXPECT_TRUE(Contains(error.what(), "chunk_shape [1000000000000000000] decodes to 8000000000000000000 bytes"));
      }));
  // A shard's index (16 bytes per inner chunk) is bounded as a chunk is.
  json sharded = array_document({1u << 29}, {1u << 27});
  sharded["data_type"] = "uint8";
  sharded["fill_value"] = 0;
  sharded["codecs"] = json::array({{{"name", "sharding_indexed"},
                                    {"configuration",
                                     {{"chunk_shape", {1}},
                                      {"codecs", json::array({{{"name", "bytes"}}})},
                                      {"index_codecs", json::array({{{"name", "bytes"}}})}}}}});
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kInvalidMetadata, [&] { ArrayMetadata::from_json(sharded, "zarr.json"); },
      [](const Error& error) { EXPECT_TRUE(Contains(error.what(), "an index of 134217728 inner chunks per shard")); }));
}

// 8 MiB of zeros compressed, stored as a chunk of 1024 floats: each
// compressor stops at the chunk's 4096 bytes instead of expanding it all.
TEST(FuzzRegressions, CompressedChunksDoNotExpandBeyondTheChunk) {
  auto chain = [](const std::string& compressor, uint64_t elements) {
    const json codecs =
        json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, json::parse(compressor)});
    return CodecChain::parse(codecs, ChunkSpec{DataType::kFloat32, {elements}, FillValue::of<float>(0)}, "test");
  };
  for (const char* compressor :
       {R"({"name": "gzip", "configuration": {"level": 1}})",
        R"({"name": "zstd", "configuration": {"level": 1, "checksum": false}})",
        R"({"name": "blosc", "configuration": {"cname": "lz4", "clevel": 1, "shuffle": "noshuffle", "typesize": 4,
            "blocksize": 0}})"}) {
    SCOPED_TRACE(compressor);
    const CodecChain large = chain(compressor, 1u << 21);
    const Bytes bomb = large.encode(Chunk::filled(large.spec()));
    ASSERT_LT(bomb.size(), 100'000u);
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kCorruptData, [&] { chain(compressor, 1024).decode(bomb, "c/0"); },
        [](const Error& error) { EXPECT_TRUE(Contains(error.what(), "4096")) << error.what(); }));
  }
}

// A FITS_1.0 fixture with one header card's value replaced.
fs::path fits_with(const TempDir& dir, const std::string& card, const std::string& value) {
  std::string text = read_file(kFixtures / "sextractor-field-a" / "epoch_000.fits_1_0.cat");
  const size_t at = text.find(card);
  EXPECT_NE(at, std::string::npos);
  text.replace(at + 10, 20, std::string(20 - value.size(), ' ') + value);
  const fs::path path = dir.path() / (card.substr(0, 6) + ".fits");
  write_file(path, text);
  return path;
}

TEST(FuzzRegressions, FitsTablesLargerOrOtherThanTheirFieldsAreRefused) {
  TempDir dir;
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { catalog::read_catalog(fits_with(dir, "NAXIS2  =", "1000000000000000")); },
      [](const Error& error) {
        EXPECT_TRUE(Contains(error.what(), "file truncated: the table's 1000000000000000 rows"));
      }));
  // One row narrower than its fields: read as rows, every object would shift.
  const std::string header = read_file(kFixtures / "sextractor-field-a" / "epoch_000.fits_1_0.cat");
  const size_t naxis1 = header.find("NAXIS1  =", header.find("XTENSION"));
  const uint64_t width = std::stoull(header.substr(naxis1 + 10, 20));
  std::string text = header;
  text.replace(naxis1 + 10, 20, fmt::format("{:>20}", width - 4));
  write_file(dir.path() / "narrow.fits", text);
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { catalog::read_catalog(dir.path() / "narrow.fits", {.allow_empty = true}); },
      [&](const Error& error) {
        EXPECT_TRUE(Contains(error.what(), fmt::format("NAXIS1 = {} bytes per row, but the fields (TFORMn) add up "
                                                       "to {}",
                                                       width - 4, width)));
      }));
  // CFITSIO names a card by what precedes its first space or "=": "NAXIS2 SI"
  // is NAXIS2 to it, without a value indicator (it asked for 10^16 bytes).
  std::string misnamed = header;
  misnamed.replace(header.find("NAXIS2  = ", header.find("XTENSION")), 10, "NAXIS2 SI ");
  write_file(dir.path() / "misnamed.fits", misnamed);
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kBadInput, [&] { catalog::read_catalog(dir.path() / "misnamed.fits"); },
      [](const Error& error) { EXPECT_TRUE(Contains(error.what(), "NAXIS2 must be an integer")); }));
}

TEST(FuzzRegressions, JournalWithAnEpochRecordThatIsNotAnObjectIsCorrupt) {
  MemoryStore store;
  const std::string text = R"({"generation": 1, "epochs": {"000": [1]}})";
  store.set(".lcstore/journal.json", std::as_bytes(std::span(text)));
  EXPECT_TRUE(ThrowsError(ErrorKind::kCorruptData, [&] { lightcurve::Journal(store).advance(); }));
}

// The issue's reports, through the command line: an error and exit 1, not a
// crash (139) or "internal error: std::bad_alloc" (3).
TEST(FuzzRegressions, CommandsRefuseWhatCannotBeRead) {
  TempDir dir;
  auto array = [&](const std::string& name, const std::string& document) {
    fs::create_directories(dir.path() / name);
    write_file(dir.path() / name / "zarr.json", document);
    return (dir.path() / name).string();
  };
  const std::string deep = array("deep", deeply_nested_document(100000));
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{{"zarr", "info", deep}, {"zarr", "dump", deep}, {"fsck", deep}}) {
    std::vector<std::string> argv{LCSTORE_CLI};
    argv.insert(argv.end(), command.begin(), command.end());
    const auto result = run_command(argv);
    EXPECT_EQ(result.exit_code, 1) << result;
    // fsck reports what it found on stdout.
    EXPECT_TRUE(Contains(result.err + result.out, "JSON nested deeper than 256 levels")) << result;
  }
  const uint64_t two_to_40 = uint64_t{1} << 40;
  const auto overflow = run_command(
      {LCSTORE_CLI, "zarr", "info", array("overflow", array_document({two_to_40, two_to_40}, {1, 1}).dump())});
  EXPECT_EQ(overflow.exit_code, 1) << overflow;
  EXPECT_TRUE(Contains(overflow.err, "holds more than 2^64 bytes")) << overflow;
  // 10^15 elements is a valid array, but more than dump can hold in memory.
  const auto large = run_command(
      {LCSTORE_CLI, "zarr", "dump", array("large", array_document({uint64_t{1'000'000'000'000'000}}, {16}).dump())});
  EXPECT_EQ(large.exit_code, 1) << large;
  EXPECT_TRUE(Contains(large.err, "elements need 16000000000000000 bytes of memory to dump")) << large;
}
