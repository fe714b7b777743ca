// A light-curve store: one Zarr v3 group that xarray opens as a Dataset.
//
//   lightcurves[object, measurement, value, epoch]   float32, NaN = missing
//
// with the dimension coordinates `object`, `measurement`, `value`, `epoch`
// (strings), per-object `ra`, `dec` (float64), `x_image`, `y_image`
// (float32) and per-epoch `epoch_<name>` variables, laid out exactly as
// xarray writes a Dataset (dimension_names, the `_FillValue` and
// `coordinates` attributes, inline consolidated metadata).
//
// Two layouts of the same data live side by side:
//  * `lightcurves`, the write layout: one epoch per chunk, objects chunked,
//    so populating an epoch touches only that epoch's chunks;
//  * `lightcurves_by_object`, the read layout made by rechunk(): shards of
//    objects holding every epoch, one inner chunk per object, so reading a
//    light curve reads that object's bytes only.
// Queries read the read layout while it is current (no populate started
// since it was made) and the write layout otherwise.
//
// Concurrency. populate() may run in any number of threads and processes at
// once, on the same or different epochs, sharing chunks or not: every write
// goes through the zarr layer's locked read-modify-write, so no value is lost
// and no reader sees a torn chunk. A populate killed midway leaves whole
// chunks and a journal record of a populate begun and never completed;
// running it again completes it.
//
// All or nothing. A populate whose write fails midway (no space left, a
// folder it may not write) puts back what the catalog's cells held before,
// in every cell that still holds the catalog's value, and is struck from
// the journal: the store holds what it held before. What cannot be put back
// (the store refuses the undo too) is reported by PartlyWrittenError, and
// the journal keeps the populate as begun and never completed, so `info`
// lists the epoch as incomplete and a rerun completes it.
//
// A populate killed midway (SIGKILL, out of memory) leaves chunks holding
// some of its values. Before its first write it stored what its cells held;
// roll_back_killed_populates() (`lcstore fsck --repair`) puts that back and
// strikes it from the journal, unless another populate touched the same
// cells since it began; then a rerun completes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
// A layout's codecs are reported as zarr.json lists them: arbitrary JSON.
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "lcstore/catalog/column_mapping.h"
#include "lcstore/catalog/table.h"
#include "lcstore/error.h"
#include "lcstore/storage/store.h"
#include "lcstore/zarr/array.h"
#include "lcstore/zarr/group.h"

namespace lcstore::lightcurve {

class DeclinationIndex;  // src/lightcurve/declination_index.h

// The epochs of a store and their variables (stored as `epoch_<name>`).
struct EpochTable {
  struct Variable {
    std::string name;  // without the "epoch_" prefix: "mjd", "aorkey"
    std::variant<std::vector<double>, std::vector<std::string>> values;
  };
  std::vector<std::string> keys;
  std::vector<Variable> variables;

  // Epochs given by key only.
  static EpochTable from_keys(std::vector<std::string> keys);
  // A file listing the epochs: either one key per line, or a CSV with a
  // header row whose first column (`epoch` or `key`) holds the keys and whose
  // other columns become variables (numeric columns float64, others strings).
  // Throws Error(kBadInput) naming the file and line.
  static EpochTable read(const std::filesystem::path& path);
  // Throws Error(kBadInput) for an empty key or a variable with a value
  // count other than the key count.
  void check() const;
};

// The objects of a store: keys and positions, usually from the detection
// ("coadd") catalog via from_catalog().
struct ObjectTable {
  std::vector<std::string> keys;
  std::vector<double> ra, dec;  // degrees; NaN when the catalog has none
  std::vector<float> x, y;      // pixels

  // Throws Error(kBadInput) naming the catalog for a repeated object key.
  static ObjectTable from_catalog(const catalog::Table& table, const catalog::ColumnMapping& mapping);
  // The objects at these rows, in that order.
  ObjectTable rows(const std::vector<size_t>& picked) const;
};

struct CreateOptions {
  ObjectTable objects;
  EpochTable epochs;
  std::vector<std::string> measurements;  // "auto", "aper_1", ...
  std::vector<catalog::Value> values = {catalog::Value::kMag, catalog::Value::kMagErr};
  uint64_t object_chunk = 1000;  // objects per chunk of the write layout
  // Compressors after the bytes codec, in lcstore's codec spec syntax
  // (zarr/codec_specs.h): {"zstd:3"}. Empty: uncompressed.
  std::vector<std::string> codecs;
  std::string description = "lcstore light curves";
};

// How populate() brings a catalog's cells into the chunks of their epoch.
// All three write identical stores; they differ in what they read and
// stage. Users of the original know them as v0, v1 and v2.
enum class Strategy {
  kMaskedSlab,       // v0: stage each chunk's slab of the epoch in memory, commit a masked write of the catalog's cells
  kReadModifyWrite,  // v1: read each slab, change the catalog's cells in it, write it back (a region transaction)
  kScatter,          // v2: write the catalog's cells with one orthogonal (object index x measurement) selection
};
// "masked_slab", "read_modify_write", "scatter".
const char* to_string(Strategy strategy);
// "v0", "v1", "v2".
const char* original_name(Strategy strategy);
// Either name; throws Error(kInvalidArgument) with subject "strategy" otherwise.
Strategy parse_strategy(std::string_view name);

struct PopulateOptions {
  Strategy strategy = Strategy::kMaskedSlab;
  // How catalog columns name measurements and objects. The values written
  // are always the store's own.
  catalog::CatalogKeys keys;
  // Catalog objects that are not in the store: an error, or skipped and counted.
  bool skip_unknown_objects = false;
  // Store measurements the catalog has only some value columns of: an error,
  // or skipped and named.
  bool skip_incomplete = false;
  // Identifies the catalog's content and every reading option that changes
  // its values (catalog_content_id()). When set, a populate of an (epoch,
  // catalog, mapping) is skipped unless `force` if it completed before and
  // no populate of that epoch touched any of its cells since (see the
  // README's section on the journal).
  std::string journal_id;
  bool force = false;
  // Refuse (Error kBadInput, nothing written) a catalog that would change
  // finite values already stored.
  bool no_overwrite = false;
  // Match catalog rows to store objects by position instead of by key, for
  // catalogs detected on each epoch's own image: each row goes to the
  // nearest object within this radius (arcseconds, positive) of its RA and
  // Dec. Rows without one are skipped and counted; of several rows nearest
  // to one object, the nearest is written and the others counted.
  std::optional<double> match_radius_arcsec;
  // Matching by position: rows with a position and no object within the
  // radius become new objects first (add_objects), keyed "<epoch>-<the
  // row's key>", and are written like the others. A catalog the write
  // refuses for its epoch or columns adds none; the objects stay if the
  // write fails later (no_overwrite, storage).
  bool add_unmatched_objects = false;
};

struct PopulateResult {
  bool already_done = false;  // journaled before; nothing was written
  uint64_t values_written = 0;
  uint64_t objects_written = 0;
  uint64_t unknown_objects_skipped = 0;
  // Matching by position: rows with no object within the radius (or no
  // position), and rows whose object a nearer row matched.
  uint64_t unmatched_rows_skipped = 0;
  uint64_t farther_rows_skipped = 0;
  uint64_t objects_added = 0;  // add_unmatched_objects
  // Cells (values) that held a finite value, as read just before the write,
  // and were given another.
  uint64_t finite_cells_overwritten = 0;
  std::vector<std::string> incomplete_measurements_skipped;
  // Catalog measurements the store has no room for (not an error).
  std::vector<std::string> measurements_ignored;
};

// A populate that failed midway and could not put back everything it wrote:
// what() says why it failed, how many of the values it wrote remain and in
// which chunks. The journal marks the epoch incomplete.
class PartlyWrittenError : public Error {
 public:
  PartlyWrittenError(const Error& failure, std::string left, uint64_t values_left)
      : Error(failure.kind(), failure.subject(), failure.reason() + "; " + left), values_left_(values_left) {}
  uint64_t values_left() const { return values_left_; }

 private:
  uint64_t values_left_;
};

struct RechunkOptions {
  uint64_t object_chunk = 256;          // objects per shard of the read layout
  uint64_t memory_budget = 1ull << 30;  // bytes of staged data, all threads together
  unsigned threads = 1;
  // Called from the worker threads after each band with the objects copied
  // so far and the total; must be thread-safe.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// One object's light curve: values[m][v][e] flattened in that order.
struct LightCurve {
  std::string object;
  double ra, dec;
  float x, y;
  std::vector<std::string> measurements;  // the selected ones
  std::vector<std::string> values;
  std::span<const float> data;  // measurements.size() x values.size() x n_epochs
  // Holds `data`. The curves that one call returns share one block, which
  // the reads fill straight from storage (copying each curve out of a read
  // buffer took as long as the reads), so a curve kept keeps the block.
  std::shared_ptr<const float[]> storage;
};

// Every object's values at one epoch: data[o][m][v].
struct EpochSlice {
  std::string epoch;
  std::vector<float> data;  // n_objects x n_measurements x n_values
};

struct ObjectMatch {
  uint64_t index;            // row in the store
  double separation_arcsec;  // cone search only; 0 for region
};

// One layout of the light curves (an array of the group) as info() sees it.
struct LayoutInfo {
  enum class Status {
    kAbsent,   // no such array
    kStale,    // written before the last populate began (read layout only)
    kCurrent,  // what queries read
  };
  std::string array;  // its path in the group
  Status status = Status::kAbsent;
  // Empty when absent. `chunks` are the inner chunks of a sharded array,
  // `shards` its shards (empty when unsharded).
  zarr::Shape shape, chunks, shards;
  nlohmann::json codecs;  // as its zarr.json lists them
};
// "absent", "stale", "current".
const char* to_string(LayoutInfo::Status status);

// What a store holds, for `lcstore info` and the Python package.
struct StoreInfo {
  std::string store;  // where it is (Store::describe)
  std::string description, created;
  zarr::Shape shape;  // object, measurement, value, epoch
  std::vector<std::string> measurements, values, epochs;
  std::vector<std::string> epoch_variables;  // their array names: "epoch_mjd"
  uint64_t n_objects = 0;
  std::vector<std::string> first_and_last_object;  // empty for a store of no objects
  // [min, max] of the finite positions; nullopt when there is none.
  std::optional<std::pair<double, double>> ra_range, dec_range;
  LayoutInfo write_layout, read_layout;
  std::vector<std::string> populated_epochs;  // in the store's epoch order
  // For each epoch a populate began, in the store's epoch order: the
  // catalogs that wrote it, oldest first.
  struct EpochCatalogs {
    std::string epoch;
    std::vector<std::string> catalogs;
    // Populates begun and never completed (killed, failed with values left,
    // or running now): their cells are not trusted until a rerun.
    std::vector<std::string> incomplete;
  };
  std::vector<EpochCatalogs> epoch_catalogs;
  uint64_t journal_generation = 0;
};

// A populate the journal lists as begun and never completed.
struct UnfinishedPopulate {
  enum class State {
    kRunning,     // its process is alive
    kKilled,      // its process died: roll_back_killed_populates() puts its cells back
    kRolledBack,  // roll_back_killed_populates() did
    kNeedsRerun,  // cannot be rolled back (`reason` says why); rerunning it completes it
  };
  std::string epoch, catalog;
  uint64_t began = 0;  // its journal generation
  State state = State::kNeedsRerun;
  std::string reason;  // for kNeedsRerun
};
// "running", "killed", "rolled_back", "needs_rerun".
const char* to_string(UnfinishedPopulate::State state);

class LightCurveStore {
 public:
  // Creates the group (replacing nothing: throws Error(kInvalidArgument) if
  // the store already holds a light-curve store) with every value NaN.
  static LightCurveStore create(std::shared_ptr<Store> store, const CreateOptions& options);
  // Opens a store create() made, or a group without lcstore's attributes
  // whose `lightcurves` is float32 (object, measurement, value, epoch), as
  // xarray's to_zarr wrote the original pipeline's stores. Throws
  // Error(kNotFound / kInvalidMetadata) if the store holds neither.
  static LightCurveStore open(std::shared_ptr<Store> store);

  // The objects' keys and positions are read when first needed, so that a
  // query of a few objects of a large store reads only theirs (10^6 objects
  // hold 40 MB of them). These read them all.
  const std::vector<std::string>& objects() const { return object_table().keys; }
  const ObjectTable& object_table() const;
  // The keys and positions of the objects at `rows`, in that order: the
  // chunks that hold them only, unless every object was read already.
  ObjectTable objects_at(std::span<const uint64_t> rows) const;
  uint64_t n_objects() const { return write_layout_.shape()[0]; }
  const std::vector<std::string>& measurements() const { return measurements_; }
  const std::vector<std::string>& values() const { return values_; }
  const EpochTable& epochs() const { return epochs_; }
  const zarr::Array& write_layout() const { return write_layout_; }

  // Row of an object / epoch key; throw Error(kNotFound) for unknown keys.
  // An integer key N of a store whose object N is at row N - 1 (as
  // SExtractor numbers them) is found without reading the other keys.
  uint64_t object_index(const std::string& key) const;
  uint64_t epoch_index(const std::string& key) const;

  // Writes one epoch catalog's values. Everything is checked before the
  // first write: an unknown epoch, a repeated or unknown object, an
  // incomplete measurement or a catalog with no measurement of the store
  // throws Error(kBadInput / kNotFound) and leaves the store unchanged. A
  // write that fails is undone (see "All or nothing" above); what cannot be
  // undone throws PartlyWrittenError.
  PopulateResult populate(const std::string& epoch, const catalog::Table& catalog, const PopulateOptions& options);

  // Appends the epochs whose keys the store does not have yet (each once, in
  // the order given; the others are ignored) with their variables, and
  // returns how many it added. Every variable given must be one the store
  // has; new epochs it gives no value get the variable's fill value. Every
  // array with an epoch dimension grows together, published by one atomic
  // write of the root's consolidated metadata (src/lightcurve/grow.cpp), so
  // a reader that opens the store meanwhile sees every array before or every
  // one after. Safe beside populates, rechunks and other add_epochs in any
  // thread or process. This object then sees the grown store.
  uint64_t add_epochs(const EpochTable& epochs);

  // Appends the objects whose keys the store does not have yet (each once,
  // in the order given; the others are ignored) with their positions, and
  // returns how many it added. Their light-curve cells are the fill value
  // (NaN) until populated. Grows every array with an object dimension as
  // add_epochs grows the epoch arrays, with the same guarantees; the read
  // layout and the features go stale (rechunk, features), the declination
  // index follows at once. Throws Error(kInvalidArgument) for a table whose
  // columns differ in length and Error(kBadInput) for an empty key, before
  // anything is written.
  uint64_t add_objects(const ObjectTable& objects);

  // Builds (or rebuilds) the read layout from the write layout, streaming
  // bands of objects in parallel within the memory budget.
  void rechunk(const RechunkOptions& options);
  // Whether the read layout exists and no populate started since it was made.
  bool read_layout_current() const;

  // The light curve of one object, all measurements or only `measurement`.
  LightCurve light_curve(const std::string& object, const std::optional<std::string>& measurement = {}) const;
  // Many objects at once, read in storage order (cheaper than one by one).
  std::vector<LightCurve> light_curves(const std::vector<std::string>& objects,
                                       const std::optional<std::string>& measurement = {}) const;
  // The same, for as many objects as asked, in memory a batch at a time:
  // calls `visit` with each light curve in the order of `objects`, reading
  // them in batches of at most `batch_bytes` of values (at least one curve),
  // each batch in storage order. Every object is looked up before the first
  // read, so an unknown one throws Error(kNotFound) before any visit.
  void visit_light_curves(const std::vector<std::string>& objects, const std::optional<std::string>& measurement,
                          uint64_t batch_bytes, const std::function<void(const LightCurve&)>& visit) const;
  EpochSlice epoch(const std::string& key) const;
  // Objects with dec_min <= dec <= dec_max and RA in [ra_min, ra_max], where
  // ra_min > ra_max means the box wraps through RA 0/360.
  std::vector<ObjectMatch> region(double ra_min, double ra_max, double dec_min, double dec_max) const;
  // Objects within `radius_arcsec` of (ra, dec), nearest first.
  std::vector<ObjectMatch> cone(double ra, double dec, double radius_arcsec) const;

  // Status, shapes and chunks of both layouts, coordinate ranges, journal.
  StoreInfo info() const;

  // Every populate begun and never completed, by epoch and start.
  std::vector<UnfinishedPopulate> unfinished_populates() const;
  // Puts back what the cells of every killed populate held before it began
  // and strikes it from the journal, so the store holds what it held before;
  // one that cannot be is left for a rerun (kNeedsRerun). Removes the undo
  // records of populates that finished. Returns the populates found. Throws
  // Error(kInvalidArgument), changing nothing, while a populate runs.
  std::vector<UnfinishedPopulate> roll_back_killed_populates();

 private:
  LightCurveStore(std::shared_ptr<Store> store, zarr::Array write_layout);
  // How populate and queries of many objects find a key's row.
  struct ObjectLookup {
    std::unordered_map<std::string, uint64_t> rows;
    // The keys as numbers, when every one is an integer written as
    // std::to_string writes it (SExtractor's NUMBER); else empty.
    std::vector<int64_t> integer_keys;
  };
  struct Objects;  // the object arrays and what was read of them

  void load_labels(const zarr::Group& root);
  // Takes the layout and derived-variable locks, finishes a growth a killed
  // writer published, and reopens this object (src/lightcurve/grow.cpp).
  std::pair<std::unique_ptr<Lock>, std::unique_ptr<Lock>> lock_for_growth();
  // add_objects with the growth locks held.
  uint64_t append_objects(const ObjectTable& objects);
  // populate's add_unmatched_objects: the growth, then the write.
  uint64_t add_unmatched_objects(const std::string& epoch, const catalog::Table& catalog,
                                 const PopulateOptions& options);
  PopulateResult populate_epoch(const std::string& epoch, const catalog::Table& catalog,
                                const PopulateOptions& options);
  const ObjectLookup& object_lookup() const;
  const DeclinationIndex& declination_index() const;
  // The rows of `keys`, in that order; throws Error(kNotFound) for an unknown one.
  std::vector<uint64_t> object_rows(const std::vector<std::string>& keys) const;
  // The read layout if it was made at journal generation `generation`.
  std::optional<zarr::Array> read_layout_at(uint64_t generation) const;
  void read_curves(const zarr::Array& array, const std::vector<std::pair<uint64_t, size_t>>& order,
                   const std::vector<uint64_t>& measurement_rows, std::vector<LightCurve>& curves) const;

  std::shared_ptr<Store> store_;
  zarr::Array write_layout_;
  std::optional<zarr::Array> read_layout_;
  // Shared by copies of this store, which see the same objects.
  std::shared_ptr<Objects> objects_;
  EpochTable epochs_;
  std::vector<std::string> measurements_;
  std::vector<std::string> values_;
  std::unordered_map<std::string, uint64_t> epoch_rows_;
};

// Great-circle separation of two sky positions, all in degrees.
double separation_degrees(double ra1, double dec1, double ra2, double dec2);

// A content identifier of a catalog file (XXH3-128 of its bytes, hex), for
// PopulateOptions::journal_id.
std::string catalog_content_id(const std::filesystem::path& path);

}  // namespace lcstore::lightcurve
