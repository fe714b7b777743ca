// The "gzip" codec (zarr-specs v3 codecs/gzip): RFC 1952 members via zlib.
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <new>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

// zlib counts in 32-bit uInt; larger buffers are fed in steps of this size.
constexpr uint64_t kStep = uint64_t{1} << 30;
// windowBits 15 with +16 selects the gzip wrapper instead of zlib's.
constexpr int kGzipWindowBits = 15 + 16;
// Deflate never compresses better than 1032:1, which bounds how much an
// output size read from the (untrusted) gzip trailer may pre-allocate.
constexpr uint64_t kMaxRatio = 1032;

uInt step_of(uint64_t remaining) { return static_cast<uInt>(std::min(remaining, kStep)); }

// Before each deflate/inflate call: refills zlib's input window and offers
// output room, growing `out` when full (zlib counts in uInt, so large buffers
// go in steps), up to `limit` bytes. Returns the room offered.
uInt prepare_step(z_stream& stream, uint64_t& in_left, Bytes& out, uint64_t written, uint64_t limit) {
  if (stream.avail_in == 0 && in_left > 0) {
    stream.avail_in = step_of(in_left);
    in_left -= stream.avail_in;
  }
  if (written == out.size()) out.resize(std::min(out.size() * 2, limit));
  stream.next_out = reinterpret_cast<Bytef*>(out.data() + written);
  stream.avail_out = step_of(out.size() - written);
  return stream.avail_out;
}

class GzipCodec final : public BytesToBytesCodec {
 public:
  explicit GzipCodec(int level) : level_(level) {}

  Bytes encode(ByteView decoded) const override {
    z_stream stream{};
    if (deflateInit2(&stream, level_, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::bad_alloc();
    }
    Bytes out(deflateBound(&stream, decoded.size()));
    stream.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(decoded.data()));
    uint64_t in_left = decoded.size();
    uint64_t written = 0;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
      const uInt avail_out = prepare_step(stream, in_left, out, written, UINT64_MAX);
      status = deflate(&stream, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
      written += avail_out - stream.avail_out;
      if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
        deflateEnd(&stream);
        throw std::logic_error("gzip: deflate failed");
      }
    }
    deflateEnd(&stream);
    out.resize(written);
    return out;
  }

  Bytes decode(ByteView encoded, uint64_t max_size, const std::string& where) const override {
    auto corrupt = [&](const std::string& reason) { return Error(ErrorKind::kCorruptData, where, "gzip: " + reason); };
    if (encoded.size() < 18) throw corrupt(fmt::format("{} bytes is too short for a gzip member", encoded.size()));
    // ISIZE, the last member's size modulo 2^32, is a good first guess.
    uint64_t guess = 0;
    for (size_t i = 0; i < 4; ++i) guess |= std::to_integer<uint64_t>(encoded[encoded.size() - 4 + i]) << (8 * i);
    Bytes out(std::clamp<uint64_t>(guess, 1, std::min(encoded.size() * kMaxRatio, std::max<uint64_t>(max_size, 1))));

    z_stream stream{};
    if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) throw std::bad_alloc();
    stream.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(encoded.data()));
    uint64_t in_left = encoded.size();
    uint64_t written = 0;
    // Several concatenated members decode to the concatenation (RFC 1952 2.2).
    while (true) {
      if (written == out.size() && written >= max_size) {
        inflateEnd(&stream);
        throw corrupt(fmt::format("decodes to more than the chunk's {} bytes", max_size));
      }
      const uInt avail_out = prepare_step(stream, in_left, out, written, max_size);
      const int status = inflate(&stream, Z_NO_FLUSH);
      written += avail_out - stream.avail_out;
      if (status == Z_STREAM_END) {
        if (stream.avail_in == 0 && in_left == 0) break;
        inflateReset(&stream);
      } else if (status == Z_BUF_ERROR) {
        // No progress although there was room for output (input is always
        // refilled above): the input ended before the member did.
        if (stream.avail_out > 0) {
          inflateEnd(&stream);
          throw corrupt("truncated stream");
        }
      } else if (status != Z_OK) {
        const std::string message = stream.msg ? stream.msg : fmt::format("inflate error {}", status);
        inflateEnd(&stream);
        if (status == Z_MEM_ERROR) throw std::bad_alloc();
        throw corrupt(message);
      }
    }
    inflateEnd(&stream);
    out.resize(written);
    return out;
  }

  nlohmann::json to_json() const override { return {{"name", "gzip"}, {"configuration", {{"level", level_}}}}; }

 private:
  int level_;
};

}  // namespace

std::shared_ptr<const BytesToBytesCodec> codecs::make_gzip(const nlohmann::json& configuration,
                                                           const std::string& subject) {
  Configuration config(configuration, "gzip", subject, {"level"});
  return std::make_shared<GzipCodec>(static_cast<int>(config.integer("level", 0, 9)));
}

}  // namespace lcstore::zarr
