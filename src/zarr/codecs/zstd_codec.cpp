// The "zstd" codec (zarr-extensions codecs/zstd): one zstd frame per chunk.
#include <algorithm>
#include <memory>
#include <new>

// ZSTD_findDecompressedSize and ZSTD_decompressBound sit in the "static"
// section of zstd.h but have been stable since 1.4 and are exported by the
// shared library; they let decode size its output without trusting the header.
#define ZSTD_STATIC_LINKING_ONLY
#include <fmt/format.h>
#include <zstd.h>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

struct CContextDeleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DContextDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

// Contexts are costly to create (hundreds of KiB) and not thread-safe, so
// each thread keeps one of each.
ZSTD_CCtx* compression_context() {
  thread_local std::unique_ptr<ZSTD_CCtx, CContextDeleter> context(ZSTD_createCCtx());
  if (!context) throw std::bad_alloc();
  return context.get();
}

ZSTD_DCtx* decompression_context() {
  thread_local std::unique_ptr<ZSTD_DCtx, DContextDeleter> context(ZSTD_createDCtx());
  if (!context) throw std::bad_alloc();
  ZSTD_DCtx_reset(context.get(), ZSTD_reset_session_only);
  return context.get();
}

class ZstdCodec final : public BytesToBytesCodec {
 public:
  ZstdCodec(int level, bool checksum) : level_(level), checksum_(checksum) {}

  Bytes encode(ByteView decoded) const override {
    ZSTD_CCtx* context = compression_context();
    ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters);
    check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level_));
    check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, checksum_ ? 1 : 0));
    Bytes out(ZSTD_compressBound(decoded.size()));
    const size_t size = check(ZSTD_compress2(context, out.data(), out.size(), decoded.data(), decoded.size()));
    out.resize(size);
    return out;
  }

  Bytes decode(ByteView encoded, uint64_t max_size, const std::string& where) const override {
    auto corrupt = [&](const std::string& reason) { return Error(ErrorKind::kCorruptData, where, "zstd: " + reason); };
    if (encoded.empty()) throw corrupt("empty input");
    // Walks the block headers, so it also catches most truncations early.
    const unsigned long long bound = ZSTD_decompressBound(encoded.data(), encoded.size());
    if (bound == ZSTD_CONTENTSIZE_ERROR) throw corrupt("not a complete zstd frame");
    const unsigned long long size = ZSTD_findDecompressedSize(encoded.data(), encoded.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || (size != ZSTD_CONTENTSIZE_UNKNOWN && size > bound)) {
      throw corrupt("invalid frame header");
    }
    auto too_large = [&] { return corrupt(fmt::format("decodes to more than the chunk's {} bytes", max_size)); };
    if (size != ZSTD_CONTENTSIZE_UNKNOWN && size > max_size) throw too_large();
    ZSTD_DCtx* context = decompression_context();
    if (size != ZSTD_CONTENTSIZE_UNKNOWN) {
      Bytes out(size);
      const size_t written = ZSTD_decompressDCtx(context, out.data(), out.size(), encoded.data(), encoded.size());
      if (ZSTD_isError(written)) throw corrupt(ZSTD_getErrorName(written));
      if (written != size) throw corrupt(fmt::format("frame declares {} bytes but holds {}", size, written));
      return out;
    }
    // Writers that stream (numcodecs before 0.13, some zarrs versions) leave
    // the content size out of the frame header.
    const uint64_t guess = std::max<uint64_t>(encoded.size() * 4, ZSTD_DStreamOutSize());
    Bytes out(std::max<uint64_t>(std::min<uint64_t>({guess, bound, max_size}), 1));
    ZSTD_inBuffer input{encoded.data(), encoded.size(), 0};
    size_t written = 0;
    while (true) {
      if (written == out.size()) {
        if (written >= max_size) throw too_large();
        out.resize(std::min<uint64_t>(out.size() * 2, max_size));
      }
      ZSTD_outBuffer output{out.data(), out.size(), written};
      const size_t status = ZSTD_decompressStream(context, &output, &input);
      written = output.pos;
      if (ZSTD_isError(status)) throw corrupt(ZSTD_getErrorName(status));
      const bool input_done = input.pos == input.size;
      if (status == 0 && input_done) break;  // the last frame is complete and flushed
      if (input_done && output.pos < output.size) throw corrupt("truncated frame");
    }
    out.resize(written);
    return out;
  }

  nlohmann::json to_json() const override {
    return {{"name", "zstd"}, {"configuration", {{"level", level_}, {"checksum", checksum_}}}};
  }

 private:
  static size_t check(size_t result) {
    if (ZSTD_isError(result)) throw std::logic_error(std::string("zstd: ") + ZSTD_getErrorName(result));
    return result;
  }

  int level_;
  bool checksum_;
};

}  // namespace

std::shared_ptr<const BytesToBytesCodec> codecs::make_zstd(const nlohmann::json& configuration,
                                                           const std::string& subject) {
  Configuration config(configuration, "zstd", subject, {"level", "checksum"});
  // Level 0 is zstd's default level (3), which zarr-python writes by default.
  const auto level = static_cast<int>(config.integer("level", ZSTD_minCLevel(), ZSTD_maxCLevel()));
  return std::make_shared<ZstdCodec>(level, config.boolean("checksum"));
}

}  // namespace lcstore::zarr
