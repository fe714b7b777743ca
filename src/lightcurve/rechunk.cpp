// Building the read layout from the write layout: bands of objects, each
// read whole from the write layout and written as whole shards, by several
// threads, with the staged bands within the memory budget.
#include <fmt/core.h>

#include <atomic>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/parallel.h"
#include "lcstore/zarr/codec_specs.h"
#include "lcstore/zarr/group.h"
#include "lightcurve/declination_index.h"
#include "lightcurve/grow.h"
#include "lightcurve/journal.h"
#include "lightcurve/layout.h"

namespace lcstore::lightcurve {

using zarr::Array;
using zarr::DimSelection;
using zarr::Selection;
using zarr::Shape;

namespace {

std::string format_bytes(uint64_t bytes) {
  return bytes >= (1ull << 20) ? fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20))
                               : fmt::format("{} bytes", bytes);
}

}  // namespace

void LightCurveStore::rechunk(const RechunkOptions& options) {
  if (options.object_chunk == 0) throw Error(ErrorKind::kInvalidArgument, "object_chunk", "must be positive");
  auto held = store_->lock(".lcstore", layout::kLayoutLockSlot);
  // A growth may have published since this store was opened.
  complete_growth(store_);
  if (Array::open(store_, layout::kWriteLayout).shape() != write_layout_.shape()) *this = open(store_);
  const unsigned threads = std::max(1u, options.threads);
  const Shape& shape = write_layout_.shape();
  const uint64_t n_objects = shape[0];
  const uint64_t shard_objects = std::min(options.object_chunk, n_objects);
  const uint64_t object_bytes = shape[1] * shape[2] * shape[3] * sizeof(float);
  // Per thread: the band being copied, and while one of its shards is
  // written, that shard decoded, its encoded inner chunks and the assembled
  // shard with a copy on its way out: up to four shards' bytes besides the
  // band (1 GiB at the IRAC Dark Field's size peaked at 1134 MiB when this
  // counted one).
  constexpr uint64_t kShardsInFlight = 4;
  const uint64_t shard_bytes = shard_objects * object_bytes;
  const uint64_t shards_per_thread = options.memory_budget / threads / shard_bytes;
  if (shards_per_thread <= kShardsInFlight) {
    throw Error(ErrorKind::kInvalidArgument, "memory_budget",
                fmt::format("{} cannot hold {} shards of {} objects ({}) per thread for {} thread(s); "
                            "lower `object_chunk` or `threads`, or raise `memory_budget`",
                            format_bytes(options.memory_budget), kShardsInFlight + 1, shard_objects,
                            format_bytes(shard_bytes), threads));
  }
  const uint64_t band_shards = shards_per_thread - kShardsInFlight;
  const uint64_t band_objects = band_shards * shard_objects;

  // Bumping the generation first makes every reader, here or in another
  // process, stop trusting the read layout before any of it is deleted.
  const uint64_t generation = Journal(*store_).advance();
  read_layout_.reset();
  for (const std::string& key : store_->list(std::string(layout::kReadLayout) + "/")) store_->erase(key);

  const zarr::ArrayMetadata& written = write_layout_.metadata();
  const Shape inner = {1, shape[1], shape[2], shape[3]};
  Array target =
      Array::create(store_, layout::kReadLayout,
                    layout::light_curve_array(shape, {shard_objects, shape[1], shape[2], shape[3]},
                                              nlohmann::json::array({zarr::sharding_codec(written.codecs, inner)}),
                                              written.attributes.value("coordinates", "")));

  const uint64_t n_bands = (n_objects + band_objects - 1) / band_objects;
  std::atomic<uint64_t> objects_done{0};
  std::vector<std::vector<float>> bands(threads);  // one buffer per thread, reused band after band
  parallel_for(n_bands, threads, [&](size_t b, unsigned worker) {
    const uint64_t first = b * band_objects;
    const uint64_t last = std::min(n_objects, first + band_objects);
    Selection selection = {DimSelection::range(first, last), DimSelection::all(shape[1]), DimSelection::all(shape[2]),
                           DimSelection::all(shape[3])};
    std::vector<float>& band = bands[worker];
    band.resize((last - first) * object_bytes / sizeof(float));
    write_layout_.read_into(selection, std::as_writable_bytes(std::span(band)));
    target.write(selection, std::span<const float>(band));
    if (options.progress) options.progress(objects_done += last - first, n_objects);
  });

  target.update_attributes([&](nlohmann::json& attributes) { attributes[layout::kGenerationAttribute] = generation; });
  zarr::Group::open(store_, "").consolidate();
  read_layout_ = std::move(target);
  // Stores made before the index existed get it here.
  declination_index().save(*store_);
}

}  // namespace lcstore::lightcurve
