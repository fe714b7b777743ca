// The Zarr v3 codecs, each through CodecChain::parse as an array builds them:
// round trips, exact encoded layouts, damaged input, bad configurations, and
// decoding of the chunks zarr-python 3.0.6 wrote.
#include <blosc.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lcstore/error.h"
#include "test_support.h"
#include "zarr/codec.h"
#include "zarr/codecs/crc32c.h"

namespace lcstore::zarr {
namespace {

using lcstore::testing::ThrowsError;
using lcstore::testing::to_bytes;
using nlohmann::json;

const std::string kSubject = "memory/test-array";
const std::string kWhere = "memory/test-array/c/1/2";

// The check for a decode failure: kCorruptData, naming the chunk.
auto names_where(const std::string& fragment = "") {
  return [fragment](const Error& error) {
    EXPECT_NE(std::string(error.what()).find(kWhere), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  };
}

#define EXPECT_CORRUPT(statement, fragment) \
  EXPECT_TRUE(ThrowsError(                  \
      ErrorKind::kCorruptData, [&] { (void)(statement); }, names_where(fragment)))
#define EXPECT_BAD_CONFIG(statement) EXPECT_TRUE(ThrowsError(ErrorKind::kInvalidMetadata, [&] { (void)(statement); }))

// A ValueReader over bytes that counts what is read through it.
class CountingReader final : public ValueReader {
 public:
  explicit CountingReader(Bytes bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Bytes read(uint64_t offset, uint64_t length) const override {
    if (offset > bytes_.size() || length > bytes_.size() - offset) {
      throw Error(ErrorKind::kInvalidArgument, "counting reader", "read outside the value");
    }
    bytes_read_ += length;
    ++reads_;
    return Bytes(bytes_.begin() + static_cast<std::ptrdiff_t>(offset),
                 bytes_.begin() + static_cast<std::ptrdiff_t>(offset + length));
  }
  void read_into(uint64_t offset, std::span<std::byte> into) const override {
    const Bytes bytes = read(offset, into.size());
    std::copy(bytes.begin(), bytes.end(), into.begin());
    read_into_targets_.push_back(into.data());
  }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t reads() const { return reads_; }
  // Where each read_into call put its bytes.
  const std::vector<std::byte*>& read_into_targets() const { return read_into_targets_; }

 private:
  Bytes bytes_;
  mutable uint64_t bytes_read_ = 0;
  mutable uint64_t reads_ = 0;
  mutable std::vector<std::byte*> read_into_targets_;
};

ChunkSpec float_spec(Shape shape) {
  return ChunkSpec{DataType::kFloat32, std::move(shape), FillValue::of(std::numeric_limits<float>::quiet_NaN())};
}

// Magnitude-like values with the awkward cases mixed in: NaN (also with a
// payload), infinities, -0 and subnormals.
Chunk float_chunk(const Shape& shape, uint32_t seed = 1) {
  Chunk chunk = Chunk::sized(DataType::kFloat32, shape);
  std::mt19937 random(seed);
  std::normal_distribution<float> magnitude(17.5f, 1.5f);
  std::vector<float> values(chunk.size());
  for (size_t i = 0; i < values.size(); ++i) {
    switch (random() % 13) {
      case 0:
        values[i] = std::numeric_limits<float>::quiet_NaN();
        break;
      case 1:
        values[i] = std::bit_cast<float>(0x7fc01234u);
        break;
      case 2:
        values[i] = i % 2 ? std::numeric_limits<float>::infinity() : -0.0f;
        break;
      case 3:
        values[i] = std::numeric_limits<float>::denorm_min();
        break;
      default:
        values[i] = magnitude(random);
    }
  }
  std::memcpy(chunk.data.data(), values.data(), chunk.data.size());
  return chunk;
}

// Bytes of a chunk of another fixed-size type, from a pattern.
Chunk pattern_chunk(DataType type, const Shape& shape, uint32_t seed = 7) {
  Chunk chunk = Chunk::sized(type, shape);
  std::mt19937 random(seed);
  for (std::byte& b : chunk.data) b = static_cast<std::byte>(random());
  if (type == DataType::kBool) {
    for (std::byte& b : chunk.data) b &= std::byte{1};
  }
  return chunk;
}

Chunk string_chunk(const Shape& shape) {
  Chunk chunk = Chunk::sized(DataType::kString, shape);
  const std::vector<std::string> samples = {
      "", "r12345", "g", "épaisseur", "星", std::string("a\0b", 3), "𝄞 clef", std::string(300, 'x')};
  for (size_t i = 0; i < chunk.strings.size(); ++i) chunk.strings[i] = samples[(i * 5 + i / 3) % samples.size()];
  return chunk;
}

void expect_same(const Chunk& expected, const Chunk& actual) {
  EXPECT_EQ(expected.data_type, actual.data_type);
  EXPECT_EQ(expected.shape, actual.shape);
  EXPECT_TRUE(expected.data == actual.data) << "element bytes differ";
  EXPECT_EQ(expected.strings, actual.strings);
}

CodecChain chain_of(const json& codecs, const ChunkSpec& spec) { return CodecChain::parse(codecs, spec, kSubject); }

Chunk round_trip(const json& codecs, const ChunkSpec& spec, const Chunk& chunk) {
  const CodecChain chain = chain_of(codecs, spec);
  const Bytes encoded = chain.encode(chunk);
  Chunk decoded = chain.decode(encoded, kWhere);
  expect_same(chunk, decoded);
  return decoded;
}

const json kBytesLittle = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};

json with(const json& compressor) { return json::array({kBytesLittle, compressor}); }

// ---------------------------------------------------------------- crc32c

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(codecs::crc32c(to_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(codecs::crc32c({}), 0u);
  // RFC 3720 B.4: 32 bytes of zeros, and of 0xff.
  EXPECT_EQ(codecs::crc32c(Bytes(32, std::byte{0})), 0x8A9136AAu);
  EXPECT_EQ(codecs::crc32c(Bytes(32, std::byte{0xff})), 0x62A8AB43u);
}

// The bit-by-bit definition (reflected Castagnoli polynomial), to check the
// library on every length and alignment.
uint32_t crc32c_by_bits(ByteView data) {
  uint32_t crc = ~0u;
  for (std::byte b : data) {
    crc ^= std::to_integer<uint32_t>(b);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(Crc32c, AgreesWithTheDefinitionOnEveryLengthAndAlignment) {
  Bytes data(300);
  std::mt19937 random(3);
  for (std::byte& b : data) b = static_cast<std::byte>(random());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t length = 0; start + length <= data.size(); length += 1 + length / 8) {
      const ByteView view = ByteView(data).subspan(start, length);
      ASSERT_EQ(codecs::crc32c(view), crc32c_by_bits(view)) << start << "+" << length;
    }
  }
  // Continuing a CRC over a second part equals the CRC of the whole.
  const ByteView all(data);
  EXPECT_EQ(codecs::crc32c(all.subspan(100), codecs::crc32c(all.first(100))), codecs::crc32c(all));
  EXPECT_EQ(codecs::crc32c(all.subspan(13), codecs::crc32c(all.first(13))), crc32c_by_bits(all));
}

TEST(Crc32c, AppendsChecksumLittleEndian) {
  const auto codec = codecs::make_crc32c(json::object(), kSubject);
  const Bytes encoded = codec->encode(to_bytes("123456789"));
  ASSERT_EQ(encoded.size(), 13u);
  EXPECT_EQ(lcstore::testing::to_text(encoded).substr(0, 9), "123456789");
  EXPECT_EQ(encoded[9], std::byte{0x83});
  EXPECT_EQ(encoded[10], std::byte{0x92});
  EXPECT_EQ(encoded[11], std::byte{0x06});
  EXPECT_EQ(encoded[12], std::byte{0xE3});
  EXPECT_EQ(codec->decode(encoded, kMaxChunkBytes, kWhere), to_bytes("123456789"));
  EXPECT_EQ(codec->fixed_encoded_size(100), 104u);
  EXPECT_EQ(codec->to_json(), json::parse(R"({"name": "crc32c"})"));
}

TEST(Crc32c, RoundTripsInChain) {
  const ChunkSpec spec = float_spec({5, 4, 3});
  round_trip(with({{"name", "crc32c"}}), spec, float_chunk(spec.shape));
  EXPECT_EQ(chain_of(with({{"name", "crc32c"}}), spec).fixed_encoded_size(), 5u * 4 * 3 * 4 + 4);
}

TEST(Crc32c, DetectsDamage) {
  const auto codec = codecs::make_crc32c(json::object(), kSubject);
  const Bytes encoded = codec->encode(to_bytes("some chunk bytes"));
  for (size_t i = 0; i < encoded.size(); ++i) {
    Bytes damaged = encoded;
    damaged[i] ^= std::byte{0x10};
    EXPECT_CORRUPT(codec->decode(damaged, kMaxChunkBytes, kWhere), "crc32c checksum mismatch");
  }
  EXPECT_CORRUPT(codec->decode(ByteView(encoded).first(encoded.size() - 1), kMaxChunkBytes, kWhere), "crc32c");
  EXPECT_CORRUPT(codec->decode(ByteView(encoded).first(3), kMaxChunkBytes, kWhere), "crc32c");
  EXPECT_EQ(codec->decode(codec->encode({}), kMaxChunkBytes, kWhere), Bytes{});
}

TEST(Crc32c, RejectsConfiguration) {
  EXPECT_BAD_CONFIG(codecs::make_crc32c({{"endian", "little"}}, kSubject));
  EXPECT_BAD_CONFIG(chain_of(with({{"name", "crc32c"}, {"configuration", {{"x", 1}}}}), float_spec({2})));
}

// ----------------------------------------------------------------- bytes

TEST(BytesCodec, RoundTripsEveryFixedSizeType) {
  for (DataType type :
       {DataType::kBool, DataType::kInt8, DataType::kInt16, DataType::kInt32, DataType::kInt64, DataType::kUint8,
        DataType::kUint16, DataType::kUint32, DataType::kUint64, DataType::kFloat32, DataType::kFloat64}) {
    const ChunkSpec spec{type, {3, 7}, FillValue::zero(type)};
    for (const char* endian : {"little", "big"}) {
      SCOPED_TRACE(std::string(name_of(type)) + " " + endian);
      round_trip(json::array({{{"name", "bytes"}, {"configuration", {{"endian", endian}}}}}), spec,
                 pattern_chunk(type, spec.shape));
    }
  }
}

TEST(BytesCodec, LayoutFollowsEndian) {
  const ChunkSpec spec = float_spec({2});
  Chunk chunk = Chunk::sized(DataType::kFloat32, {2});
  const float values[] = {1.0f, -2.5f};
  std::memcpy(chunk.data.data(), values, 8);
  const auto big = chain_of(json::parse(R"([{"name": "bytes", "configuration": {"endian": "big"}}])"), spec);
  const auto little = chain_of(json::array({kBytesLittle}), spec);
  EXPECT_EQ(big.encode(chunk), (Bytes{std::byte{0x3f}, std::byte{0x80}, std::byte{0}, std::byte{0}, std::byte{0xc0},
                                      std::byte{0x20}, std::byte{0}, std::byte{0}}));
  EXPECT_EQ(little.encode(chunk), chunk.data);
  expect_same(chunk, big.decode(big.encode(chunk), kWhere));
  EXPECT_EQ(big.fixed_encoded_size(), 8u);
}

TEST(BytesCodec, EndianIsOptionalOnlyForOneByteTypes) {
  const ChunkSpec bytes_spec{DataType::kUint8, {4}, FillValue::zero(DataType::kUint8)};
  const auto bare = chain_of(json::parse(R"(["bytes"])"), bytes_spec);
  EXPECT_EQ(bare.to_json(), json::parse(R"([{"name": "bytes"}])"));
  round_trip(json::parse(R"([{"name": "bytes", "configuration": {}}])"), bytes_spec,
             pattern_chunk(DataType::kUint8, {4}));
  EXPECT_EQ(chain_of(json::array({kBytesLittle}), bytes_spec).to_json(), json::array({kBytesLittle}));
  EXPECT_BAD_CONFIG(chain_of(json::parse(R"([{"name": "bytes"}])"), float_spec({4})));
  EXPECT_BAD_CONFIG(chain_of(json::parse(R"([{"name": "bytes", "configuration": {}}])"), float_spec({4})));
}

TEST(BytesCodec, NormalisesBooleans) {
  const ChunkSpec spec{DataType::kBool, {3}, FillValue::zero(DataType::kBool)};
  const Chunk decoded =
      chain_of(json::array({kBytesLittle}), spec).decode(Bytes{std::byte{0}, std::byte{2}, std::byte{0xff}}, kWhere);
  EXPECT_EQ(decoded.data, (Bytes{std::byte{0}, std::byte{1}, std::byte{1}}));
}

TEST(BytesCodec, RejectsWrongSize) {
  const ChunkSpec spec = float_spec({4, 3});
  const auto chain = chain_of(json::array({kBytesLittle}), spec);
  const Bytes encoded = chain.encode(float_chunk(spec.shape));
  EXPECT_CORRUPT(chain.decode(ByteView(encoded).first(47), kWhere), "expected 48 bytes");
  Bytes longer = encoded;
  longer.push_back(std::byte{0});
  EXPECT_CORRUPT(chain.decode(longer, kWhere), "bytes");
  EXPECT_CORRUPT(chain.decode(Bytes{}, kWhere), "bytes");
}

TEST(BytesCodec, RejectsBadConfigurations) {
  const ChunkSpec spec = float_spec({4});
  EXPECT_BAD_CONFIG(chain_of(json::parse(R"([{"name": "bytes", "configuration": {"endian": "middle"}}])"), spec));
  EXPECT_BAD_CONFIG(chain_of(json::parse(R"([{"name": "bytes", "configuration": {"endian": 1}}])"), spec));
  EXPECT_BAD_CONFIG(
      chain_of(json::parse(R"([{"name": "bytes", "configuration": {"endian": "little", "order": "C"}}])"), spec));
  const ChunkSpec strings{DataType::kString, {4}, FillValue::of_string("")};
  EXPECT_TRUE(ThrowsError(
      ErrorKind::kInvalidMetadata, [&] { chain_of(json::array({kBytesLittle}), strings); },
      [](const Error& error) {
        EXPECT_EQ(error.subject(), kSubject);
        EXPECT_NE(error.reason().find("bytes:"), std::string::npos) << error.what();
      }));
}

TEST(BytesCodec, DecodeRegionReadsOnlyTheRowsItNeeds) {
  const ChunkSpec spec = float_spec({20, 6, 5});
  const auto chain = chain_of(json::array({kBytesLittle}), spec);
  const Chunk chunk = float_chunk(spec.shape);
  const CountingReader reader(chain.encode(chunk));
  const Box region{{4, 1, 2}, {3, 4, 2}};
  expect_same(extract_box(chunk, region), chain.decode_region(reader, region, kWhere));
  EXPECT_EQ(reader.bytes_read(), 3u * 6 * 5 * 4);
  EXPECT_EQ(reader.reads(), 1u);
  // The whole chunk, an empty region, and a truncated value.
  expect_same(chunk, chain.decode_region(reader, Box{{0, 0, 0}, spec.shape}, kWhere));
  expect_same(Chunk::sized(DataType::kFloat32, {0, 6, 5}),
              chain.decode_region(reader, Box{{3, 0, 0}, {0, 6, 5}}, kWhere));
  Bytes truncated = chain.encode(chunk);
  truncated.pop_back();
  EXPECT_CORRUPT(chain.decode_region(CountingReader(truncated), region, kWhere), "bytes");
}

// ------------------------------------------------------------- transpose

TEST(TransposeCodec, EncodesAsNumpyTranspose) {
  const ChunkSpec spec{DataType::kInt32, {2, 3}, FillValue::zero(DataType::kInt32)};
  Chunk chunk = Chunk::sized(DataType::kInt32, {2, 3});
  const int32_t values[] = {1, 2, 3, 4, 5, 6};
  std::memcpy(chunk.data.data(), values, sizeof values);
  const auto codec = codecs::make_transpose({{"order", {1, 0}}}, spec, kSubject);
  EXPECT_EQ(codec->encoded_spec(spec).shape, (Shape{3, 2}));
  const Chunk encoded = codec->encode(chunk);
  std::vector<int32_t> transposed(6);
  std::memcpy(transposed.data(), encoded.data.data(), 24);
  EXPECT_EQ(transposed, (std::vector<int32_t>{1, 4, 2, 5, 3, 6}));
  expect_same(chunk, codec->decode(encoded, spec));
}

TEST(TransposeCodec, RoundTripsAnyPermutation) {
  const ChunkSpec spec = float_spec({4, 3, 2, 5});
  const Chunk chunk = float_chunk(spec.shape);
  std::vector<size_t> order = {0, 1, 2, 3};
  do {
    SCOPED_TRACE(json(order).dump());
    const json codecs = json::array({{{"name", "transpose"}, {"configuration", {{"order", order}}}}, kBytesLittle});
    round_trip(codecs, spec, chunk);
    EXPECT_EQ(chain_of(codecs, spec).to_json(), codecs);
  } while (std::next_permutation(order.begin(), order.end()));
  // A transposed chunk's bytes are those of numpy.transpose: axis i of the
  // encoding is axis order[i] of the chunk.
  const auto codec = codecs::make_transpose({{"order", {3, 2, 1, 0}}}, spec, kSubject);
  const Chunk encoded = codec->encode(chunk);
  auto at = [](const Chunk& c, Shape index) {
    uint64_t linear = 0;
    for (size_t d = 0; d < index.size(); ++d) linear = linear * c.shape[d] + index[d];
    uint32_t bits;
    std::memcpy(&bits, &c.data[linear * 4], 4);
    return bits;
  };
  EXPECT_EQ(at(encoded, {4, 1, 2, 3}), at(chunk, {3, 2, 1, 4}));
  EXPECT_EQ(at(encoded, {1, 0, 2, 1}), at(chunk, {1, 2, 0, 1}));
}

TEST(TransposeCodec, HandlesOtherTypesAndStrings) {
  for (DataType type : {DataType::kUint8, DataType::kInt16, DataType::kFloat64}) {
    const ChunkSpec spec{type, {3, 5, 2}, FillValue::zero(type)};
    round_trip(json::array({{{"name", "transpose"}, {"configuration", {{"order", {2, 0, 1}}}}}, kBytesLittle}), spec,
               pattern_chunk(type, spec.shape));
  }
  const ChunkSpec strings{DataType::kString, {3, 4}, FillValue::of_string("")};
  round_trip(json::parse(R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
                            {"name": "vlen-utf8", "configuration": {}}])"),
             strings, string_chunk(strings.shape));
  const ChunkSpec scalar = float_spec({});
  round_trip(json::array({{{"name", "transpose"}, {"configuration", {{"order", json::array()}}}}, kBytesLittle}),
             scalar, float_chunk({}));
}

TEST(TransposeCodec, RejectsBadOrders) {
  const ChunkSpec spec = float_spec({4, 3});
  for (const char* order :
       {R"([0, 0])", R"([0, 1, 2])", R"([1])", R"([-1, 0])", R"([0, 2])", R"("C")", R"([0.0, 1])", R"(null)"}) {
    SCOPED_TRACE(order);
    EXPECT_BAD_CONFIG(codecs::make_transpose({{"order", json::parse(order)}}, spec, kSubject));
  }
  EXPECT_BAD_CONFIG(codecs::make_transpose(json::object(), spec, kSubject));
  EXPECT_BAD_CONFIG(codecs::make_transpose({{"order", {1, 0}}, {"extra", true}}, spec, kSubject));
}

// ------------------------------------------------------------------ gzip

TEST(GzipCodec, RoundTripsAtEveryLevel) {
  const ChunkSpec spec = float_spec({10, 5, 2, 4});
  const Chunk chunk = float_chunk(spec.shape);
  for (int level = 0; level <= 9; ++level) {
    const json gzip = {{"name", "gzip"}, {"configuration", {{"level", level}}}};
    round_trip(with(gzip), spec, chunk);
    EXPECT_EQ(chain_of(with(gzip), spec).to_json(), with(gzip));
  }
  const auto codec = codecs::make_gzip({{"level", 5}}, kSubject);
  const Bytes encoded = codec->encode(chunk.data);
  ASSERT_GE(encoded.size(), 2u);
  EXPECT_EQ(encoded[0], std::byte{0x1f});  // a gzip member, not a zlib stream
  EXPECT_EQ(encoded[1], std::byte{0x8b});
  EXPECT_EQ(codec->decode(codec->encode({}), kMaxChunkBytes, kWhere), Bytes{});
}

TEST(GzipCodec, GrowsOutputAndDecodesConcatenatedMembers) {
  const auto codec = codecs::make_gzip({{"level", 9}}, kSubject);
  const Bytes zeros(5'000'000, std::byte{0});  // compresses > 1000:1
  const Bytes text = to_bytes("second member");
  Bytes both = codec->encode(zeros);
  const Bytes second = codec->encode(text);
  both.insert(both.end(), second.begin(), second.end());
  Bytes expected = zeros;
  expected.insert(expected.end(), text.begin(), text.end());
  EXPECT_EQ(codec->decode(both, kMaxChunkBytes, kWhere), expected);
}

TEST(GzipCodec, DetectsTruncationAndGarbage) {
  const auto codec = codecs::make_gzip({{"level", 1}}, kSubject);
  const Chunk chunk = float_chunk({1000});
  const Bytes encoded = codec->encode(chunk.data);
  for (size_t keep : {size_t{0}, size_t{5}, size_t{20}, encoded.size() / 2, encoded.size() - 9, encoded.size() - 1}) {
    SCOPED_TRACE(keep);
    EXPECT_CORRUPT(codec->decode(ByteView(encoded).first(keep), kMaxChunkBytes, kWhere), "gzip");
  }
  Bytes damaged = encoded;
  damaged[encoded.size() - 6] ^= std::byte{0xff};  // in the CRC-32 of the trailer
  EXPECT_CORRUPT(codec->decode(damaged, kMaxChunkBytes, kWhere), "gzip");
  Bytes trailing = encoded;
  trailing.push_back(std::byte{0});
  EXPECT_CORRUPT(codec->decode(trailing, kMaxChunkBytes, kWhere), "gzip");
  EXPECT_CORRUPT(codec->decode(to_bytes("this is not gzip data at all"), kMaxChunkBytes, kWhere), "gzip");
}

TEST(GzipCodec, RejectsBadConfigurations) {
  for (const char* config : {R"({"level": 10})", R"({"level": -1})", R"({"level": "5"})", R"({"level": 5.5})",
                             R"({"level": true})", R"({})", R"({"level": 5, "wbits": 15})", R"([5])"}) {
    SCOPED_TRACE(config);
    EXPECT_BAD_CONFIG(codecs::make_gzip(json::parse(config), kSubject));
  }
}

// ------------------------------------------------------------------ zstd

TEST(ZstdCodec, RoundTripsLevelsAndChecksums) {
  const ChunkSpec spec = float_spec({10, 5, 1, 11});
  const Chunk chunk = float_chunk(spec.shape);
  for (int level : {-7, 0, 1, 3, 19, 22}) {
    for (bool checksum : {false, true}) {
      const json zstd = {{"name", "zstd"}, {"configuration", {{"level", level}, {"checksum", checksum}}}};
      round_trip(with(zstd), spec, chunk);
      EXPECT_EQ(chain_of(with(zstd), spec).to_json(), with(zstd));
    }
  }
  const auto codec = codecs::make_zstd({{"level", 3}, {"checksum", false}}, kSubject);
  EXPECT_EQ(codec->decode(codec->encode({}), kMaxChunkBytes, kWhere), Bytes{});
  // The content size is in the header, as numcodecs >= 0.13 requires.
  const Bytes encoded = codec->encode(chunk.data);
  EXPECT_EQ(ZSTD_getFrameContentSize(encoded.data(), encoded.size()), chunk.data.size());
}

Bytes compress_without_content_size(const Bytes& data, int pieces) {
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
  Bytes out(ZSTD_compressBound(data.size()) + 1024);
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  const size_t piece = data.size() / static_cast<size_t>(pieces) + 1;
  for (size_t start = 0; start < data.size(); start += piece) {
    ZSTD_inBuffer input{data.data() + start, std::min(piece, data.size() - start), 0};
    while (input.pos < input.size) ZSTD_compressStream2(context, &output, &input, ZSTD_e_continue);
  }
  ZSTD_inBuffer none{nullptr, 0, 0};
  while (ZSTD_compressStream2(context, &output, &none, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(context);
  out.resize(output.pos);
  return out;
}

TEST(ZstdCodec, DecodesFramesWithoutContentSize) {
  const auto codec = codecs::make_zstd({{"level", 0}, {"checksum", false}}, kSubject);
  const Chunk small = float_chunk({300});
  Bytes streamed = compress_without_content_size(small.data, 3);
  ASSERT_EQ(ZSTD_getFrameContentSize(streamed.data(), streamed.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_EQ(codec->decode(streamed, kMaxChunkBytes, kWhere), small.data);
  // Large and very compressible, so the output buffer has to grow.
  Bytes large(3'000'000);
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<std::byte>(i / 1000);
  const Bytes streamed_large = compress_without_content_size(large, 7);
  EXPECT_EQ(codec->decode(streamed_large, kMaxChunkBytes, kWhere), large);
  EXPECT_CORRUPT(codec->decode(ByteView(streamed_large).first(streamed_large.size() - 1), kMaxChunkBytes, kWhere),
                 "zstd");
  EXPECT_CORRUPT(codec->decode(ByteView(streamed).first(streamed.size() / 2), kMaxChunkBytes, kWhere), "zstd");
  // Two frames, one of each kind, decode to the concatenation.
  Bytes two = codec->encode(small.data);
  two.insert(two.end(), streamed.begin(), streamed.end());
  Bytes expected = small.data;
  expected.insert(expected.end(), small.data.begin(), small.data.end());
  EXPECT_EQ(codec->decode(two, kMaxChunkBytes, kWhere), expected);
}

TEST(ZstdCodec, DetectsTruncationAndDamage) {
  const auto codec = codecs::make_zstd({{"level", 1}, {"checksum", true}}, kSubject);
  const Chunk chunk = float_chunk({2000});
  const Bytes encoded = codec->encode(chunk.data);
  for (size_t keep : {size_t{0}, size_t{3}, size_t{10}, encoded.size() / 2, encoded.size() - 1}) {
    SCOPED_TRACE(keep);
    EXPECT_CORRUPT(codec->decode(ByteView(encoded).first(keep), kMaxChunkBytes, kWhere), "zstd");
  }
  Bytes damaged = encoded;
  damaged[encoded.size() - 2] ^= std::byte{0x40};  // in the frame checksum
  EXPECT_CORRUPT(codec->decode(damaged, kMaxChunkBytes, kWhere), "zstd");
  Bytes trailing = encoded;
  trailing.push_back(std::byte{7});
  EXPECT_CORRUPT(codec->decode(trailing, kMaxChunkBytes, kWhere), "zstd");
  EXPECT_CORRUPT(codec->decode(to_bytes("definitely not zstd"), kMaxChunkBytes, kWhere), "zstd");
  // Random damage anywhere must end in an error or in some output, never a crash.
  std::mt19937 random(11);
  for (int trial = 0; trial < 200; ++trial) {
    Bytes noisy = encoded;
    noisy[random() % noisy.size()] = static_cast<std::byte>(random());
    try {
      codec->decode(noisy, kMaxChunkBytes, kWhere);
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kCorruptData);
    }
  }
}

TEST(ZstdCodec, RejectsBadConfigurations) {
  for (const char* config :
       {R"({"level": 23, "checksum": false})", R"({"level": -200000, "checksum": false})",
        R"({"level": 3, "checksum": 1})", R"({"level": "3", "checksum": false})", R"({"level": 3})",
        R"({"checksum": false})", R"({"level": 3, "checksum": false, "window": 20})"}) {
    SCOPED_TRACE(config);
    EXPECT_BAD_CONFIG(codecs::make_zstd(json::parse(config), kSubject));
  }
}

// ----------------------------------------------------------------- blosc

std::vector<std::string> blosc_compressors() {
  std::vector<std::string> names;
  std::stringstream list(blosc_list_compressors());
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  return names;
}

TEST(BloscCodec, RoundTripsEveryCompressorAndShuffle) {
  const std::vector<std::string> compressors = blosc_compressors();
  ASSERT_FALSE(compressors.empty());
  const ChunkSpec spec = float_spec({8, 5, 2, 4});
  const Chunk chunk = float_chunk(spec.shape);
  const ChunkSpec wide{DataType::kFloat64, {333}, FillValue::zero(DataType::kFloat64)};
  const Chunk wide_chunk = pattern_chunk(DataType::kFloat64, wide.shape);
  for (const std::string& cname : compressors) {
    for (const char* shuffle : {"noshuffle", "shuffle", "bitshuffle"}) {
      for (int clevel : {0, 5, 9}) {
        SCOPED_TRACE(cname + " " + shuffle + " " + std::to_string(clevel));
        const json blosc = {
            {"name", "blosc"},
            {"configuration",
             {{"typesize", 4}, {"cname", cname}, {"clevel", clevel}, {"shuffle", shuffle}, {"blocksize", 0}}}};
        round_trip(with(blosc), spec, chunk);
        EXPECT_EQ(chain_of(with(blosc), spec).to_json(), with(blosc));
        json explicit_block = blosc;
        explicit_block["configuration"]["blocksize"] = 256;
        explicit_block["configuration"].erase("typesize");  // defaults to the element size
        round_trip(with(explicit_block), wide, wide_chunk);
      }
    }
  }
}

TEST(BloscCodec, DefaultsTypesizeToTheElementSize) {
  const json config = {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}};
  const json written = codecs::make_blosc(config, float_spec({4}), kSubject)->to_json();
  EXPECT_EQ(written, json::parse(R"({"name": "blosc", "configuration":
      {"typesize": 4, "cname": "lz4", "clevel": 5, "shuffle": "shuffle", "blocksize": 0}})"));
  const ChunkSpec strings{DataType::kString, {4}, FillValue::of_string("")};
  EXPECT_EQ(codecs::make_blosc(config, strings, kSubject)->to_json()["configuration"]["typesize"], 1);
  round_trip(json::array({{{"name", "vlen-utf8"}, {"configuration", json::object()}},
                          {{"name", "blosc"}, {"configuration", config}}}),
             strings, string_chunk({4}));
}

TEST(BloscCodec, RejectsBadConfigurations) {
  const ChunkSpec spec = float_spec({4});
  const json good = {{"typesize", 4}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"blocksize", 0}};
  EXPECT_NO_THROW(codecs::make_blosc(good, spec, kSubject));
  auto changed = [&](const char* key, json value) {
    json config = good;
    if (value.is_discarded())
      config.erase(key);
    else
      config[key] = std::move(value);
    return config;
  };
  for (const json& config :
       {changed("cname", "lzma"), changed("cname", 1), changed("clevel", 10), changed("clevel", -1),
        changed("shuffle", "byteshuffle"), changed("shuffle", 1), changed("typesize", 0), changed("typesize", "4"),
        changed("blocksize", -1), changed("cname", json(json::value_t::discarded)),
        changed("clevel", json(json::value_t::discarded)), changed("shuffle", json(json::value_t::discarded)),
        changed("nthreads", 2)}) {
    SCOPED_TRACE(config.dump());
    EXPECT_BAD_CONFIG(codecs::make_blosc(config, spec, kSubject));
  }
  // A compressor the specification names but this c-blosc lacks is unsupported.
  const std::vector<std::string> present = blosc_compressors();
  for (const char* cname : {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"}) {
    if (std::find(present.begin(), present.end(), cname) != present.end()) continue;
    EXPECT_TRUE(ThrowsError(
        ErrorKind::kUnsupported, [&] { codecs::make_blosc(changed("cname", cname), spec, kSubject); },
        [&](const Error& error) { EXPECT_NE(error.reason().find(cname), std::string::npos) << error.what(); }));
  }
}

TEST(BloscCodec, DetectsTruncationAndGarbage) {
  const auto codec = codecs::make_blosc(
      {{"typesize", 4}, {"cname", "zstd"}, {"clevel", 3}, {"shuffle", "bitshuffle"}, {"blocksize", 0}}, float_spec({1}),
      kSubject);
  const Chunk chunk = float_chunk({4000});
  const Bytes encoded = codec->encode(chunk.data);
  for (size_t keep : {size_t{0}, size_t{8}, size_t{15}, size_t{16}, encoded.size() / 2, encoded.size() - 1}) {
    SCOPED_TRACE(keep);
    EXPECT_CORRUPT(codec->decode(ByteView(encoded).first(keep), kMaxChunkBytes, kWhere), "blosc");
  }
  Bytes trailing = encoded;
  trailing.push_back(std::byte{0});
  EXPECT_CORRUPT(codec->decode(trailing, kMaxChunkBytes, kWhere), "blosc");
  EXPECT_CORRUPT(codec->decode(to_bytes("0123456789abcdefghij"), kMaxChunkBytes, kWhere), "blosc");
  // Damage after a valid header: an error or some output, never a crash.
  std::mt19937 random(5);
  for (int trial = 0; trial < 300; ++trial) {
    Bytes noisy = encoded;
    noisy[16 + random() % (noisy.size() - 16)] = static_cast<std::byte>(random());
    try {
      EXPECT_EQ(codec->decode(noisy, kMaxChunkBytes, kWhere).size(), chunk.data.size());
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kCorruptData);
    }
  }
}

// ------------------------------------------------------------- vlen-utf8

const json kVlen = json::parse(R"([{"name": "vlen-utf8", "configuration": {}}])");

TEST(VlenUtf8Codec, EncodesCountThenLengthPrefixedElements) {
  const ChunkSpec spec{DataType::kString, {2}, FillValue::of_string("")};
  Chunk chunk = Chunk::sized(DataType::kString, {2});
  chunk.strings = {"a", "bc"};
  const auto chain = chain_of(kVlen, spec);
  const Bytes expected = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{0},   std::byte{1},
                          std::byte{0}, std::byte{0}, std::byte{0}, std::byte{'a'}, std::byte{2},
                          std::byte{0}, std::byte{0}, std::byte{0}, std::byte{'b'}, std::byte{'c'}};
  EXPECT_EQ(chain.encode(chunk), expected);
  EXPECT_EQ(chain.to_json(), kVlen);
  EXPECT_FALSE(chain.fixed_encoded_size());
}

TEST(VlenUtf8Codec, RoundTrips) {
  for (const Shape& shape : {Shape{17}, Shape{3, 4}, Shape{0}, Shape{}}) {
    const ChunkSpec spec{DataType::kString, shape, FillValue::of_string("")};
    round_trip(kVlen, spec, string_chunk(shape));
    round_trip(json::array({kVlen[0], {{"name", "zstd"}, {"configuration", {{"level", 0}, {"checksum", false}}}}}),
               spec, string_chunk(shape));
  }
}

TEST(VlenUtf8Codec, DetectsDamage) {
  const ChunkSpec spec{DataType::kString, {6}, FillValue::of_string("")};
  const auto chain = chain_of(kVlen, spec);
  const Bytes encoded = chain.encode(string_chunk(spec.shape));
  for (size_t keep = 0; keep < encoded.size(); ++keep) {
    EXPECT_CORRUPT(chain.decode(ByteView(encoded).first(keep), kWhere), "vlen-utf8");
  }
  Bytes trailing = encoded;
  trailing.push_back(std::byte{0});
  EXPECT_CORRUPT(chain.decode(trailing, kWhere), "follow");
  Bytes wrong_count = encoded;
  wrong_count[0] = std::byte{5};
  EXPECT_CORRUPT(chain.decode(wrong_count, kWhere), "5 elements");
  Bytes huge_length = encoded;
  huge_length[7] = std::byte{0x7f};  // first element claims ~2 GiB
  EXPECT_CORRUPT(chain.decode(huge_length, kWhere), "truncated");
  const ChunkSpec one{DataType::kString, {1}, FillValue::of_string("")};
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\x80"), std::string("\xed\xa0\x80"),
                                 std::string("\xf4\x90\x80\x80"), std::string("ab\xe2\x82")}) {
    // Stored bytes (written by another tool) are corrupt; new strings are refused.
    Bytes stored(8 + bad.size());
    stored[0] = std::byte{1};
    stored[4] = static_cast<std::byte>(bad.size());
    std::memcpy(stored.data() + 8, bad.data(), bad.size());
    EXPECT_CORRUPT(chain_of(kVlen, one).decode(stored, kWhere), "UTF-8");
    Chunk chunk = Chunk::sized(DataType::kString, {1});
    chunk.strings[0] = bad;
    try {
      (void)chain_of(kVlen, one).encode(chunk);
      ADD_FAILURE() << "encoding invalid UTF-8 must fail";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(error.what()).find("UTF-8"), std::string::npos) << error.what();
    }
  }
}

TEST(VlenUtf8Codec, RejectsBadConfigurations) {
  EXPECT_BAD_CONFIG(chain_of(kVlen, float_spec({3})));
  EXPECT_BAD_CONFIG(chain_of(json::parse(R"([{"name": "vlen-utf8", "configuration": {"encoding": "utf-8"}}])"),
                             ChunkSpec{DataType::kString, {3}, FillValue::of_string("")}));
}

// -------------------------------------------------------------- sharding

json sharding(const Shape& inner, const char* location,
              json codecs = with({{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}}),
              json index_codecs = json::parse(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                                                 {"name": "crc32c"}])")) {
  return json::array({{{"name", "sharding_indexed"},
                       {"configuration",
                        {{"chunk_shape", inner},
                         {"codecs", std::move(codecs)},
                         {"index_codecs", std::move(index_codecs)},
                         {"index_location", location}}}}});
}

// A shard whose inner chunks [4, 3] are partly all-NaN (the fill value).
Chunk sparse_shard(const Shape& shape) {
  Chunk chunk = float_chunk(shape);
  auto* values = reinterpret_cast<float*>(chunk.data.data());
  for (uint64_t row = 0; row < shape[0]; ++row) {
    for (uint64_t column = 0; column < shape[1]; ++column) {
      // Empty: inner chunk (1, 0) and the whole last row of inner chunks.
      if ((row / 4 == 1 && column / 3 == 0) || row / 4 == shape[0] / 4 - 1) {
        values[row * shape[1] + column] = std::numeric_limits<float>::quiet_NaN();
      }
    }
  }
  return chunk;
}

std::vector<uint64_t> shard_index(const Bytes& shard, uint64_t entries, bool at_end) {
  const size_t index_bytes = entries * 16;
  const size_t start = at_end ? shard.size() - index_bytes - 4 : 0;
  std::vector<uint64_t> index(entries * 2);
  std::memcpy(index.data(), shard.data() + start, index_bytes);
  EXPECT_EQ(codecs::crc32c(ByteView(shard).subspan(start, index_bytes)),
            uint32_t(std::to_integer<uint32_t>(shard[start + index_bytes]) |
                     std::to_integer<uint32_t>(shard[start + index_bytes + 1]) << 8 |
                     std::to_integer<uint32_t>(shard[start + index_bytes + 2]) << 16 |
                     std::to_integer<uint32_t>(shard[start + index_bytes + 3]) << 24));
  return index;
}

TEST(ShardingCodec, RoundTripsWithIndexAtStartAndEnd) {
  const ChunkSpec spec = float_spec({12, 9});
  const Chunk shard = sparse_shard(spec.shape);
  constexpr uint64_t kMissing = std::numeric_limits<uint64_t>::max();
  for (const char* location : {"start", "end"}) {
    SCOPED_TRACE(location);
    const bool at_end = std::string(location) == "end";
    const json codecs = sharding({4, 3}, location);
    const CodecChain chain = chain_of(codecs, spec);
    EXPECT_EQ(chain.to_json(), codecs);
    const Bytes encoded = chain.encode(shard);
    expect_same(shard, chain.decode(encoded, kWhere));

    // Grid 3 x 3: (1, 0) and row 2 are all fill, hence absent with all-ones entries.
    const std::vector<uint64_t> index = shard_index(encoded, 9, at_end);
    uint64_t stored = 0;
    for (uint64_t i = 0; i < 9; ++i) {
      const bool empty = i == 3 || i / 3 == 2;
      SCOPED_TRACE(i);
      if (empty) {
        EXPECT_EQ(index[2 * i], kMissing);
        EXPECT_EQ(index[2 * i + 1], kMissing);
        continue;
      }
      ++stored;
      EXPECT_GE(index[2 * i], at_end ? 0u : 9u * 16 + 4);
      EXPECT_LE(index[2 * i] + index[2 * i + 1], at_end ? encoded.size() - 9 * 16 - 4 : encoded.size());
      // Each stored inner chunk decodes by itself with the inner chain.
      const CodecChain inner = chain_of(
          with({{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}}), float_spec({4, 3}));
      const Chunk decoded = inner.decode(ByteView(encoded).subspan(index[2 * i], index[2 * i + 1]), kWhere);
      expect_same(extract_box(shard, Box{{i / 3 * 4, i % 3 * 3}, {4, 3}}), decoded);
    }
    EXPECT_EQ(stored, 5u);
  }
}

TEST(ShardingCodec, AllFillShardIsOnlyAnIndex) {
  const ChunkSpec spec = float_spec({8, 6});
  const CodecChain chain = chain_of(sharding({4, 3}, "end"), spec);
  const Chunk empty = Chunk::filled(spec);
  const Bytes encoded = chain.encode(empty);
  EXPECT_EQ(encoded.size(), 4u * 16 + 4);
  for (uint64_t entry : shard_index(encoded, 4, true)) EXPECT_EQ(entry, std::numeric_limits<uint64_t>::max());
  expect_same(empty, chain.decode(encoded, kWhere));
}

TEST(ShardingCodec, DecodeRegionReadsOnlyTheIndexAndNeededChunks) {
  const ChunkSpec spec = float_spec({64, 60});
  const Chunk shard = float_chunk(spec.shape, 9);
  for (const char* location : {"start", "end"}) {
    for (const json& inner :
         {with({{"name", "gzip"}, {"configuration", {{"level", 1}}}}), json::array({kBytesLittle})}) {
      SCOPED_TRACE(std::string(location) + " " + inner.dump());
      const CodecChain chain = chain_of(sharding({8, 10}, location, inner), spec);
      const Bytes encoded = chain.encode(shard);
      const Box region{{10, 17}, {9, 6}};  // inner chunks (1..2, 1..2), none of them whole
      CountingReader reader(encoded);
      expect_same(extract_box(shard, region), chain.decode_region(reader, region, kWhere));
      EXPECT_LT(reader.bytes_read(), encoded.size() / 4) << reader.bytes_read() << " of " << encoded.size();

      // Whole inner chunks in a row are fetched with one read.
      const Box rows{{16, 0}, {16, 60}};
      CountingReader rows_reader(encoded);
      expect_same(extract_box(shard, rows), chain.decode_region(rows_reader, rows, kWhere));
      EXPECT_EQ(rows_reader.reads(), 2u);  // the index, then inner chunks (2..3, 0..5) back to back
      EXPECT_LT(rows_reader.bytes_read(), encoded.size() / 2);

      std::mt19937 random(17);
      for (int trial = 0; trial < 40; ++trial) {
        Box box{{random() % 64, random() % 60}, {0, 0}};
        box.shape = {1 + random() % (64 - box.start[0]), 1 + random() % (60 - box.start[1])};
        CountingReader any(encoded);
        expect_same(extract_box(shard, box), chain.decode_region(any, box, kWhere));
      }
      CountingReader whole(encoded);
      expect_same(shard, chain.decode_region(whole, Box{{0, 0}, spec.shape}, kWhere));
      EXPECT_EQ(chain.decode_region(whole, Box{{3, 3}, {0, 2}}, kWhere).shape, (Shape{0, 2}));
    }
  }
}

TEST(ShardingCodec, DecodeRegionFillsMissingChunks) {
  const ChunkSpec spec = float_spec({12, 9});
  const Chunk shard = sparse_shard(spec.shape);
  const CodecChain chain = chain_of(sharding({4, 3}, "end"), spec);
  const Bytes encoded = chain.encode(shard);
  const Box region{{2, 1}, {10, 7}};
  CountingReader reader(encoded);
  expect_same(extract_box(shard, region), chain.decode_region(reader, region, kWhere));
}

// Inner chunks of whole rows (a light curve each) whose bytes are their
// elements are read straight into the caller's memory; every cell is written.
TEST(ShardingCodec, DecodeRegionIntoReadsWholeRowsStraightIntoTheCaller) {
  const ChunkSpec spec = float_spec({12, 9});
  Chunk shard = float_chunk(spec.shape, 5);
  std::fill_n(reinterpret_cast<float*>(shard.data.data()) + 6 * 9, 9, std::numeric_limits<float>::quiet_NaN());
  const CodecChain chain = chain_of(sharding({1, 9}, "end", json::array({kBytesLittle})), spec);
  const Bytes encoded = chain.encode(shard);  // row 6 is all fill: not stored
  const Box region{{2, 0}, {8, 9}};
  Chunk out = Chunk::sized(DataType::kFloat32, region.shape);
  std::fill(out.data.begin(), out.data.end(), std::byte{0x5A});
  CountingReader reader(encoded);
  chain.decode_region_into(reader, region, out.view(), kWhere);
  expect_same(extract_box(shard, region), out);
  // Rows 2..5 and 7..9, each with one read into its place in `out`.
  std::byte* const row = out.data.data();
  const size_t row_bytes = 9 * 4;
  EXPECT_EQ(reader.read_into_targets(), (std::vector<std::byte*>{row, row + 5 * row_bytes}));

  // Rows 3 and 4 stored in each other's place: they still land where they belong.
  Bytes swapped = encoded;
  const size_t index_start = encoded.size() - 12 * 16 - 4;
  std::swap_ranges(swapped.begin() + 3 * row_bytes, swapped.begin() + 4 * row_bytes, swapped.begin() + 4 * row_bytes);
  std::swap_ranges(swapped.begin() + static_cast<std::ptrdiff_t>(index_start + 3 * 16),
                   swapped.begin() + static_cast<std::ptrdiff_t>(index_start + 4 * 16),
                   swapped.begin() + static_cast<std::ptrdiff_t>(index_start + 4 * 16));
  const uint32_t crc = codecs::crc32c(ByteView(swapped).subspan(index_start, 12 * 16));
  for (size_t b = 0; b < 4; ++b) swapped[index_start + 12 * 16 + b] = std::byte(crc >> (8 * b));
  std::fill(out.data.begin(), out.data.end(), std::byte{0x5A});
  CountingReader swapped_reader(swapped);
  chain.decode_region_into(swapped_reader, region, out.view(), kWhere);
  expect_same(extract_box(shard, region), out);
  EXPECT_EQ(swapped_reader.read_into_targets(), (std::vector<std::byte*>{row, row + 2 * row_bytes, row + row_bytes,
                                                                         row + 3 * row_bytes, row + 5 * row_bytes}));

  // Compressed rows are decoded from a buffer of their own.
  const CodecChain compressed = chain_of(sharding({1, 9}, "end"), spec);
  std::fill(out.data.begin(), out.data.end(), std::byte{0x5A});
  CountingReader compressed_reader(compressed.encode(shard));
  compressed.decode_region_into(compressed_reader, region, out.view(), kWhere);
  expect_same(extract_box(shard, region), out);
  for (std::byte* target : compressed_reader.read_into_targets()) {
    EXPECT_TRUE(target < row || target >= row + out.data.size()) << "compressed bytes read into the result";
  }
}

TEST(ShardingCodec, NestsShardsAndDecodesThemPartially) {
  const ChunkSpec spec = float_spec({16, 16});
  const Chunk shard = float_chunk(spec.shape, 4);
  const json codecs = sharding({8, 8}, "end", sharding({4, 4}, "start", json::array({kBytesLittle})));
  const CodecChain chain = chain_of(codecs, spec);
  EXPECT_EQ(chain.to_json(), codecs);
  const Bytes encoded = chain.encode(shard);
  expect_same(shard, chain.decode(encoded, kWhere));
  const Box region{{9, 2}, {2, 2}};  // inside one inner-inner chunk
  CountingReader reader(encoded);
  expect_same(extract_box(shard, region), chain.decode_region(reader, region, kWhere));
  // Outer index, inner index, and two rows of one inner-inner chunk.
  EXPECT_EQ(reader.bytes_read(), (4u * 16 + 4) + (4u * 16 + 4) + 2u * 4 * 4);
}

TEST(ShardingCodec, ShardsStringsAndOtherTypes) {
  const ChunkSpec strings{DataType::kString, {6, 4}, FillValue::of_string("")};
  round_trip(sharding({3, 2}, "end", kVlen), strings, string_chunk(strings.shape));
  const ChunkSpec ints{DataType::kUint16, {100}, FillValue::of<uint16_t>(7)};
  round_trip(sharding({10}, "start", json::array({kBytesLittle})), ints, pattern_chunk(DataType::kUint16, {100}));
  const ChunkSpec scalar = float_spec({});
  round_trip(sharding({}, "end"), scalar, float_chunk({}));
}

TEST(ShardingCodec, FollowedByACompressor) {
  // As in the f32_sharded_start fixture: a zstd codec after sharding_indexed.
  const ChunkSpec spec = float_spec({20, 5, 2, 8});
  json codecs = sharding({10, 5, 2, 4}, "start", with({{"name", "gzip"}, {"configuration", {{"level", 5}}}}));
  codecs.push_back({{"name", "zstd"}, {"configuration", {{"level", 0}, {"checksum", false}}}});
  const CodecChain chain = chain_of(codecs, spec);
  const Chunk shard = float_chunk(spec.shape);
  round_trip(codecs, spec, shard);
  const Box region{{3, 1, 0, 2}, {9, 2, 2, 5}};
  expect_same(extract_box(shard, region), chain.decode_region(CountingReader(chain.encode(shard)), region, kWhere));
}

TEST(ShardingCodec, DetectsCorruptShards) {
  const ChunkSpec spec = float_spec({12, 9});
  const Chunk shard = sparse_shard(spec.shape);
  for (const char* location : {"start", "end"}) {
    SCOPED_TRACE(location);
    const bool at_end = std::string(location) == "end";
    const CodecChain chain = chain_of(sharding({4, 3}, location), spec);
    const CodecChain unchecked = chain_of(
        sharding({4, 3}, location, with({{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}}),
                 json::array({kBytesLittle})),
        spec);
    const Bytes encoded = chain.encode(shard);
    const size_t index_start = at_end ? encoded.size() - 9 * 16 - 4 : 0;
    const Box region{{0, 0}, {4, 3}};

    // Shorter than the index, or a damaged index (crc32c).
    EXPECT_CORRUPT(chain.decode(ByteView(encoded).first(100), kWhere), "smaller than its index");
    EXPECT_CORRUPT(chain.decode_region(
                       CountingReader(Bytes(ByteView(encoded).first(100).begin(), ByteView(encoded).first(100).end())),
                       region, kWhere),
                   "smaller than its index");
    Bytes damaged_index = encoded;
    damaged_index[index_start + 3] ^= std::byte{1};
    EXPECT_CORRUPT(chain.decode(damaged_index, kWhere), "crc32c");
    EXPECT_CORRUPT(chain.decode_region(CountingReader(damaged_index), region, kWhere), "crc32c");

    // Without a checksum, entries pointing outside the data are caught.
    const Bytes plain = unchecked.encode(shard);
    const size_t plain_index = at_end ? plain.size() - 9 * 16 : 0;
    auto with_entry = [&](uint64_t offset, uint64_t nbytes) {
      Bytes bytes = plain;
      std::memcpy(&bytes[plain_index], &offset, 8);  // inner chunk (0, 0)
      std::memcpy(&bytes[plain_index + 8], &nbytes, 8);
      return bytes;
    };
    const uint64_t size = plain.size();
    for (auto [offset, nbytes] : std::vector<std::pair<uint64_t, uint64_t>>{{size, 10},
                                                                            {size - 5, 10},
                                                                            {std::numeric_limits<uint64_t>::max(), 10},
                                                                            {0, std::numeric_limits<uint64_t>::max()},
                                                                            {at_end ? size - 9 * 16 : 0, 16},
                                                                            {~0ull - 3, 8}}) {
      SCOPED_TRACE(std::to_string(offset) + "+" + std::to_string(nbytes));
      EXPECT_CORRUPT(unchecked.decode(with_entry(offset, nbytes), kWhere), "inner chunk (0, 0)");
      EXPECT_CORRUPT(unchecked.decode_region(CountingReader(with_entry(offset, nbytes)), region, kWhere),
                     "inner chunk (0, 0)");
    }
    // An entry inside the data but at the wrong place fails in the inner chain,
    // which names the inner chunk too.
    const uint64_t data_start = at_end ? 0 : 9 * 16;
    EXPECT_CORRUPT(unchecked.decode(with_entry(data_start + 1, 20), kWhere), "zstd");
    EXPECT_CORRUPT(unchecked.decode(with_entry(data_start + 1, 20), kWhere), "inner chunk (0, 0)");
  }
}

TEST(ShardingCodec, RejectsBadConfigurations) {
  const ChunkSpec spec = float_spec({12, 9});
  auto changed = [](const char* key, json value) {
    json codecs = sharding({4, 3}, "end");
    if (value.is_discarded())
      codecs[0]["configuration"].erase(key);
    else
      codecs[0]["configuration"][key] = std::move(value);
    return codecs;
  };
  const json discarded(json::value_t::discarded);
  for (const json& codecs :
       {changed("chunk_shape", {5, 3}), changed("chunk_shape", {4}), changed("chunk_shape", {4, 3, 1}),
        changed("chunk_shape", {0, 3}), changed("chunk_shape", {-4, 3}), changed("chunk_shape", "4,3"),
        changed("chunk_shape", discarded), changed("codecs", discarded), changed("codecs", "bytes"),
        changed("index_codecs", discarded), changed("index_location", "middle"), changed("index_location", 1),
        changed("order", "C"),
        // The index must have a fixed size: no compressor.
        changed("index_codecs", with({{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}})),
        changed("index_codecs", kVlen),
        // The inner chain is validated against the inner chunks.
        changed("codecs", kVlen)}) {
    SCOPED_TRACE(codecs.dump());
    EXPECT_BAD_CONFIG(chain_of(codecs, spec));
  }
  // index_location defaults to "end".
  const CodecChain chain = chain_of(changed("index_location", discarded), spec);
  EXPECT_EQ(chain.to_json()[0]["configuration"]["index_location"], "end");
  EXPECT_EQ(chain.to_json()[0]["configuration"]["index_codecs"],
            sharding({4, 3}, "end")[0]["configuration"]["index_codecs"]);
}

// ------------------------------------------------------ thread safety

TEST(Codecs, EncodeAndDecodeConcurrently) {
  const ChunkSpec spec = float_spec({16, 16});
  json codecs =
      sharding({8, 4}, "end", with({{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", true}}}}));
  codecs.push_back({{"name", "blosc"},
                    {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"blocksize", 0}}}});
  codecs.push_back({{"name", "gzip"}, {"configuration", {{"level", 1}}}});
  codecs.push_back({{"name", "crc32c"}});
  const CodecChain chain = chain_of(codecs, spec);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t round = 0; round < 30; ++round) {
        const Chunk chunk = float_chunk(spec.shape, static_cast<uint32_t>(t) * 100 + round);
        if (chain.decode(chain.encode(chunk), kWhere).data != chunk.data) ++failures[static_cast<size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// ------------------------------------------------- zarr-python fixtures

const std::filesystem::path kFixtures = std::filesystem::path(LCSTORE_FIXTURES) / "zarr-python-3.0.6";

Bytes file_bytes(const std::filesystem::path& path) { return to_bytes(lcstore::testing::read_file(path)); }

// Every chunk file of a fixture decodes, with the chain built from its
// zarr.json, to the expected values (inside the array; edge chunks extend
// past it), and the chain writes its codecs back exactly as zarr-python did.
void check_fixture(const std::string& name) {
  SCOPED_TRACE(name);
  const std::filesystem::path root = kFixtures / name;
  const json metadata = json::parse(lcstore::testing::read_file(root / "zarr.json"));
  const DataType type = parse_data_type(metadata["data_type"].get<std::string>(), name);
  const Shape shape = metadata["shape"].get<Shape>();
  const Shape chunk_shape = metadata["chunk_grid"]["configuration"]["chunk_shape"].get<Shape>();
  const ChunkSpec spec{type, chunk_shape, FillValue::from_json(metadata["fill_value"], type, name)};
  const CodecChain chain = CodecChain::parse(metadata["codecs"], spec, name);
  EXPECT_EQ(chain.to_json(), metadata["codecs"]);

  // Expected values, as doubles or strings, in C order over `shape`.
  std::vector<double> numbers;
  std::vector<std::string> strings;
  if (std::filesystem::exists(kFixtures / (name + ".expected.f64"))) {
    const Bytes raw = file_bytes(kFixtures / (name + ".expected.f64"));
    numbers.resize(raw.size() / 8);
    std::memcpy(numbers.data(), raw.data(), raw.size());
  } else if (std::filesystem::exists(kFixtures / (name + ".expected.i64"))) {
    const Bytes raw = file_bytes(kFixtures / (name + ".expected.i64"));
    std::vector<int64_t> integers(raw.size() / 8);
    std::memcpy(integers.data(), raw.data(), raw.size());
    numbers.assign(integers.begin(), integers.end());
  } else {
    strings =
        json::parse(lcstore::testing::read_file(kFixtures / (name + ".expected.json"))).get<std::vector<std::string>>();
  }
  auto element = [&]<typename T>(const Chunk& chunk, uint64_t i, T) {
    T value;
    std::memcpy(&value, &chunk.data[i * sizeof(T)], sizeof(T));
    return static_cast<double>(value);
  };
  auto value_at = [&](const Chunk& chunk, uint64_t i) -> double {
    switch (type) {
      case DataType::kFloat32:
        return element(chunk, i, float{});
      case DataType::kFloat64:
        return element(chunk, i, double{});
      case DataType::kInt32:
        return element(chunk, i, int32_t{});
      case DataType::kUint16:
        return element(chunk, i, uint16_t{});
      default:
        ADD_FAILURE() << "fixture type " << name_of(type);
        return 0;
    }
  };

  size_t chunks = 0;
  uint64_t checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root / "c")) {
    if (!entry.is_regular_file()) continue;
    ++chunks;
    const std::string key = std::filesystem::relative(entry.path(), root / "c").string();
    Shape coords;
    std::stringstream parts(key);
    for (std::string part; std::getline(parts, part, '/');) coords.push_back(std::stoull(part));
    const Bytes stored = file_bytes(entry.path());
    const Chunk chunk = chain.decode(stored, name + "/c/" + key);
    ASSERT_EQ(chunk.shape, chunk_shape);
    // Partial decoding agrees with full decoding.
    Box middle{Shape(chunk_shape.size()), Shape(chunk_shape.size())};
    for (size_t d = 0; d < chunk_shape.size(); ++d) {
      middle.start[d] = chunk_shape[d] / 3;
      middle.shape[d] = std::max<uint64_t>(1, chunk_shape[d] / 2);
    }
    expect_same(extract_box(chunk, middle), chain.decode_region(CountingReader(stored), middle, kWhere));

    const size_t rank = shape.size();
    for (uint64_t i = 0; i < chunk.size(); ++i) {
      uint64_t rest = i, linear = 0;
      bool inside = true;
      Shape index(rank);
      for (size_t d = rank; d-- > 0;) {
        index[d] = rest % chunk_shape[d];
        rest /= chunk_shape[d];
      }
      for (size_t d = 0; d < rank; ++d) {
        const uint64_t global = coords[d] * chunk_shape[d] + index[d];
        inside = inside && global < shape[d];
        linear = linear * shape[d] + global;
      }
      if (!inside) continue;
      ++checked;
      if (type == DataType::kString) {
        ASSERT_EQ(chunk.strings[i], strings[linear]) << key << " element " << i;
      } else {
        const double expected = numbers[linear], actual = value_at(chunk, i);
        ASSERT_TRUE(expected == actual || (std::isnan(expected) && std::isnan(actual)))
            << key << " element " << i << ": " << actual << " != " << expected;
      }
    }
  }
  EXPECT_GT(chunks, 0u);
  EXPECT_GT(checked, 0u);
}

TEST(Fixtures, DecodeEveryChunkZarrPythonWrote) {
  for (const char* name : {"f32_raw", "f32_big_endian", "f32_transpose", "f32_gzip", "f32_zstd", "f32_crc32c",
                           "f32_zstd_crc32c", "f32_blosc_lz4_shuffle", "f32_blosc_zstd_bitshuffle", "f32_sharded_end",
                           "f32_sharded_start", "f32_sparse_fill", "f64_1d", "i32_zstd", "u16_1d", "str_vlen"}) {
    check_fixture(name);
  }
}

TEST(Fixtures, ShardedFixtureDecodesPartially) {
  const std::filesystem::path root = kFixtures / "f32_sharded_end";
  const json metadata = json::parse(lcstore::testing::read_file(root / "zarr.json"));
  const ChunkSpec spec = float_spec({20, 5, 2, 8});
  const CodecChain chain = CodecChain::parse(metadata["codecs"], spec, "f32_sharded_end");
  const Bytes stored = file_bytes(root / "c" / "0" / "0" / "0" / "0");
  const Chunk whole = chain.decode(stored, kWhere);
  const Box region{{12, 1, 0, 5}, {3, 2, 2, 2}};  // one inner chunk of the four
  CountingReader reader(stored);
  expect_same(extract_box(whole, region), chain.decode_region(reader, region, kWhere));
  EXPECT_LT(reader.bytes_read(), stored.size() / 2);
}

}  // namespace
}  // namespace lcstore::zarr
