// The "sharding_indexed" codec (zarr-specs v3 codecs/sharding-indexed): a
// shard is a grid of inner chunks, each encoded with the inner chain and
// stored back to back, plus an index of (offset, nbytes) per inner chunk.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <span>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

// Offset and size of an inner chunk that is not stored (all fill value).
constexpr uint64_t kMissing = std::numeric_limits<uint64_t>::max();

struct Entry {
  uint64_t offset;
  uint64_t nbytes;
  bool missing() const { return offset == kMissing && nbytes == kMissing; }
};

// A window [offset, offset + size) of another value, so that an inner chain
// can itself decode partially (nested shards) without reading the rest.
class SliceReader final : public ValueReader {
 public:
  SliceReader(const ValueReader& base, uint64_t offset, uint64_t size, const std::string& where)
      : base_(base), offset_(offset), size_(size), where_(where) {}

  uint64_t size() const override { return size_; }

  Bytes read(uint64_t offset, uint64_t length) const override {
    check_range(offset, length);
    return base_.read(offset_ + offset, length);
  }

  void read_into(uint64_t offset, std::span<std::byte> into) const override {
    check_range(offset, into.size());
    base_.read_into(offset_ + offset, into);
  }

 private:
  void check_range(uint64_t offset, uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      throw Error(ErrorKind::kCorruptData, where_,
                  fmt::format("sharding_indexed: read of [{}, +{}) outside the inner chunk of {} bytes", offset, length,
                              size_));
    }
  }

  const ValueReader& base_;
  uint64_t offset_;
  uint64_t size_;
  const std::string& where_;
};

class ShardingCodec final : public ArrayToBytesCodec {
 public:
  ShardingCodec(const ChunkSpec& shard, Shape inner_shape, CodecChain inner, CodecChain index, bool index_at_end)
      : inner_shape_(std::move(inner_shape)),
        inner_(std::move(inner)),
        index_(std::move(index)),
        index_at_end_(index_at_end),
        index_size_(*index_.fixed_encoded_size()) {
    for (size_t d = 0; d < inner_shape_.size(); ++d) grid_.push_back(shard.shape[d] / inner_shape_[d]);
    count_ = element_count(grid_);
  }

  Bytes encode(Chunk shard, const ChunkSpec& spec) const override {
    std::vector<uint64_t> index(2 * count_, kMissing);
    // With the index first, offsets count from the start of the shard, index included.
    Bytes out(index_at_end_ ? 0 : index_size_);
    Chunk inner = Chunk::sized(spec.data_type, inner_shape_);
    const Shape origin(inner_shape_.size(), 0);
    for (uint64_t i = 0; i < count_; ++i) {
      copy_box(shard, inner_box(i), inner.view(), origin);
      // zarr-python's default (write_empty_chunks=False): empty inner chunks are not stored.
      if (inner.all_equal(spec.fill_value)) continue;
      const Bytes encoded = inner_.encode(inner);
      index[2 * i] = out.size();
      index[2 * i + 1] = encoded.size();
      out.insert(out.end(), encoded.begin(), encoded.end());
    }
    Chunk index_chunk = Chunk::sized(DataType::kUint64, index_.spec().shape);
    std::memcpy(index_chunk.data.data(), index.data(), index_chunk.data.size());
    const Bytes encoded_index = index_.encode(index_chunk);
    if (encoded_index.size() != index_size_) throw std::logic_error("sharding_indexed: index size changed");
    if (index_at_end_) {
      out.insert(out.end(), encoded_index.begin(), encoded_index.end());
    } else {
      std::copy(encoded_index.begin(), encoded_index.end(), out.begin());
    }
    return out;
  }

  Chunk decode(ByteView encoded, const ChunkSpec& spec, const std::string& where) const override {
    const std::vector<Entry> entries =
        read_index(encoded.subspan(index_offset(encoded.size(), where), index_size_), where);
    Chunk shard = Chunk::filled(spec);
    for (uint64_t i = 0; i < count_; ++i) {
      if (entries[i].missing()) continue;
      check_entry(entries[i], i, encoded.size(), where);
      inner_.decode_into(encoded.subspan(entries[i].offset, entries[i].nbytes), shard.view(), inner_box(i).start,
                         inner_where(i, where));
    }
    return shard;
  }

  void decode_region_into(const ValueReader& value, const ChunkSpec& spec, const Box& region, const ChunkView& out,
                          const std::string& where) const override {
    if (element_count(region.shape) == 0) return;
    const uint64_t size = value.size();
    const std::vector<Entry> entries = read_index(value.read(index_offset(size, where), index_size_), where);

    // Inner chunks entirely inside the region are read in runs of adjacent
    // byte ranges and decoded whole; the others are decoded partially.
    struct Part {
      uint64_t inner;
      Box box;  // of the inner chunk, in its coordinates
      Shape target_start;
    };
    std::vector<Part> whole, partial;
    bool any_missing = false;
    const size_t rank = inner_shape_.size();
    Shape first(rank), last(rank), grid_index(rank);
    for (size_t d = 0; d < rank; ++d) {
      first[d] = region.start[d] / inner_shape_[d];
      last[d] = (region.start[d] + region.shape[d] - 1) / inner_shape_[d];
    }
    grid_index = first;
    while (true) {
      uint64_t i = 0;
      for (size_t d = 0; d < rank; ++d) i = i * grid_[d] + grid_index[d];
      any_missing = any_missing || entries[i].missing();
      if (!entries[i].missing()) {
        check_entry(entries[i], i, size, where);
        // The overlap of the region and the inner chunk, in inner chunk coordinates.
        Part part{i, Box{Shape(rank), Shape(rank)}, Shape(rank)};
        for (size_t d = 0; d < rank; ++d) {
          const uint64_t chunk_start = grid_index[d] * inner_shape_[d];
          const uint64_t begin = std::max(region.start[d], chunk_start);
          const uint64_t end = std::min(region.start[d] + region.shape[d], chunk_start + inner_shape_[d]);
          part.box.start[d] = begin - chunk_start;
          part.box.shape[d] = end - begin;
          part.target_start[d] = begin - region.start[d];
        }
        (part.box.shape == inner_shape_ ? whole : partial).push_back(std::move(part));
      }
      // Advance over the grid box [first, last], last dimension fastest.
      size_t d = rank;
      while (d > 0 && grid_index[d - 1] == last[d - 1]) {
        grid_index[d - 1] = first[d - 1];
        --d;
      }
      if (d == 0) break;
      ++grid_index[d - 1];
    }

    // The parts tile the region: only missing inner chunks leave fill values.
    if (any_missing) fill_view(out, spec.fill_value);
    for (const Part& part : partial) {
      const std::string inner_where_text = inner_where(part.inner, where);
      const SliceReader slice(value, entries[part.inner].offset, entries[part.inner].nbytes, inner_where_text);
      const Chunk decoded = inner_.decode_region(slice, part.box, inner_where_text);
      copy_box(decoded, Box{Shape(rank, 0), part.box.shape}, out, part.target_start);
    }
    // Whole inner chunks adjacent in the shard are read with one read each.
    // When their bytes are their elements and they follow each other in
    // `out` as in the shard (an object's light curve per inner chunk), they
    // are read straight into `out`.
    std::sort(whole.begin(), whole.end(),
              [&](const Part& a, const Part& b) { return entries[a.inner].offset < entries[b.inner].offset; });
    const size_t width = item_size(spec.data_type);
    const uint64_t inner_bytes = element_count(inner_shape_) * width;
    const std::vector<uint64_t> out_strides = strides_of(region.shape);
    auto offset_in_out = [&](const Part& part) {
      uint64_t offset = 0;
      for (size_t d = 0; d < rank; ++d) offset += part.target_start[d] * out_strides[d];
      return offset * width;
    };
    const bool slabs = inner_.stores_as_is() && rank > 0 &&
                       std::equal(inner_shape_.begin() + 1, inner_shape_.end(), region.shape.begin() + 1);
    for (size_t run_begin = 0; run_begin < whole.size();) {
      const Part& head = whole[run_begin];
      const uint64_t run_offset = entries[head.inner].offset;
      const bool in_place = slabs && entries[head.inner].nbytes == inner_bytes;
      uint64_t run_end = run_offset;
      size_t run_stop = run_begin;
      for (; run_stop < whole.size(); ++run_stop) {
        const Entry& entry = entries[whole[run_stop].inner];
        if (entry.offset != run_end) break;
        if (in_place && (entry.nbytes != inner_bytes ||
                         offset_in_out(whole[run_stop]) != offset_in_out(head) + (run_end - run_offset)))
          break;
        run_end += entry.nbytes;
      }
      if (in_place) {
        value.read_into(run_offset, std::span(out.bytes + offset_in_out(head), run_end - run_offset));
        run_begin = run_stop;
        continue;
      }
      const auto bytes = std::make_unique_for_overwrite<std::byte[]>(run_end - run_offset);
      value.read_into(run_offset, std::span(bytes.get(), run_end - run_offset));
      for (size_t k = run_begin; k < run_stop; ++k) {
        const Entry& entry = entries[whole[k].inner];
        const ByteView encoded(bytes.get() + (entry.offset - run_offset), entry.nbytes);
        inner_.decode_into(encoded, out, whole[k].target_start, inner_where(whole[k].inner, where));
      }
      run_begin = run_stop;
    }
  }

  nlohmann::json to_json() const override {
    return {{"name", "sharding_indexed"},
            {"configuration",
             {{"chunk_shape", inner_shape_},
              {"codecs", inner_.to_json()},
              {"index_codecs", index_.to_json()},
              {"index_location", index_at_end_ ? "end" : "start"}}}};
  }

 private:
  uint64_t index_offset(uint64_t shard_size, const std::string& where) const {
    if (shard_size < index_size_) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("sharding_indexed: shard of {} bytes is smaller than its index ({} bytes)", shard_size,
                              index_size_));
    }
    return index_at_end_ ? shard_size - index_size_ : 0;
  }

  std::vector<Entry> read_index(ByteView encoded, const std::string& where) const {
    const Chunk index = index_.decode(encoded, where);
    std::vector<Entry> entries(count_);
    if (index.data.size() != count_ * sizeof(Entry)) throw std::logic_error("sharding_indexed: index shape");
    static_assert(sizeof(Entry) == 2 * sizeof(uint64_t));
    for (uint64_t i = 0; i < count_; ++i) {
      std::memcpy(&entries[i].offset, &index.data[16 * i], 8);
      std::memcpy(&entries[i].nbytes, &index.data[16 * i + 8], 8);
    }
    return entries;
  }

  // A stored inner chunk must lie inside the shard, clear of the index.
  void check_entry(const Entry& entry, uint64_t inner, uint64_t shard_size, const std::string& where) const {
    const uint64_t data_begin = index_at_end_ ? 0 : index_size_;
    const uint64_t data_end = index_at_end_ ? shard_size - index_size_ : shard_size;
    if (entry.offset < data_begin || entry.offset > data_end || entry.nbytes > data_end - entry.offset) {
      throw Error(ErrorKind::kCorruptData, where,
                  fmt::format("sharding_indexed: index entry of inner chunk ({}) is [{}, +{}), outside the data "
                              "bytes [{}, {}) of the shard",
                              fmt::join(grid_coords(inner), ", "), entry.offset, entry.nbytes, data_begin, data_end));
    }
  }

  Shape grid_coords(uint64_t inner) const {
    Shape coords(grid_.size());
    for (size_t d = grid_.size(); d-- > 0;) {
      coords[d] = inner % grid_[d];
      inner /= grid_[d];
    }
    return coords;
  }

  // The inner chunk's box in shard coordinates.
  Box inner_box(uint64_t inner) const {
    Box box{grid_coords(inner), inner_shape_};
    for (size_t d = 0; d < box.start.size(); ++d) box.start[d] *= inner_shape_[d];
    return box;
  }

  std::string inner_where(uint64_t inner, const std::string& where) const {
    return fmt::format("{}, inner chunk ({})", where, fmt::join(grid_coords(inner), ", "));
  }

  Shape inner_shape_;
  CodecChain inner_;
  CodecChain index_;
  bool index_at_end_;
  uint64_t index_size_;
  Shape grid_;  // inner chunks per shard along each dimension
  uint64_t count_ = 0;
};

}  // namespace

std::shared_ptr<const ArrayToBytesCodec> codecs::make_sharding(const nlohmann::json& configuration,
                                                               const ChunkSpec& spec, const std::string& subject) {
  Configuration config(configuration, "sharding_indexed", subject,
                       {"chunk_shape", "codecs", "index_codecs", "index_location"});
  const nlohmann::json& chunk_shape = config.required("chunk_shape");
  const size_t rank = spec.shape.size();
  Shape inner_shape;
  if (chunk_shape.is_array() && chunk_shape.size() == rank) {
    for (size_t d = 0; d < rank; ++d) {
      const std::optional<uint64_t> extent = non_negative_integer(chunk_shape[d]);
      if (!extent || *extent == 0 || spec.shape[d] % *extent != 0) break;
      inner_shape.push_back(*extent);
    }
  }
  if (!chunk_shape.is_array() || inner_shape.size() != rank) {
    throw config.error(fmt::format("\"chunk_shape\" {} must list {} positive extents that divide the shard shape [{}]",
                                   chunk_shape.dump(), rank, fmt::join(spec.shape, ", ")));
  }
  const bool index_at_end = config.choice("index_location", {"start", "end"}, "end") == "end";

  CodecChain inner =
      CodecChain::parse(config.required("codecs"), ChunkSpec{spec.data_type, inner_shape, spec.fill_value}, subject);
  Shape index_shape;
  for (size_t d = 0; d < rank; ++d) index_shape.push_back(spec.shape[d] / inner_shape[d]);
  index_shape.push_back(2);
  const std::optional<uint64_t> index_bytes = checked_byte_count(index_shape, sizeof(uint64_t));
  if (!index_bytes || *index_bytes > kMaxChunkBytes) {
    throw config.error(
        fmt::format("an index of {} inner chunks per shard is larger than the {} bytes lcstore decodes "
                    "at once",
                    fmt::join(std::span(index_shape).first(rank), " x "), kMaxChunkBytes));
  }
  CodecChain index = CodecChain::parse(
      config.required("index_codecs"),
      ChunkSpec{DataType::kUint64, index_shape, FillValue::of<uint64_t>(std::numeric_limits<uint64_t>::max())},
      subject);
  if (!index.fixed_encoded_size()) {
    throw config.error("\"index_codecs\" must have a fixed encoded size (\"bytes\", optionally \"crc32c\")");
  }
  return std::make_shared<ShardingCodec>(spec, std::move(inner_shape), std::move(inner), std::move(index),
                                         index_at_end);
}

}  // namespace lcstore::zarr
