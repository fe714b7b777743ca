// A Zarr v3 array in a Store: create or open, then read and write orthogonal
// selections.
//
// Ways to write, simplest first:
//   write()        a selection: one read-modify-write per chunk it touches.
//   write_chunk()  a whole chunk the caller already holds: no read.
//   update()       read, change and write back a selection as one
//                  transaction over every chunk it touches.
//   Session        many writes by one thread (a populate): each chunk is read
//                  and stored once however many writes touch it, and shared
//                  with this process's other sessions writing it meanwhile.
//   Batch          writes staged in memory, then one read-modify-write per
//                  chunk at commit().
//
// Concurrency. Every write is, per chunk (per shard for sharded arrays), an
// atomic read-modify-write under the store's lock for that chunk, published
// by the store's atomic set. So any number of threads and processes may write
// one array at once: writers of disjoint cells of a chunk all keep their
// cells, and overlapping writes leave each cell with one writer's value.
// Readers take no lock and see each chunk either before or after a write.
//
// Threads. One Array may be used by any number of threads at once for every
// read and write; only update_attributes() and set_attributes(), which also
// replace this object's copy of the metadata, need an Array no other thread
// is using (copies are cheap and share their open chunks). Sessions and
// Batches are used by one thread each.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lcstore/storage/store.h"
#include "lcstore/zarr/metadata.h"
#include "lcstore/zarr/selection.h"

namespace lcstore::zarr {

class CodecChain;
class ChunkRegistry;
class ChunkSession;

// Restricts a write to some of the selected cells.
struct WriteFilter {
  // One byte per selected cell (C order of the selection): write where non-zero.
  std::span<const uint8_t> mask;
  // Write only cells whose new value differs (bitwise) from the fill value:
  // what a writer holding a staged copy of a whole slab needs to commit only
  // the cells it filled in.
  bool skip_fill_values = false;
};

class Array {
 public:
  // Writes zarr.json at `path` (replacing any node there) and returns the array.
  static Array create(std::shared_ptr<Store> store, std::string path, ArrayMetadata metadata);
  // Reads and validates zarr.json at `path`; throws Error(kNotFound) if there is no array.
  static Array open(std::shared_ptr<Store> store, std::string path);
  // The array `metadata` describes, without reading or writing its zarr.json:
  // an array as a group's consolidated metadata records it, or one whose new
  // shape is not published yet (writes within it go to the same chunk keys).
  static Array from_metadata(std::shared_ptr<Store> store, std::string path, const ArrayMetadata& metadata);

  const ArrayMetadata& metadata() const { return metadata_; }
  const Shape& shape() const { return metadata_.shape; }
  DataType data_type() const { return metadata_.data_type; }
  const std::string& path() const { return path_; }
  // Number of chunks (shards) along each dimension.
  Shape chunk_grid_shape() const;
  // The key of the chunk (shard) at grid coordinates `coords`, relative to
  // the array's path: "c/3/2/1".
  std::string chunk_key(std::span<const uint64_t> coords) const;
  // Its key in the store: "lightcurves/c/3/2/1".
  std::string chunk_store_key(std::span<const uint64_t> coords) const;

  // Reads the selected cells, in C order, into `out` (fixed-size data types;
  // out.size() == cells * item size).
  void read_into(const Selection& selection, std::span<std::byte> out) const;
  std::vector<std::string> read_strings(const Selection& selection) const;
  template <typename T>
  std::vector<T> read(const Selection& selection) const {
    check_type(data_type_of<T>());
    std::vector<T> out(element_count_of(selection));
    read_into(selection, std::as_writable_bytes(std::span(out)));
    return out;
  }

  // Writes `values` (C order of the selection) into the selected cells.
  void write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter = {});
  void write_strings(const Selection& selection, const std::vector<std::string>& values);
  // Replaces the whole chunk at grid coordinates `coords` with `elements`
  // (C order of the chunk shape, item size each; in an edge chunk the cells
  // beyond the array should hold the fill value), under the chunk's lock:
  // what write() does for a selection of exactly that chunk, without copying
  // the elements.
  void write_chunk(std::span<const uint64_t> coords, Bytes elements);
  template <typename T>
  void write(const Selection& selection, std::span<const T> values, const WriteFilter& filter = {}) {
    check_type(data_type_of<T>());
    write(selection, std::as_bytes(values), filter);
  }

  // Region transaction: locks every chunk the selection touches (in one
  // canonical order, so transactions never deadlock), reads the selection,
  // lets `modify` change it in place and writes it back, all before any other
  // writer of those chunks may proceed. Fixed-size data types.
  void update(const Selection& selection, const std::function<void(std::span<std::byte>)>& modify);

  // A writer's changes, held open until commit(). Each chunk a session
  // changes is read once, under its lock, and kept in memory, still locked,
  // until the session commits (or holds more than `memory_budget` bytes of
  // chunks, or 32 chunks); then it is stored. Other threads of this process
  // that change a chunk a session holds open change it in memory, and their
  // writes return once it is stored (their commit stores it, under the
  // holder's lock, if the holder has not begun to): two threads that each
  // write half of every chunk store each chunk once, not twice, and share
  // the stores. A session that another one trails by more than the chunks
  // it holds open (the other opens anew chunks it has just stored) waits,
  // 20 ms at most, for the other to catch up before it stores its oldest
  // chunk, so that the two share their chunks again. Writers in other
  // processes see all of a session's changes of a chunk or none.
  //
  // A session is used by one thread. It must change chunks in increasing
  // order of their linear index in the chunk grid (as one populate call
  // does), the order in which multi-chunk updates lock them: else two
  // sessions could wait on each other. A chunk that another session of the
  // same thread holds open cannot be changed (Error kInvalidArgument): this
  // thread would wait for itself. Destroying a session stores what it holds
  // open. The array must outlive it. With a directory store, each chunk held
  // open keeps a file open (its lock).
  class Session {
   public:
    explicit Session(Array& array, uint64_t memory_budget = 64 << 20);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // As Array's, within the session; update only within one chunk.
    void write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter = {});
    template <typename T>
    void write(const Selection& selection, std::span<const T> values, const WriteFilter& filter = {}) {
      array_.check_type(data_type_of<T>());
      write(selection, std::as_bytes(values), filter);
    }
    void write_strings(const Selection& selection, const std::vector<std::string>& values);
    void write_chunk(std::span<const uint64_t> coords, Bytes elements);
    void update(const Selection& selection, const std::function<void(std::span<std::byte>)>& modify);

    // Stores every chunk the session opened and waits until the chunks it
    // changed in other sessions are stored. Throws the first error.
    void commit();

   private:
    Array& array_;
    std::unique_ptr<ChunkSession> chunks_;
  };

  // Stages writes in memory and commits them with one read-modify-write per
  // touched chunk. Later writes to the same cell win.
  class Batch {
   public:
    explicit Batch(Array& array) : array_(array) {}
    void write(const Selection& selection, std::span<const std::byte> values, const WriteFilter& filter = {});
    template <typename T>
    void write(const Selection& selection, std::span<const T> values, const WriteFilter& filter = {}) {
      array_.check_type(data_type_of<T>());
      write(selection, std::as_bytes(values), filter);
    }
    // Applies every staged write; returns the number of chunks rewritten.
    uint64_t commit();

   private:
    struct StagedWrite {
      Selection selection;
      Bytes values;
      std::vector<uint8_t> mask;
      bool skip_fill_values;
    };
    Array& array_;
    std::vector<StagedWrite> staged_;
  };

  // Decodes every stored chunk (checksums included); returns one message per
  // chunk that fails, naming its key and the reason. Empty when all decode.
  std::vector<std::string> verify_chunks() const;

  // Metadata transaction: under the array's metadata lock, reads the current
  // attributes from the store, lets `change` edit them and publishes the
  // result atomically, so concurrent editors never lose each other's changes.
  // Also updates this object's metadata (see Threads above).
  void update_attributes(const std::function<void(nlohmann::json&)>& change);
  void set_attributes(const nlohmann::json& attributes) {
    update_attributes([&](nlohmann::json& current) { current = attributes; });
  }

 private:
  friend class Batch;
  friend class Session;
  Array(std::shared_ptr<Store> store, std::string path, ArrayMetadata metadata);
  void check_type(DataType requested) const;
  void require_fixed_size() const;
  uint64_t element_count_of(const Selection& selection) const;

  std::shared_ptr<Store> store_;
  std::string path_;
  ArrayMetadata metadata_;
  std::shared_ptr<const CodecChain> codecs_;
  // The chunks this array's sessions hold open (src/zarr/chunk_session.h),
  // shared by the copies of this array.
  std::shared_ptr<ChunkRegistry> open_chunks_;
};

}  // namespace lcstore::zarr
