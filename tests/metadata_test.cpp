// zarr.json parsing, validation and serialisation: arrays, groups, fill
// values, chunk key encodings, consolidated metadata.
#include "lcstore/zarr/metadata.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "lcstore/error.h"
#include "test_support.h"

namespace lcstore::testing {
namespace {

using nlohmann::json;
using zarr::ArrayMetadata;
using zarr::ChunkKeyEncoding;
using zarr::DataType;
using zarr::FillValue;
using zarr::GroupMetadata;

const char kSubject[] = "test/zarr.json";

// A valid array document using every optional field.
json array_document() {
  return json::parse(R"({
    "zarr_format": 3,
    "node_type": "array",
    "shape": [10, 20],
    "data_type": "float32",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 7]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": "NaN",
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    "attributes": {"units": "mag", "nested": {"list": [1, 2.5, "x", null]}},
    "dimension_names": ["object", null],
    "storage_transformers": []
  })");
}

json group_document() {
  return json{{"zarr_format", 3}, {"node_type", "group"}, {"attributes", {{"title", "t"}, {"n", 3}}}};
}

ArrayMetadata parse_array(const json& document) { return ArrayMetadata::from_json(document, kSubject); }

template <typename T>
T value_of(const FillValue& fill) {
  T value;
  std::memcpy(&value, fill.bytes(), sizeof(T));
  return value;
}

// --- Arrays ------------------------------------------------------------------

TEST(ArrayMetadata, ParsesEveryField) {
  const ArrayMetadata metadata = parse_array(array_document());
  EXPECT_EQ(metadata.shape, (zarr::Shape{10, 20}));
  EXPECT_EQ(metadata.data_type, DataType::kFloat32);
  EXPECT_EQ(metadata.chunk_shape, (zarr::Shape{5, 7}));
  EXPECT_EQ(metadata.chunk_key_encoding.kind, ChunkKeyEncoding::Kind::kDefault);
  EXPECT_EQ(metadata.chunk_key_encoding.separator, '/');
  EXPECT_EQ(std::bit_cast<uint32_t>(value_of<float>(metadata.fill_value)), 0x7fc00000u);
  EXPECT_EQ(metadata.codecs, array_document()["codecs"]);
  EXPECT_EQ(metadata.attributes, array_document()["attributes"]);
  ASSERT_TRUE(metadata.dimension_names.has_value());
  ASSERT_EQ(metadata.dimension_names->size(), 2u);
  EXPECT_EQ((*metadata.dimension_names)[0], "object");
  EXPECT_EQ((*metadata.dimension_names)[1], std::nullopt);
  EXPECT_TRUE(metadata.extra_fields.empty());
}

TEST(ArrayMetadata, RoundTripsThroughJson) {
  const json document = array_document();
  EXPECT_EQ(parse_array(document).to_json(), document);
  EXPECT_EQ(parse_array(parse_array(document).to_json()).to_json(), document);
}

TEST(ArrayMetadata, OptionalFieldsGetTheirDefaults) {
  json document = array_document();
  document.erase("attributes");
  document.erase("dimension_names");
  document.erase("storage_transformers");
  const ArrayMetadata metadata = parse_array(document);
  EXPECT_EQ(metadata.attributes, json::object());
  EXPECT_FALSE(metadata.dimension_names.has_value());
  const json written = metadata.to_json();
  EXPECT_EQ(written["attributes"], json::object());
  EXPECT_EQ(written["storage_transformers"], json::array());
  EXPECT_FALSE(written.contains("dimension_names"));

  document["dimension_names"] = nullptr;
  EXPECT_FALSE(parse_array(document).dimension_names.has_value());
}

// Every zarr.json zarr-python wrote for the fixtures serialises back unchanged.
TEST(ArrayMetadata, ZarrPythonDocumentsRoundTripUnchanged) {
  const std::filesystem::path root = std::filesystem::path(LCSTORE_FIXTURES) / "zarr-python-3.0.6";
  int arrays = 0, groups = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().filename() != "zarr.json") continue;
    SCOPED_TRACE(entry.path().string());
    const json document = zarr::parse_json_document(read_file(entry.path()), entry.path().string());
    if (document["node_type"] == "array") {
      EXPECT_EQ(parse_array(document).to_json(), document);
      ++arrays;
    } else {
      EXPECT_EQ(GroupMetadata::from_json(document, kSubject).to_json(), document);
      ++groups;
    }
  }
  EXPECT_GE(arrays, 20);
  EXPECT_GE(groups, 3);
}

TEST(ArrayMetadata, MissingRequiredFieldIsInvalid) {
  for (const char* field :
       {"zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs"}) {
    json document = array_document();
    document.erase(field);
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kInvalidMetadata, [&] { parse_array(document); },
        [&](const Error& error) {
          EXPECT_EQ(error.subject(), kSubject);
          EXPECT_NE(error.reason().find(field), std::string::npos) << error.what();
        }))
        << field;
  }
}

TEST(ArrayMetadata, WrongFormatOrNodeTypeIsInvalid) {
  json document = array_document();
  document["zarr_format"] = 2;
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
  document = array_document();
  document["node_type"] = "group";
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(parse_array(json::array()), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(GroupMetadata::from_json(array_document(), kSubject), kInvalidMetadata);
}

TEST(ArrayMetadata, UnknownFieldNeedsMustUnderstandFalse) {
  for (const json& value : {json(1), json("x"), json{{"x", 1}}, json{{"must_understand", true}}}) {
    json document = array_document();
    document["my_extension"] = value;
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kInvalidMetadata, [&] { parse_array(document); },
        [](const Error& error) { EXPECT_NE(error.reason().find("my_extension"), std::string::npos) << error.what(); }))
        << value.dump();
  }
  json document = array_document();
  const json extension = {{"must_understand", false}, {"config", {{"a", 1}}}};
  document["my_extension"] = extension;
  const ArrayMetadata metadata = parse_array(document);
  EXPECT_EQ(metadata.extra_fields, (json{{"my_extension", extension}}));
  EXPECT_EQ(metadata.to_json(), document) << "the extension is written back as it was";
}

TEST(ArrayMetadata, MustUnderstandMustBeTheBooleanFalse) {
  for (const json& flag : {json("false"), json(0), json(nullptr)}) {
    json document = array_document();
    document["my_extension"] = {{"must_understand", flag}};
    EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata) << flag.dump();
  }
}

TEST(ArrayMetadata, UnknownCodecIsUnsupported) {
  json document = array_document();
  document["codecs"].push_back({{"name", "lzma_from_the_future"}, {"configuration", json::object()}});
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kUnsupported, [&] { parse_array(document); },
      [](const Error& error) {
        EXPECT_NE(error.reason().find("lzma_from_the_future"), std::string::npos) << error.what();
      }));
}

TEST(ArrayMetadata, InvalidCodecChainsAreInvalid) {
  const json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  const json zstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
  for (const json& codecs : {json::array(), json::array({zstd}), json::array({zstd, bytes}),
                             json::array({bytes, bytes}), json("bytes"), json::array({json{{"configuration", {}}}})}) {
    json document = array_document();
    document["codecs"] = codecs;
    EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata) << codecs.dump();
  }
}

TEST(ArrayMetadata, UnsupportedDataTypesGridsAndEncodings) {
  json document = array_document();
  document["data_type"] = "complex64";
  EXPECT_LCSTORE_ERROR(parse_array(document), kUnsupported);
  document = array_document();
  document["chunk_grid"]["name"] = "rectilinear";
  EXPECT_LCSTORE_ERROR(parse_array(document), kUnsupported);
  document = array_document();
  document["chunk_key_encoding"] = {{"name", "fancy"}};
  EXPECT_LCSTORE_ERROR(parse_array(document), kUnsupported);
}

TEST(ArrayMetadata, ShapeErrorsAreInvalid) {
  auto with = [](const char* field, const json& shape) {
    json document = array_document();
    if (std::string(field) == "shape")
      document["shape"] = shape;
    else
      document["chunk_grid"]["configuration"]["chunk_shape"] = shape;
    return document;
  };
  EXPECT_LCSTORE_ERROR(parse_array(with("shape", {10, 20, 30})), kInvalidMetadata);  // rank mismatch
  EXPECT_LCSTORE_ERROR(parse_array(with("chunk_shape", {5})), kInvalidMetadata);     // rank mismatch
  EXPECT_LCSTORE_ERROR(parse_array(with("chunk_shape", {5, 0})), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(parse_array(with("shape", {10, -1})), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(parse_array(with("shape", {10, 2.5})), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(parse_array(with("shape", "10,20")), kInvalidMetadata);
  json document = array_document();
  document["chunk_grid"].erase("configuration");
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
}

TEST(ArrayMetadata, NonEmptyStorageTransformersAreRejected) {
  json document = array_document();
  document["storage_transformers"] = json::array({{{"name", "partial_reads"}}});
  EXPECT_LCSTORE_ERROR(parse_array(document), kUnsupported);
  document["storage_transformers"] = json::object();
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
}

TEST(ArrayMetadata, DimensionNamesMustMatchTheRank) {
  for (const json& names : {json::array({"object"}), json::array({"a", "b", "c"}), json::array({"a", 1}), json("ab")}) {
    json document = array_document();
    document["dimension_names"] = names;
    EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata) << names.dump();
  }
}

TEST(ArrayMetadata, AttributesMustBeAnObject) {
  json document = array_document();
  document["attributes"] = json::array();
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
}

// Any field replaced by a value of any JSON type: the document either parses
// or fails with an lcstore::Error, never with another exception (such as
// nlohmann's type_error) that would escape the library's error contract.
TEST(ArrayMetadata, WrongJsonTypesFailAsLcstoreErrors) {
  const json wrong_values[] = {
      5, -1, 2.5, "x", "false", json::array(), json::array({1}), json::object(), json{{"a", 1}}, nullptr, true, false};
  const char* pointers[] = {"/zarr_format",
                            "/node_type",
                            "/shape",
                            "/shape/0",
                            "/data_type",
                            "/chunk_grid",
                            "/chunk_grid/name",
                            "/chunk_grid/configuration",
                            "/chunk_grid/configuration/chunk_shape",
                            "/chunk_grid/configuration/chunk_shape/1",
                            "/chunk_key_encoding",
                            "/chunk_key_encoding/name",
                            "/chunk_key_encoding/configuration",
                            "/chunk_key_encoding/configuration/separator",
                            "/fill_value",
                            "/codecs",
                            "/codecs/0",
                            "/codecs/0/name",
                            "/codecs/0/configuration",
                            "/codecs/0/configuration/endian",
                            "/attributes",
                            "/dimension_names",
                            "/dimension_names/0",
                            "/storage_transformers",
                            "/extension",
                            "/extension/must_understand"};
  for (const char* pointer : pointers) {
    for (const json& value : wrong_values) {
      json document = array_document();
      document["extension"] = {{"must_understand", false}};
      document[json::json_pointer(pointer)] = value;
      try {
        parse_array(document);
      } catch (const Error&) {
      } catch (const std::exception& error) {
        ADD_FAILURE() << pointer << " = " << value.dump() << ": " << error.what();
      }
    }
  }
}

TEST(GroupMetadata, WrongJsonTypesFailAsLcstoreErrors) {
  const json wrong_values[] = {5, "x", "false", json::array(), json::object(), nullptr, true, false};
  for (const char* pointer :
       {"/zarr_format", "/node_type", "/attributes", "/consolidated_metadata", "/consolidated_metadata/kind",
        "/consolidated_metadata/metadata", "/consolidated_metadata/must_understand", "/extension/must_understand"}) {
    for (const json& value : wrong_values) {
      json document = group_document();
      document["consolidated_metadata"] = {
          {"kind", "inline"}, {"must_understand", false}, {"metadata", json::object()}};
      document["extension"] = {{"must_understand", false}};
      document[json::json_pointer(pointer)] = value;
      try {
        GroupMetadata::from_json(document, kSubject);
      } catch (const Error&) {
      } catch (const std::exception& error) {
        ADD_FAILURE() << pointer << " = " << value.dump() << ": " << error.what();
      }
    }
  }
}

TEST(ParseJsonDocument, InvalidTextIsInvalidMetadata) {
  for (const char* text : {"", "{", "{\"a\":}", "[1,]", "nul", "{\"zarr_format\": 3} trailing"}) {
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kInvalidMetadata, [&] { zarr::parse_json_document(text, "x/zarr.json"); },
        [](const Error& error) { EXPECT_EQ(error.subject(), "x/zarr.json"); }))
        << text;
  }
  EXPECT_EQ(zarr::parse_json_document(R"({"a": [1, "b"]})", "x"), (json{{"a", {1, "b"}}}));
}

// --- Fill values -------------------------------------------------------------

template <typename T>
void expect_fill(DataType type, const json& written, T expected, const json& canonical) {
  SCOPED_TRACE(std::string(zarr::name_of(type)) + " " + written.dump());
  const FillValue fill = FillValue::from_json(written, type, kSubject);
  EXPECT_EQ(fill, FillValue::of<T>(expected));
  EXPECT_EQ(fill.to_json(type), canonical);
  EXPECT_EQ(FillValue::from_json(fill.to_json(type), type, kSubject), fill) << "to_json reads back the same bits";
}

TEST(FillValue, Integers) {
  expect_fill<int8_t>(DataType::kInt8, -128, -128, -128);
  expect_fill<int8_t>(DataType::kInt8, 127, 127, 127);
  expect_fill<uint8_t>(DataType::kUint8, 255, 255, 255);
  expect_fill<int16_t>(DataType::kInt16, -32768, -32768, -32768);
  expect_fill<uint16_t>(DataType::kUint16, 65535, 65535, 65535);
  expect_fill<int32_t>(DataType::kInt32, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::min(),
                       std::numeric_limits<int32_t>::min());
  expect_fill<uint32_t>(DataType::kUint32, 4294967295u, 4294967295u, 4294967295u);
  expect_fill<int64_t>(DataType::kInt64, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::min());
  expect_fill<int64_t>(DataType::kInt64, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
                       std::numeric_limits<int64_t>::max());
  expect_fill<uint64_t>(DataType::kUint64, std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint64_t>::max(),
                        std::numeric_limits<uint64_t>::max());
  expect_fill<int32_t>(DataType::kInt32, 0, 0, 0);
  EXPECT_EQ(FillValue::zero(DataType::kInt32), FillValue::of<int32_t>(0));
}

TEST(FillValue, Booleans) {
  expect_fill<uint8_t>(DataType::kBool, true, 1, true);
  expect_fill<uint8_t>(DataType::kBool, false, 0, false);
}

TEST(FillValue, Floats) {
  const float nan32 = std::numeric_limits<float>::quiet_NaN();
  const double nan64 = std::numeric_limits<double>::quiet_NaN();
  const float inf32 = std::numeric_limits<float>::infinity();
  const double inf64 = std::numeric_limits<double>::infinity();
  expect_fill<float>(DataType::kFloat32, 1.5, 1.5f, 1.5);
  expect_fill<float>(DataType::kFloat32, 0, 0.0f, 0.0);
  expect_fill<float>(DataType::kFloat32, "NaN", nan32, "NaN");
  expect_fill<float>(DataType::kFloat32, "Infinity", inf32, "Infinity");
  expect_fill<float>(DataType::kFloat32, "-Infinity", -inf32, "-Infinity");
  expect_fill<float>(DataType::kFloat32, "0x7fc00000", nan32, "NaN");
  expect_fill<float>(DataType::kFloat32, "0x3f800000", 1.0f, 1.0);
  expect_fill<double>(DataType::kFloat64, -2.25, -2.25, -2.25);
  expect_fill<double>(DataType::kFloat64, 1e300, 1e300, 1e300);
  expect_fill<double>(DataType::kFloat64, "NaN", nan64, "NaN");
  expect_fill<double>(DataType::kFloat64, "Infinity", inf64, "Infinity");
  expect_fill<double>(DataType::kFloat64, "-Infinity", -inf64, "-Infinity");
  expect_fill<double>(DataType::kFloat64, "0x7ff8000000000000", nan64, "NaN");
  expect_fill<double>(DataType::kFloat64, "0x3FF0000000000000", 1.0, 1.0);
  // A NaN other than the canonical one keeps its payload.
  expect_fill<uint32_t>(DataType::kFloat32, "0x7fc00001", 0x7fc00001u, "0x7fc00001");
  expect_fill<uint64_t>(DataType::kFloat64, "0x7ff8000000000001", 0x7ff8000000000001u, "0x7ff8000000000001");
  // Negative zero keeps its sign.
  const FillValue negative_zero = FillValue::from_json(-0.0, DataType::kFloat64, kSubject);
  EXPECT_EQ(std::bit_cast<uint64_t>(value_of<double>(negative_zero)), 0x8000000000000000u);
  EXPECT_TRUE(std::signbit(negative_zero.to_json(DataType::kFloat64).get<double>()));
}

TEST(FillValue, Strings) {
  EXPECT_EQ(FillValue::from_json("", DataType::kString, kSubject).text(), "");
  EXPECT_EQ(FillValue::from_json("n/a é", DataType::kString, kSubject).text(), "n/a é");
  EXPECT_EQ(FillValue::from_json("n/a", DataType::kString, kSubject).to_json(DataType::kString), "n/a");
}

TEST(FillValue, OutOfRangeOrWrongTypeIsInvalid) {
  const std::vector<std::pair<DataType, json>> bad = {
      {DataType::kInt8, 128},
      {DataType::kInt8, -129},
      {DataType::kUint8, 256},
      {DataType::kUint8, json::parse("256")},  // parsed: stored as an unsigned JSON number
      {DataType::kInt8, json::parse("128")},
      {DataType::kUint16, json::parse("65536")},
      {DataType::kUint8, -1},
      {DataType::kInt16, 32768},
      {DataType::kUint16, 65536},
      {DataType::kInt32, 2147483648u},
      {DataType::kInt32, -2147483649LL},
      {DataType::kUint32, 4294967296u},
      {DataType::kInt64, 9223372036854775808u},
      {DataType::kUint64, -1},
      {DataType::kInt32, 1.5},
      {DataType::kInt32, "1"},
      {DataType::kInt32, true},
      {DataType::kInt32, nullptr},
      {DataType::kBool, 1},
      {DataType::kBool, "true"},
      {DataType::kString, 0},
      {DataType::kString, nullptr},
      {DataType::kFloat32, "nan"},
      {DataType::kFloat32, "inf"},
      {DataType::kFloat32, "0x7fc0000"},
      {DataType::kFloat32, "0x7fc0000g"},
      {DataType::kFloat32, "7fc00000"},
      {DataType::kFloat64, "0x7fc00000"},
      {DataType::kFloat64, nullptr},
      {DataType::kFloat64, json::array({1.0})},
  };
  for (const auto& [type, value] : bad) {
    EXPECT_LCSTORE_ERROR(FillValue::from_json(value, type, kSubject), kInvalidMetadata)
        << zarr::name_of(type) << " " << value.dump();
  }
}

TEST(FillValue, IsValidatedAsPartOfTheArray) {
  json document = array_document();
  document["data_type"] = "int32";
  document["fill_value"] = "0";
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
  document["fill_value"] = 4294967296u;
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
  document["fill_value"] = -7;
  EXPECT_EQ(parse_array(document).fill_value, FillValue::of<int32_t>(-7));

  document = array_document();
  document["data_type"] = "float64";
  document["fill_value"] = "0x7ff8000000000000";
  EXPECT_EQ(parse_array(document).fill_value, FillValue::of(std::numeric_limits<double>::quiet_NaN()));

  document = array_document();
  document["data_type"] = "string";
  document["codecs"] = json::array({{{"name", "vlen-utf8"}, {"configuration", json::object()}}});
  document["fill_value"] = 0;
  EXPECT_LCSTORE_ERROR(parse_array(document), kInvalidMetadata);
  document["fill_value"] = "";
  EXPECT_EQ(parse_array(document).fill_value.text(), "");
}

// --- Chunk key encodings -----------------------------------------------------

std::string key_of(const json& encoding, std::vector<uint64_t> coords) {
  json document = array_document();
  document["chunk_key_encoding"] = encoding;
  return parse_array(document).chunk_key_encoding.key(coords);
}

TEST(ChunkKeyEncoding, DefaultAndV2Keys) {
  const json default_slash = {{"name", "default"}};
  const json default_dot = {{"name", "default"}, {"configuration", {{"separator", "."}}}};
  const json v2_dot = {{"name", "v2"}};
  const json v2_slash = {{"name", "v2"}, {"configuration", {{"separator", "/"}}}};
  EXPECT_EQ(key_of(default_slash, {1, 0, 3}), "c/1/0/3");
  EXPECT_EQ(key_of(default_dot, {1, 0, 3}), "c.1.0.3");
  EXPECT_EQ(key_of(v2_dot, {1, 0, 3}), "1.0.3");
  EXPECT_EQ(key_of(v2_slash, {1, 0, 3}), "1/0/3");
  EXPECT_EQ(key_of(default_slash, {12}), "c/12");
  EXPECT_EQ(key_of(v2_dot, {12}), "12");
  // Zero-dimensional arrays.
  EXPECT_EQ(key_of(default_slash, {}), "c");
  EXPECT_EQ(key_of(default_dot, {}), "c");
  EXPECT_EQ(key_of(v2_dot, {}), "0");
  EXPECT_EQ(key_of(v2_slash, {}), "0");
}

TEST(ChunkKeyEncoding, ParsesDefaultsAndRoundTrips) {
  auto parse = [](const json& encoding) {
    json document = array_document();
    document["chunk_key_encoding"] = encoding;
    return parse_array(document);
  };
  const ArrayMetadata v2 = parse({{"name", "v2"}});
  EXPECT_EQ(v2.chunk_key_encoding.kind, ChunkKeyEncoding::Kind::kV2);
  EXPECT_EQ(v2.chunk_key_encoding.separator, '.');
  EXPECT_EQ(v2.to_json()["chunk_key_encoding"], (json{{"name", "v2"}, {"configuration", {{"separator", "."}}}}));
  const ArrayMetadata plain = parse({{"name", "default"}});
  EXPECT_EQ(plain.chunk_key_encoding.kind, ChunkKeyEncoding::Kind::kDefault);
  EXPECT_EQ(plain.chunk_key_encoding.separator, '/');
  const ArrayMetadata dotted = parse({{"name", "default"}, {"configuration", {{"separator", "."}}}});
  EXPECT_EQ(parse(dotted.to_json()["chunk_key_encoding"]).chunk_key_encoding.separator, '.');
  EXPECT_LCSTORE_ERROR(parse({{"name", "default"}, {"configuration", {{"separator", "-"}}}}), kInvalidMetadata);
  EXPECT_LCSTORE_ERROR(parse({{"configuration", {{"separator", "/"}}}}), kInvalidMetadata);
}

TEST(ChunkKeyEncoding, KeyOfAStruct) {
  ChunkKeyEncoding encoding;
  const std::vector<uint64_t> coords{4, 0};
  EXPECT_EQ(encoding.key(coords), "c/4/0");
  encoding.kind = ChunkKeyEncoding::Kind::kV2;
  encoding.separator = '.';
  EXPECT_EQ(encoding.key(coords), "4.0");
}

// --- Groups ------------------------------------------------------------------

TEST(GroupMetadata, WithoutConsolidatedMetadata) {
  const json document = group_document();
  const GroupMetadata metadata = GroupMetadata::from_json(document, kSubject);
  EXPECT_EQ(metadata.attributes, document["attributes"]);
  EXPECT_EQ(metadata.consolidated, GroupMetadata::Consolidated::kAbsent);
  EXPECT_TRUE(metadata.consolidated_nodes.empty());
  EXPECT_EQ(metadata.to_json(), document);
  EXPECT_FALSE(metadata.to_json().contains("consolidated_metadata"));

  const GroupMetadata bare = GroupMetadata::from_json({{"zarr_format", 3}, {"node_type", "group"}}, kSubject);
  EXPECT_EQ(bare.attributes, json::object());
}

TEST(GroupMetadata, NullConsolidatedMetadata) {
  json document = group_document();
  document["consolidated_metadata"] = nullptr;
  const GroupMetadata metadata = GroupMetadata::from_json(document, kSubject);
  EXPECT_EQ(metadata.consolidated, GroupMetadata::Consolidated::kNull);
  EXPECT_EQ(metadata.to_json(), document);
}

TEST(GroupMetadata, InlineConsolidatedMetadata) {
  json document = group_document();
  json nodes = {{"sub", {{"zarr_format", 3}, {"node_type", "group"}, {"attributes", {{"kind", "nested"}}}}},
                {"sub/x", array_document()}};
  document["consolidated_metadata"] = {{"kind", "inline"}, {"must_understand", false}, {"metadata", nodes}};
  const GroupMetadata metadata = GroupMetadata::from_json(document, kSubject);
  EXPECT_EQ(metadata.consolidated, GroupMetadata::Consolidated::kInline);
  ASSERT_EQ(metadata.consolidated_nodes.size(), 2u);
  EXPECT_EQ(metadata.consolidated_nodes.at("sub"), nodes["sub"]);
  EXPECT_EQ(metadata.consolidated_nodes.at("sub/x"), nodes["sub/x"]);
  EXPECT_EQ(metadata.to_json(), document);
  EXPECT_EQ(GroupMetadata::from_json(metadata.to_json(), kSubject).to_json(), document);

  // Empty inline metadata is still inline.
  document["consolidated_metadata"]["metadata"] = json::object();
  const GroupMetadata empty = GroupMetadata::from_json(document, kSubject);
  EXPECT_EQ(empty.consolidated, GroupMetadata::Consolidated::kInline);
  EXPECT_EQ(empty.to_json(), document);
}

TEST(GroupMetadata, InvalidDocuments) {
  json document = group_document();
  document["consolidated_metadata"] = {{"kind", "external"}, {"metadata", json::object()}};
  EXPECT_LCSTORE_ERROR(GroupMetadata::from_json(document, kSubject), kInvalidMetadata);
  document["consolidated_metadata"] = {{"kind", "inline"}};
  EXPECT_LCSTORE_ERROR(GroupMetadata::from_json(document, kSubject), kInvalidMetadata);
  document = group_document();
  document["attributes"] = "none";
  EXPECT_LCSTORE_ERROR(GroupMetadata::from_json(document, kSubject), kInvalidMetadata);
  document = group_document();
  document["zarr_format"] = 2;
  EXPECT_LCSTORE_ERROR(GroupMetadata::from_json(document, kSubject), kInvalidMetadata);
}

TEST(GroupMetadata, UnknownFieldNeedsMustUnderstandFalse) {
  json document = group_document();
  document["extension"] = {{"must_understand", true}};
  EXPECT_LCSTORE_ERROR(GroupMetadata::from_json(document, kSubject), kInvalidMetadata);
  document["extension"] = 5;
  EXPECT_LCSTORE_ERROR(GroupMetadata::from_json(document, kSubject), kInvalidMetadata);
  document["extension"] = {{"must_understand", false}, {"payload", {1, 2}}};
  const GroupMetadata metadata = GroupMetadata::from_json(document, kSubject);
  EXPECT_EQ(metadata.extra_fields, (json{{"extension", document["extension"]}}));
  EXPECT_EQ(metadata.to_json(), document);
}

TEST(ElementCount, IsTheProductOfTheExtents) {
  EXPECT_EQ(zarr::element_count({}), 1u);
  EXPECT_EQ(zarr::element_count({7}), 7u);
  EXPECT_EQ(zarr::element_count({3, 0, 5}), 0u);
  EXPECT_EQ(zarr::element_count({37, 5, 2, 11}), 4070u);
}

}  // namespace
}  // namespace lcstore::testing
