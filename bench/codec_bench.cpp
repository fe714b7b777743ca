// Codec chain throughput on light-curve-like data.
//
// Encodes and decodes ~64 MiB of float32 magnitudes (chunks of a few MiB laid
// out [object, measurement, value, epoch], ~5% NaN) with each codec chain,
// built by CodecChain::parse exactly as an array would build it. Throughput is
// decoded bytes per second (GB = 1e9 bytes), the median of kRepeats runs, and
// is also given relative to memcpy of the same bytes measured in the same run.
// Single-threaded: arrays parallelise over chunks, not within one.
#include <fmt/core.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "lcstore/memory.h"
#include "zarr/codec.h"

namespace {

using lcstore::Bytes;
using lcstore::zarr::Chunk;
using lcstore::zarr::ChunkSpec;
using lcstore::zarr::CodecChain;
using lcstore::zarr::DataType;
using lcstore::zarr::FillValue;
using lcstore::zarr::Shape;
using nlohmann::json;

constexpr int kRepeats = 5;
constexpr uint64_t kChunks = 16;
// [object, measurement, value (magnitude, error), epoch]: 4 MiB of float32.
const Shape kChunkShape{512, 8, 2, 128};

// Magnitudes of ~15-20 per object and measurement, per-epoch scatter, an
// error column, and NaN where an object was not measured (~5%).
std::vector<Chunk> make_chunks() {
  std::mt19937 random(20240601);
  std::uniform_real_distribution<float> base_magnitude(15.0f, 20.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::normal_distribution<float> scatter(0.0f, 1.0f);
  const uint64_t objects = kChunkShape[0], measurements = kChunkShape[1], epochs = kChunkShape[3];
  std::vector<Chunk> chunks;
  for (uint64_t c = 0; c < kChunks; ++c) {
    Chunk chunk = Chunk::sized(DataType::kFloat32, kChunkShape);
    auto* values = reinterpret_cast<float*>(chunk.data.data());
    for (uint64_t o = 0; o < objects; ++o) {
      const float magnitude = base_magnitude(random);
      // Fainter objects are noisier.
      const float sigma = 0.01f + 0.02f * std::exp(magnitude - 18.0f);
      for (uint64_t m = 0; m < measurements; ++m) {
        const float offset = 0.05f * static_cast<float>(m);  // apertures differ a little
        float* mag = values + ((o * measurements + m) * 2 + 0) * epochs;
        float* err = values + ((o * measurements + m) * 2 + 1) * epochs;
        for (uint64_t e = 0; e < epochs; ++e) {
          if (uniform(random) < 0.05f) {
            mag[e] = err[e] = NAN;
          } else {
            mag[e] = magnitude + offset + sigma * scatter(random);
            err[e] = sigma * (1.0f + 0.1f * std::abs(scatter(random)));
          }
        }
      }
    }
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

double nan_fraction(const std::vector<Chunk>& chunks) {
  uint64_t nans = 0, total = 0;
  for (const Chunk& chunk : chunks) {
    const auto* values = reinterpret_cast<const float*>(chunk.data.data());
    for (uint64_t i = 0; i < chunk.size(); ++i) nans += std::isnan(values[i]) ? 1 : 0;
    total += chunk.size();
  }
  return static_cast<double>(nans) / static_cast<double>(total);
}

struct Case {
  std::string name;
  json codecs;
};

json bytes_codec() { return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}; }

json blosc(const char* compressor, int level, const char* shuffle) {
  return {{"name", "blosc"},
          {"configuration",
           {{"cname", compressor}, {"clevel", level}, {"shuffle", shuffle}, {"typesize", 4}, {"blocksize", 0}}}};
}

std::vector<Case> cases() {
  auto zstd = [](int level) {
    return json{{"name", "zstd"}, {"configuration", {{"level", level}, {"checksum", false}}}};
  };
  return {
      {"bytes", json::array({bytes_codec()})},
      {"zstd level 1", json::array({bytes_codec(), zstd(1)})},
      {"zstd level 3", json::array({bytes_codec(), zstd(3)})},
      {"blosc lz4:5 shuffle", json::array({bytes_codec(), blosc("lz4", 5, "shuffle")})},
      {"blosc zstd:3 bitshuffle", json::array({bytes_codec(), blosc("zstd", 3, "bitshuffle")})},
      {"gzip level 5", json::array({bytes_codec(), {{"name", "gzip"}, {"configuration", {{"level", 5}}}}})},
      {"crc32c", json::array({bytes_codec(), {{"name", "crc32c"}}})},
  };
}

}  // namespace

int main() {
  lcstore::keep_freed_memory();
  const std::vector<Chunk> chunks = make_chunks();
  const uint64_t chunk_bytes = chunks.front().data.size();
  const double total_bytes = static_cast<double>(chunk_bytes * kChunks);
  const ChunkSpec spec{DataType::kFloat32, kChunkShape, FillValue::of(NAN)};

  // The baseline: memcpy of every chunk into buffers allocated (and touched) beforehand.
  std::vector<Bytes> copies(kChunks, Bytes(chunk_bytes));
  const double memcpy_seconds = lcstore::bench::median_seconds(kRepeats, [&] {
    for (uint64_t c = 0; c < kChunks; ++c) std::memcpy(copies[c].data(), chunks[c].data.data(), chunk_bytes);
  });
  for (uint64_t c = 0; c < kChunks; ++c) {
    if (copies[c] != chunks[c].data) {
      std::fprintf(stderr, "codec_bench: memcpy baseline copied wrong bytes\n");
      return 1;
    }
  }
  const double memcpy_rate = total_bytes / memcpy_seconds / 1e9;

  fmt::print("codec_bench: {:.1f} MiB of float32 in {} chunks of [{}, {}, {}, {}] ({:.1f} MiB each), {:.1f}% NaN\n",
             total_bytes / (1 << 20), kChunks, kChunkShape[0], kChunkShape[1], kChunkShape[2], kChunkShape[3],
             static_cast<double>(chunk_bytes) / (1 << 20), 100.0 * nan_fraction(chunks));
  fmt::print("throughput = decoded bytes / s (GB = 1e9 B), median of {} runs, one thread\n\n", kRepeats);
  fmt::print("{:<24} {:>7} {:>12} {:>9} {:>12} {:>9}\n", "codec chain", "ratio", "encode GB/s", "x memcpy",
             "decode GB/s", "x memcpy");
  fmt::print("{:<24} {:>7.2f} {:>12.2f} {:>9.2f} {:>12.2f} {:>9.2f}\n", "memcpy (baseline)", 1.0, memcpy_rate, 1.0,
             memcpy_rate, 1.0);

  int failures = 0;
  for (const Case& c : cases()) {
    try {
      const CodecChain chain = CodecChain::parse(c.codecs, spec, c.name);
      std::vector<Bytes> encoded(kChunks);
      const double encode_seconds = lcstore::bench::median_seconds(kRepeats, [&] {
        for (uint64_t i = 0; i < kChunks; ++i) encoded[i] = chain.encode(chunks[i]);
      });
      std::vector<Chunk> decoded(kChunks);
      const double decode_seconds = lcstore::bench::median_seconds(kRepeats, [&] {
        for (uint64_t i = 0; i < kChunks; ++i) decoded[i] = chain.decode(encoded[i], c.name);
      });
      uint64_t stored = 0;
      bool same = true;
      for (uint64_t i = 0; i < kChunks; ++i) {
        stored += encoded[i].size();
        same = same && decoded[i].shape == chunks[i].shape && decoded[i].data == chunks[i].data;
      }
      const double encode_rate = total_bytes / encode_seconds / 1e9;
      const double decode_rate = total_bytes / decode_seconds / 1e9;
      fmt::print("{:<24} {:>7.2f} {:>12.2f} {:>9.2f} {:>12.2f} {:>9.2f}{}\n", c.name,
                 total_bytes / static_cast<double>(stored), encode_rate, encode_rate / memcpy_rate, decode_rate,
                 decode_rate / memcpy_rate, same ? "" : "  ROUND TRIP MISMATCH");
      if (!same) ++failures;
    } catch (const std::exception& error) {
      fmt::print("{:<24} failed: {}\n", c.name, error.what());
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
