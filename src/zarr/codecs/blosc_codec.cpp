// The "blosc" codec (zarr-specs v3 codecs/blosc) via c-blosc 1.x.
#include <blosc.h>
#include <fmt/format.h>

#include <array>
#include <climits>
#include <string_view>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

// The compressors the blosc codec specification names; a build of c-blosc may
// lack some of them (Debian's has no snappy).
constexpr std::array<std::string_view, 6> kCompressors = {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"};
constexpr std::array<std::string_view, 3> kShuffles = {"noshuffle", "shuffle", "bitshuffle"};

bool available(std::string_view compressor) { return blosc_compname_to_compcode(compressor.data()) >= 0; }

class BloscCodec final : public BytesToBytesCodec {
 public:
  BloscCodec(std::string compressor, int level, int shuffle, size_t type_size, size_t block_size, std::string subject)
      : compressor_(std::move(compressor)),
        level_(level),
        shuffle_(shuffle),
        type_size_(type_size),
        block_size_(block_size),
        subject_(std::move(subject)) {}

  Bytes encode(ByteView decoded) const override {
    if (decoded.size() > static_cast<size_t>(BLOSC_MAX_BUFFERSIZE)) {
      throw Error(
          ErrorKind::kInvalidArgument, subject_,
          fmt::format("blosc: a chunk of {} bytes exceeds blosc's limit of {}", decoded.size(), BLOSC_MAX_BUFFERSIZE));
    }
    // With BLOSC_MAX_OVERHEAD spare bytes compression cannot run out of room.
    Bytes out(decoded.size() + BLOSC_MAX_OVERHEAD);
    // One internal thread: callers parallelise over chunks.
    const int size = blosc_compress_ctx(level_, shuffle_, type_size_, decoded.size(), decoded.data(), out.data(),
                                        out.size(), compressor_.c_str(), block_size_, 1);
    if (size <= 0) throw std::logic_error(fmt::format("blosc: compression failed ({})", size));
    out.resize(static_cast<size_t>(size));
    return out;
  }

  Bytes decode(ByteView encoded, uint64_t max_size, const std::string& where) const override {
    // Checks the header against the buffer length (which must match exactly),
    // the only thing that makes decompressing untrusted input safe.
    size_t size = 0;
    if (blosc_cbuffer_validate(encoded.data(), encoded.size(), &size) != 0) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("blosc: {} bytes are not a complete blosc buffer", encoded.size()));
    }
    if (size > max_size) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("blosc: the header declares {} bytes, more than the chunk's {}", size, max_size));
    }
    Bytes out(size);
    if (size == 0) return out;
    const int written = blosc_decompress_ctx(encoded.data(), out.data(), out.size(), 1);
    if (written < 0 || static_cast<size_t>(written) != size) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("blosc: decompression failed ({}, expected {} bytes)", written, size));
    }
    return out;
  }

  nlohmann::json to_json() const override {
    return {{"name", "blosc"},
            {"configuration",
             {{"typesize", type_size_},
              {"cname", compressor_},
              {"clevel", level_},
              {"shuffle", kShuffles[static_cast<size_t>(shuffle_)]},
              {"blocksize", block_size_}}}};
  }

 private:
  std::string compressor_;
  int level_;
  int shuffle_;  // BLOSC_NOSHUFFLE, BLOSC_SHUFFLE or BLOSC_BITSHUFFLE: the index in kShuffles
  size_t type_size_;
  size_t block_size_;  // 0: blosc chooses
  std::string subject_;
};

}  // namespace

std::shared_ptr<const BytesToBytesCodec> codecs::make_blosc(const nlohmann::json& configuration, const ChunkSpec& spec,
                                                            const std::string& subject) {
  static_assert(BLOSC_NOSHUFFLE == 0 && BLOSC_SHUFFLE == 1 && BLOSC_BITSHUFFLE == 2);
  Configuration config(configuration, "blosc", subject, {"cname", "clevel", "shuffle", "typesize", "blocksize"});
  const std::string compressor = config.choice(
      "cname", {kCompressors[0], kCompressors[1], kCompressors[2], kCompressors[3], kCompressors[4], kCompressors[5]});
  if (!available(compressor)) {
    std::string present;
    for (std::string_view name : kCompressors) {
      if (available(name)) present += fmt::format("{}{}", present.empty() ? "" : ", ", name);
    }
    throw config.error(fmt::format("compressor \"{}\" is not available in this c-blosc {} build (it has {})",
                                   compressor, BLOSC_VERSION_STRING, present),
                       ErrorKind::kUnsupported);
  }
  const auto level = static_cast<int>(config.integer("clevel", 0, 9));
  const std::string shuffle = config.choice("shuffle", {kShuffles[0], kShuffles[1], kShuffles[2]});
  const int shuffle_code = shuffle == "noshuffle" ? BLOSC_NOSHUFFLE
                           : shuffle == "shuffle" ? BLOSC_SHUFFLE
                                                  : BLOSC_BITSHUFFLE;
  // zarr-python fills typesize in from the data type when it is left out.
  const int64_t default_type_size = std::max<int64_t>(1, static_cast<int64_t>(item_size(spec.data_type)));
  const int64_t type_size = config.integer("typesize", 1, INT_MAX, default_type_size);
  const int64_t block_size = config.integer("blocksize", 0, BLOSC_MAX_BLOCKSIZE, 0);
  return std::make_shared<BloscCodec>(compressor, level, shuffle_code, static_cast<size_t>(type_size),
                                      static_cast<size_t>(block_size), subject);
}

}  // namespace lcstore::zarr
