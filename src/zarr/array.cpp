#include "lcstore/zarr/array.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <optional>

#include "lcstore/error.h"
#include "zarr/chunk_session.h"
#include "zarr/codec.h"
#include "zarr/node_io.h"
#include "zarr/selection_plan.h"
#include "zarr/transfer.h"

namespace lcstore::zarr {

// The part of a chunk a read selects, decoded: `region` holds the chunk's
// cells from `origin` on.
struct DecodedChunk {
  std::vector<const ChunkPart*> parts;
  Chunk region;
  Shape origin;
};

// The chunk-level operations every read and write path shares.
class ArrayChunks {
 public:
  ArrayChunks(Store& store, const Array& array, const CodecChain& codecs)
      : store_(store), array_(array), codecs_(codecs) {}

  std::string where(const Shape& coords) const { return store_.describe(key(coords)); }
  std::string key(const Shape& coords) const { return array_.chunk_store_key(coords); }
  std::unique_ptr<Lock> lock(const Shape& coords) const {
    return store_.lock(array_.path(), linear_index(coords, array_.chunk_grid_shape()));
  }

  // Reads the selection into `block`, writing every cell: the fill value
  // where no chunk is stored.
  //
  // Chunks one cell wide in the last dimension (a light-curve store's epoch
  // chunks) put one cell every n cells of the block: transferred one by one,
  // each sweeps the whole block, which for a large block means every cache
  // line again per chunk. Runs of such chunks that
  // differ only in the last dimension are decoded first and transferred
  // together, a cache-sized tile of the first dimension at a time.
  void read(const SelectionPlan& plan, const Block& block) const {
    constexpr size_t kRunChunks = 16;
    constexpr uint64_t kRunBytes = 8 << 20;
    std::vector<DecodedChunk> run;
    uint64_t run_bytes = 0;
    Shape run_coords;
    const DataType data_type = array_.data_type();
    const FillValue& fill = array_.metadata().fill_value;
    plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
      auto value = store_.open(key(coords));
      Box box;
      for (const ChunkPart* part : parts) {
        auto [low, high] = std::minmax_element(part->local.begin(), part->local.end());
        box.start.push_back(*low);
        box.shape.push_back(*high - *low + 1);
      }
      if (const std::optional<uint64_t> at = contiguous_in_block(parts, block.shape)) {
        const ChunkView cells{data_type, box.shape, block.bytes ? block.bytes + *at * item_size(data_type) : nullptr,
                              block.strings ? block.strings + *at : nullptr};
        if (value)
          codecs_.decode_region_into(*value, box, cells, where(coords));
        else
          fill_view(cells, fill);
        return;
      }
      DecodedChunk decoded{parts,
                           value ? codecs_.decode_region(*value, box, where(coords))
                                 : Chunk::filled(ChunkSpec{data_type, box.shape, fill}),
                           box.start};
      if (parts.size() < 2 || parts.back()->local.size() != 1 || decoded.region.data_type == DataType::kString) {
        transfer_run(std::span(&decoded, 1), block);
        return;
      }
      const bool continues = !run.empty() && std::equal(coords.begin(), coords.end() - 1, run_coords.begin());
      if (!continues) {
        transfer_run(run, block);
        run.clear();
        run_bytes = 0;
        run_coords = coords;
      }
      run_bytes += decoded.region.data.size();
      run.push_back(std::move(decoded));
      if (run.size() == kRunChunks || run_bytes >= kRunBytes) {
        transfer_run(run, block);
        run.clear();
        run_bytes = 0;
      }
    });
    transfer_run(run, block);
  }

  // Transfers decoded chunks that share their parts but in the last
  // dimension into `block`, tiles of the first dimension's part at a time.
  void transfer_run(std::span<DecodedChunk> run, const Block& block) const {
    static const WriteFilter no_filter;
    const FillValue& fill = array_.metadata().fill_value;
    if (run.empty()) return;
    if (run.size() == 1) {
      transfer(run[0].parts, run[0].region, run[0].origin, block, Direction::kChunkToBlock, no_filter, fill);
      return;
    }
    constexpr uint64_t kTileBytes = 256 << 10;
    const ChunkPart& first = *run[0].parts[0];
    const uint64_t row_bytes =
        std::max<uint64_t>(1, element_count(block.shape) / block.shape[0]) * item_size(run[0].region.data_type);
    const size_t tile = std::max<uint64_t>(1, kTileBytes / row_bytes);
    ChunkPart part_tile{first.chunk, {}, {}, first.consecutive};
    for (size_t begin = 0; begin < first.local.size(); begin += tile) {
      const size_t end = std::min(first.local.size(), begin + tile);
      part_tile.local.assign(first.local.begin() + static_cast<std::ptrdiff_t>(begin),
                             first.local.begin() + static_cast<std::ptrdiff_t>(end));
      part_tile.position.assign(first.position.begin() + static_cast<std::ptrdiff_t>(begin),
                                first.position.begin() + static_cast<std::ptrdiff_t>(end));
      for (DecodedChunk& decoded : run) {
        std::vector<const ChunkPart*> parts = decoded.parts;
        parts[0] = &part_tile;
        transfer(parts, decoded.region, decoded.origin, block, Direction::kChunkToBlock, no_filter, fill);
      }
    }
  }

  // The chunk as stored, or the fill value where it is not. An `unread`
  // chunk is one the first change overwrites whole: inside the array it has
  // no elements yet (filling a chunk that is then overwritten was a
  // twentieth of populate). An edge chunk is read all the same: its cells
  // beyond this array's shape may hold values a writer of the grown array
  // put there (lightcurve/grow.cpp).
  Chunk load(const Shape& coords, bool unread) const {
    const ChunkSpec& spec = codecs_.spec();
    if (unread) {
      bool inside_array = true;
      for (size_t d = 0; d < coords.size(); ++d)
        inside_array = inside_array && (coords[d] + 1) * spec.shape[d] <= array_.metadata().shape[d];
      if (inside_array) return Chunk{spec.data_type, spec.shape, {}, {}};
    }
    const std::string chunk_key = key(coords);
    if (auto value = store_.open(chunk_key)) return codecs_.decode(value->read_all(), store_.describe(chunk_key));
    return Chunk::filled(spec);
  }

  // Loads the chunk (see load), lets `modify` change it, then stores it. The
  // caller holds the chunk's lock.
  template <typename Modify>
  void rewrite(const Shape& coords, bool unread, Modify&& modify) const {
    Chunk chunk = load(coords, unread);
    modify(chunk);
    publish(key(coords), std::move(chunk));
  }

  // Applies `apply` to the chunk at `coords` in `session` (chunk_session.h):
  // to the chunk as this process's sessions hold it open, or as read under
  // its lock. A change that throws leaves the chunk as it was (see OnThrow).
  void change(ChunkSession& session, const Shape& coords, bool overwrites_all, const std::function<void(Chunk&)>& apply,
              ChunkSession::OnThrow on_throw = ChunkSession::OnThrow::kChangesNothing) const {
    const std::string chunk_key = key(coords);
    session.change(
        chunk_key, overwrites_all, apply,
        ChunkAccess{where(coords), [chunks = *this, coords] { return chunks.lock(coords); },
                    [chunks = *this, coords](bool unread) { return chunks.load(coords, unread); },
                    [chunks = *this, chunk_key](Chunk chunk) { chunks.publish(chunk_key, std::move(chunk)); }},
        on_throw);
  }

  // Stores `chunk` at `chunk_key`, or erases it when it holds only the fill
  // value. The caller holds the chunk's lock.
  void publish(const std::string& chunk_key, Chunk chunk) const {
    if (chunk.all_equal(array_.metadata().fill_value))
      store_.erase(chunk_key);
    else
      store_.set(chunk_key, codecs_.encode(std::move(chunk)));
  }

 private:
  Store& store_;
  const Array& array_;
  const CodecChain& codecs_;
};

Array::Array(std::shared_ptr<Store> store, std::string path, ArrayMetadata metadata)
    : store_(std::move(store)),
      path_(std::move(path)),
      metadata_(std::move(metadata)),
      open_chunks_(make_chunk_registry()) {
  const std::string subject = store_->describe(join_key(path_, "zarr.json"));
  codecs_ = std::make_shared<const CodecChain>(CodecChain::parse(
      metadata_.codecs, ChunkSpec{metadata_.data_type, metadata_.chunk_shape, metadata_.fill_value}, subject));
}

Array Array::create(std::shared_ptr<Store> store, std::string path, ArrayMetadata metadata) {
  // Round-trip through JSON so that create validates exactly like open.
  Array array(store, path, ArrayMetadata::from_json(metadata.to_json(), store->describe(path)));
  write_node_document(*store, array.path_, array.metadata_.to_json());
  return array;
}

Array Array::from_metadata(std::shared_ptr<Store> store, std::string path, const ArrayMetadata& metadata) {
  const std::string subject = store->describe(join_key(path, "zarr.json"));
  return Array(store, std::move(path), ArrayMetadata::from_json(metadata.to_json(), subject));
}

Array Array::open(std::shared_ptr<Store> store, std::string path) {
  auto document = read_node_document(*store, path);
  const std::string subject = store->describe(join_key(path, "zarr.json"));
  if (!document) throw Error(ErrorKind::kNotFound, subject, "no Zarr node here");
  return Array(store, std::move(path), ArrayMetadata::from_json(*document, subject));
}

Shape Array::chunk_grid_shape() const {
  Shape grid;
  for (size_t d = 0; d < metadata_.shape.size(); ++d) {
    grid.push_back((metadata_.shape[d] + metadata_.chunk_shape[d] - 1) / metadata_.chunk_shape[d]);
  }
  return grid;
}

std::string Array::chunk_key(std::span<const uint64_t> coords) const {
  return metadata_.chunk_key_encoding.key(coords);
}

std::string Array::chunk_store_key(std::span<const uint64_t> coords) const {
  return join_key(path_, chunk_key(coords));
}

void Array::check_type(DataType requested) const {
  if (requested != metadata_.data_type) {
    throw Error(
        ErrorKind::kInvalidArgument, store_->describe(path_),
        "array holds " + std::string(name_of(metadata_.data_type)) + ", not " + std::string(name_of(requested)));
  }
}

void Array::require_fixed_size() const {
  if (metadata_.data_type == DataType::kString) {
    throw Error(ErrorKind::kInvalidArgument, store_->describe(path_),
                "array holds strings: use read_strings / write_strings");
  }
}

uint64_t Array::element_count_of(const Selection& selection) const { return element_count(selection_shape(selection)); }

namespace {

void check_block_size(uint64_t given, uint64_t expected, const std::string& subject) {
  if (given != expected) {
    throw Error(ErrorKind::kInvalidArgument, subject,
                "buffer holds " + std::to_string(given) + " elements, the selection " + std::to_string(expected));
  }
}

// A buffer of fixed-size elements must hold exactly `cells` of them; a byte
// count that is not a whole number of elements is refused too (read_into
// would otherwise fill past the end of the buffer).
void check_buffer_size(uint64_t bytes, size_t width, uint64_t cells, const std::string& subject) {
  if (bytes % width != 0) {
    throw Error(ErrorKind::kInvalidArgument, subject,
                "buffer of " + std::to_string(bytes) + " bytes is not a whole number of " + std::to_string(width) +
                    "-byte elements");
  }
  check_block_size(bytes / width, cells, subject);
}

}  // namespace

void Array::read_into(const Selection& selection, std::span<std::byte> out) const {
  require_fixed_size();
  const size_t width = item_size(metadata_.data_type);
  SelectionPlan plan(selection, metadata_, store_->describe(path_));
  check_buffer_size(out.size(), width, element_count(plan.block_shape()), store_->describe(path_));
  ArrayChunks(*store_, *this, *codecs_).read(plan, Block{metadata_.data_type, plan.block_shape(), out.data(), nullptr});
}

std::vector<std::string> Array::read_strings(const Selection& selection) const {
  check_type(DataType::kString);
  SelectionPlan plan(selection, metadata_, store_->describe(path_));
  std::vector<std::string> out(element_count(plan.block_shape()));
  ArrayChunks(*store_, *this, *codecs_).read(plan, Block{metadata_.data_type, plan.block_shape(), nullptr, out.data()});
  return out;
}

namespace {

// Writes one block, chunk by chunk, in `session`.
void write_block(ChunkSession& session, const ArrayChunks& chunks, const SelectionPlan& plan, const Block& block,
                 const WriteFilter& filter, const ArrayMetadata& metadata) {
  const bool filtered = !filter.mask.empty() || filter.skip_fill_values;
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
    chunks.change(session, coords, !filtered && covers_chunk(parts, coords, metadata), [&](Chunk& chunk) {
      transfer(parts, chunk, Shape(coords.size(), 0), block, Direction::kBlockToChunk, filter, metadata.fill_value);
    });
  });
}

// The chunks of `plan` in increasing linear order, the order in which
// writers that hold several chunk locks take them.
std::map<uint64_t, Shape> chunks_in_lock_order(const SelectionPlan& plan, const Shape& grid) {
  std::map<uint64_t, Shape> touched;
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>&) {
    touched.emplace(linear_index(coords, grid), coords);
  });
  return touched;
}

}  // namespace

Array::Session::Session(Array& array, uint64_t memory_budget)
    : array_(array), chunks_(std::make_unique<ChunkSession>(array.open_chunks_, memory_budget)) {}

Array::Session::~Session() = default;

void Array::Session::commit() { chunks_->commit(); }

void Array::Session::write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter) {
  array_.require_fixed_size();
  const std::string subject = array_.store_->describe(array_.path_);
  SelectionPlan plan(selection, array_.metadata_, subject);
  const uint64_t cells = element_count(plan.block_shape());
  check_buffer_size(values.size(), item_size(array_.metadata_.data_type), cells, subject);
  if (!filter.mask.empty()) check_block_size(filter.mask.size(), cells, subject + " (mask)");
  // The block is only read from in this direction.
  Block block{array_.metadata_.data_type, plan.block_shape(), const_cast<std::byte*>(values.data()), nullptr};
  write_block(*chunks_, ArrayChunks(*array_.store_, array_, *array_.codecs_), plan, block, filter, array_.metadata_);
}

void Array::Session::write_strings(const Selection& selection, const std::vector<std::string>& values) {
  array_.check_type(DataType::kString);
  const std::string subject = array_.store_->describe(array_.path_);
  SelectionPlan plan(selection, array_.metadata_, subject);
  check_block_size(values.size(), element_count(plan.block_shape()), subject);
  Block block{array_.metadata_.data_type, plan.block_shape(), nullptr, const_cast<std::string*>(values.data())};
  write_block(*chunks_, ArrayChunks(*array_.store_, array_, *array_.codecs_), plan, block, WriteFilter{},
              array_.metadata_);
}

void Array::Session::write_chunk(std::span<const uint64_t> coords, Bytes elements) {
  array_.require_fixed_size();
  const std::string subject = array_.store_->describe(array_.path_);
  const Shape grid = array_.chunk_grid_shape();
  if (coords.size() != grid.size()) {
    throw Error(ErrorKind::kInvalidArgument, subject,
                "chunk coordinates have " + std::to_string(coords.size()) + " dimensions, the array " +
                    std::to_string(grid.size()));
  }
  for (size_t d = 0; d < grid.size(); ++d) {
    if (coords[d] >= grid[d]) {
      throw Error(ErrorKind::kInvalidArgument, subject,
                  "chunk index " + std::to_string(coords[d]) + " is out of the grid's " + std::to_string(grid[d]) +
                      " chunks in dimension " + std::to_string(d));
    }
  }
  check_buffer_size(elements.size(), item_size(array_.metadata_.data_type), element_count(array_.metadata_.chunk_shape),
                    subject);
  const ArrayChunks chunks(*array_.store_, array_, *array_.codecs_);
  chunks.change(*chunks_, Shape(coords.begin(), coords.end()), true, [&](Chunk& chunk) {
    chunk.data = std::move(elements);  // moved once: the change is applied once
  });
}

void Array::Session::update(const Selection& selection, const std::function<void(std::span<std::byte>)>& modify) {
  array_.require_fixed_size();
  const std::string subject = array_.store_->describe(array_.path_);
  SelectionPlan plan(selection, array_.metadata_, subject);
  if (chunks_in_lock_order(plan, array_.chunk_grid_shape()).size() > 1)
    throw Error(ErrorKind::kInvalidArgument, subject, "an update in a session must stay within one chunk");
  const ArrayChunks chunks(*array_.store_, array_, *array_.codecs_);
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
    // A whole chunk (not one cut short by the array's edge) is the chunk's
    // own bytes in the same order: they are changed in place, in a copy
    // only where the chunk holds other changes, which a change that throws
    // must leave as they were.
    if (plan.block_shape() == array_.metadata_.chunk_shape && covers_chunk(parts, coords, array_.metadata_)) {
      chunks.change(
          *chunks_, coords, false, [&](Chunk& chunk) { modify(chunk.data); }, ChunkSession::OnThrow::kMayHaveChanged);
      return;
    }
    Bytes buffer(element_count(plan.block_shape()) * item_size(array_.metadata_.data_type));
    Block block{array_.metadata_.data_type, plan.block_shape(), buffer.data(), nullptr};
    const FillValue& fill = array_.metadata_.fill_value;
    chunks.change(*chunks_, coords, false, [&](Chunk& chunk) {
      const Shape origin(coords.size(), 0);
      transfer(parts, chunk, origin, block, Direction::kChunkToBlock, WriteFilter{}, fill);
      modify(buffer);
      transfer(parts, chunk, origin, block, Direction::kBlockToChunk, WriteFilter{}, fill);
    });
  });
}

void Array::write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter) {
  Session session(*this, 0);
  session.write(selection, values, filter);
  session.commit();
}

void Array::write_chunk(std::span<const uint64_t> coords, Bytes elements) {
  Session session(*this, 0);
  session.write_chunk(coords, std::move(elements));
  session.commit();
}

void Array::write_strings(const Selection& selection, const std::vector<std::string>& values) {
  Session session(*this, 0);
  session.write_strings(selection, values);
  session.commit();
}

void Array::update(const Selection& selection, const std::function<void(std::span<std::byte>)>& modify) {
  require_fixed_size();
  SelectionPlan plan(selection, metadata_, store_->describe(path_));
  const std::map<uint64_t, Shape> touched = chunks_in_lock_order(plan, chunk_grid_shape());
  if (touched.size() == 1) {
    // As a change of one chunk, it is read, changed and stored once with
    // what other threads change in that chunk meanwhile.
    Session session(*this, 0);
    session.update(selection, modify);
    session.commit();
    return;
  }
  // Every chunk is locked first, in the order that every writer holding
  // several locks takes them, so two never wait on each other in a cycle.
  ArrayChunks chunks(*store_, *this, *codecs_);
  std::vector<std::unique_ptr<Lock>> held;
  for (const auto& [linear, coords] : touched) held.push_back(chunks.lock(coords));
  const size_t width = item_size(metadata_.data_type);
  Bytes buffer(element_count(plan.block_shape()) * width);
  Block block{metadata_.data_type, plan.block_shape(), buffer.data(), nullptr};
  chunks.read(plan, block);
  modify(buffer);
  plan.for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
    chunks.rewrite(coords, covers_chunk(parts, coords, metadata_), [&](Chunk& chunk) {
      transfer(parts, chunk, Shape(coords.size(), 0), block, Direction::kBlockToChunk, WriteFilter{},
               metadata_.fill_value);
    });
  });
}

void Array::Batch::write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter) {
  array_.require_fixed_size();  // before dividing by the element size, which is 0 for strings
  const size_t width = item_size(array_.metadata_.data_type);
  const uint64_t cells = element_count(selection_shape(selection));
  const std::string subject = array_.store_->describe(array_.path_);
  check_buffer_size(values.size(), width, cells, subject);
  if (!filter.mask.empty()) check_block_size(filter.mask.size(), cells, subject + " (mask)");
  staged_.push_back(StagedWrite{selection, Bytes(values.begin(), values.end()),
                                std::vector<uint8_t>(filter.mask.begin(), filter.mask.end()), filter.skip_fill_values});
}

uint64_t Array::Batch::commit() {
  const ArrayMetadata& metadata = array_.metadata_;
  const std::string subject = array_.store_->describe(array_.path_);
  std::vector<SelectionPlan> plans;
  for (const StagedWrite& staged : staged_) plans.emplace_back(staged.selection, metadata, subject);

  // Per touched chunk, in lock order: which staged writes touch it, and how.
  struct Touch {
    size_t write;
    std::vector<const ChunkPart*> parts;
  };
  std::map<uint64_t, std::pair<Shape, std::vector<Touch>>> chunks_touched;
  const Shape grid = array_.chunk_grid_shape();
  for (size_t i = 0; i < plans.size(); ++i) {
    plans[i].for_each_chunk([&](const Shape& coords, const std::vector<const ChunkPart*>& parts) {
      auto& entry = chunks_touched[linear_index(coords, grid)];
      entry.first = coords;
      entry.second.push_back(Touch{i, parts});
    });
  }

  ArrayChunks chunks(*array_.store_, array_, *array_.codecs_);
  ChunkSession session(array_.open_chunks_, 0);
  for (const auto& [linear, entry] : chunks_touched) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const auto& coords = entry.first;
    const auto& touches = entry.second;
    chunks.change(session, coords, false, [&](Chunk& chunk) {
      for (const Touch& touch : touches) {
        StagedWrite& staged = staged_[touch.write];
        Block block{array_.metadata_.data_type, plans[touch.write].block_shape(), staged.values.data(), nullptr};
        transfer(touch.parts, chunk, Shape(coords.size(), 0), block, Direction::kBlockToChunk,
                 WriteFilter{staged.mask, staged.skip_fill_values}, metadata.fill_value);
      }
    });
  }
  session.commit();
  staged_.clear();
  return chunks_touched.size();
}

std::vector<std::string> Array::verify_chunks() const {
  std::vector<std::string> problems;
  ArrayChunks chunks(*store_, *this, *codecs_);
  for_each_index(chunk_grid_shape(), [&](const Shape& coords) {
    try {
      if (auto value = store_->open(chunks.key(coords))) codecs_->decode(value->read_all(), chunks.where(coords));
    } catch (const Error& error) {
      problems.push_back(error.what());
    }
  });
  return problems;
}

void Array::update_attributes(const std::function<void(nlohmann::json&)>& change) {
  auto held = store_->lock(path_, kMetadataLockSlot);
  Array current = open(store_, path_);
  change(current.metadata_.attributes);
  write_node_document(*store_, path_, current.metadata_.to_json());
  metadata_ = std::move(current.metadata_);
}

}  // namespace lcstore::zarr
