// The light-curve store's own costs, each against a physical baseline
// measured in the same run:
//  * populate (catalog already parsed, write layout, uncompressed) per
//    strategy, 1 thread, 2 threads on disjoint epochs, 2 threads sharing
//    every chunk, against raw write() of the same bytes into files of the
//    same sizes;
//  * rechunk to the read layout, against raw read() + write() of the same
//    bytes, with the peak RSS of the process doing it against its budget;
//  * reading one object's light curve (1,000 epochs, warm page cache):
//    p50/p99 latency and bytes read from the store, against pread() of the
//    object's bytes;
//  * every object's light curve in one call, against read() of the files;
//  * cone searches among 1,000,000 objects, against a scan of all of them;
//  * a cold `lcstore cone` and `lcstore lightcurve` process on that store,
//    against the same program printing its version (process start alone).
#include <fmt/core.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <numbers>
#include <numeric>
#include <random>
#include <thread>

#include "bench_support.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/memory.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/storage/memory_store.h"

namespace lcstore::bench {
namespace {

namespace fs = std::filesystem;
using lightcurve::LightCurveStore;
using lightcurve::Strategy;

constexpr int kRuns = 3;

struct StoreSize {
  uint64_t objects, measurements, epochs, object_chunk;
  uint64_t values() const { return objects * measurements * 2 * epochs; }
  uint64_t bytes() const { return values() * sizeof(float); }
  uint64_t chunk_values() const { return object_chunk * measurements * 2; }
};

// The populate workload, and a store of 1,000 epochs for reads.
constexpr StoreSize kPopulateSize{50'000, 40, 20, 1000};
constexpr StoreSize kLatencySize{1'000, 40, 1'000, 1000};
constexpr StoreSize kBulkSize{10'000, 40, 100, 1000};
constexpr uint64_t kLatencyShardObjects = 32;

std::string measurement_name(uint64_t m) { return fmt::format("m{:02}", m); }

// A parsed catalog of objects [first, first + count) (every `stride`-th):
// NUMBER, positions and MAG_/MAGERR_ of every measurement.
catalog::Table synthetic_catalog(const StoreSize& size, uint64_t first, uint64_t stride) {
  catalog::Table table("synthetic");
  std::vector<int64_t> numbers;
  for (uint64_t o = first; o < size.objects; o += stride) numbers.push_back(static_cast<int64_t>(o));
  std::vector<double> ra, dec, x, y;
  for (int64_t n : numbers) {
    ra.push_back(265.0 + static_cast<double>(n) * 1e-5);
    dec.push_back(65.5 + static_cast<double>(n % 1000) * 1e-5);
    x.push_back(static_cast<double>(n % 1000));
    y.push_back(static_cast<double>(n / 1000));
  }
  table.add_column({"NUMBER", numbers});
  table.add_column({"ALPHA_J2000", ra});
  table.add_column({"DELTA_J2000", dec});
  table.add_column({"X_IMAGE", x});
  table.add_column({"Y_IMAGE", y});
  for (uint64_t m = 0; m < size.measurements; ++m) {
    // float32, as SExtractor's FITS catalogs hold photometry ('E' fields).
    std::vector<float> mags, errors;
    for (int64_t n : numbers) {
      mags.push_back(18.0f + static_cast<float>((n + static_cast<int64_t>(m)) % 100) * 0.01f);
      errors.push_back(0.01f + static_cast<float>(m) * 0.001f);
    }
    table.add_column({"MAG_" + measurement_name(m), mags});
    table.add_column({"MAGERR_" + measurement_name(m), errors});
  }
  return table;
}

LightCurveStore create_store(const fs::path& path, const StoreSize& size, const catalog::Table& objects,
                             Durability durability = Durability::kSyncOnCommit) {
  fs::remove_all(path);
  fs::create_directories(path);
  lightcurve::CreateOptions options;
  catalog::ColumnMapping mapping(objects, {});
  options.objects = lightcurve::ObjectTable::from_catalog(objects, mapping);
  std::vector<std::string> epochs;
  for (uint64_t e = 0; e < size.epochs; ++e) epochs.push_back(fmt::format("e{:04}", e));
  options.epochs = lightcurve::EpochTable::from_keys(epochs);
  for (uint64_t m = 0; m < size.measurements; ++m) options.measurements.push_back(measurement_name(m));
  options.object_chunk = size.object_chunk;
  return LightCurveStore::create(std::make_shared<DirectoryStore>(path, durability), options);
}

// Runs `work(thread)` on `threads` threads and returns the wall time.
template <typename Work>
double timed_threads(unsigned threads, Work&& work) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) workers.emplace_back([&, t] { work(t); });
  for (std::thread& worker : workers) worker.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

uint64_t count_nan(const LightCurveStore& store) {
  std::vector<float> all = store.write_layout().read<float>(zarr::select_all(store.write_layout().shape()));
  return static_cast<uint64_t>(std::count_if(all.begin(), all.end(), [](float v) { return std::isnan(v); }));
}

// The baseline of populate: write() of every chunk's bytes into a new file
// named as the chunk is (c/<object chunk>/0/0/<epoch>), in a directory
// deleted first as populate's store is, by `threads` threads on disjoint
// epochs, epoch after epoch as populate writes them; with `sync_each_epoch`,
// one syncfs after each epoch, as a durable populate flushes each catalog.
// (Overwriting files that exist would skip the inode allocation that every
// new chunk costs; on this machine's ext4 without a journal, allocating
// inodes soon after others were deleted is much of the time of both, and
// varies from run to run, so the two are measured in alternation.) Returns
// the seconds.
double raw_write_new_files(const fs::path& directory, const StoreSize& size, const std::vector<float>& chunk,
                           unsigned threads = 1, bool sync_each_epoch = false) {
  fs::remove_all(directory);
  const uint64_t object_chunks = size.objects / size.object_chunk;
  for (uint64_t o = 0; o < object_chunks; ++o) fs::create_directories(directory / "c" / std::to_string(o) / "0" / "0");
  const double seconds = timed_threads(threads, [&](unsigned t) {
    for (uint64_t e = t; e < size.epochs; e += threads) {
      for (uint64_t o = 0; o < object_chunks; ++o) {
        const fs::path file = directory / "c" / std::to_string(o) / "0" / "0" / std::to_string(e);
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 || ::write(fd, chunk.data(), chunk.size() * sizeof(float)) < 0) std::abort();
        if (sync_each_epoch && o + 1 == object_chunks && ::syncfs(fd) != 0) std::abort();
        ::close(fd);
      }
    }
  });
  fs::remove_all(directory);
  return seconds;
}

void populate_throughput(const fs::path& scratch) {
  const StoreSize& size = kPopulateSize;
  const catalog::Table whole = synthetic_catalog(size, 0, 1);
  const catalog::Table halves[2] = {synthetic_catalog(size, 0, 2), synthetic_catalog(size, 1, 2)};
  const std::vector<float> chunk(size.chunk_values(), 18.0f);
  const double gigabytes = static_cast<double>(size.bytes()) / 1e9;
  // Each round runs the three modes back to back, each after a raw run: two
  // threads are compared with the one thread of their own round, as the
  // machine's speed moves between rounds (and raw runs vary on their own).
  constexpr int kRounds = 5;
  fmt::print(
      "populate on {}: {} objects x {} measurements x 2 values x {} epochs, {} MB, chunks of {} objects "
      "(median of {} rounds; each run after a raw run, ratio = median of the pairs)\n",
      scratch.string(), size.objects, size.measurements, size.epochs, size.bytes() / 1000000, size.object_chunk,
      kRounds);
  std::vector<double> raw_times;
  struct Mode {
    const char* name;
    unsigned threads;
    bool shared_chunks;
  };
  const Mode modes[] = {Mode{"1 thread", 1, false}, Mode{"2 threads, disjoint epochs", 2, false},
                        Mode{"2 threads, sharing every chunk", 2, true}};
  for (Strategy strategy : {Strategy::kMaskedSlab, Strategy::kReadModifyWrite, Strategy::kScatter}) {
    std::vector<double> times[3], to_raw[3], to_one_thread[3];
    uint64_t lost[3] = {};
    for (int round = 0; round < kRounds; ++round) {
      for (size_t m = 0; m < 3; ++m) {
        const Mode& mode = modes[m];
        const double raw = raw_write_new_files(scratch / "raw", size, chunk);
        raw_times.push_back(raw);
        // The page cache only, as the raw runs: durability is measured on its own.
        LightCurveStore store = create_store(scratch / "store", size, whole, Durability::kNone);
        times[m].push_back(timed_threads(mode.threads, [&](unsigned t) {
          for (uint64_t e = 0; e < size.epochs; ++e) {
            const std::string epoch = store.epochs().keys[e];
            if (mode.shared_chunks) {
              store.populate(epoch, halves[t], {.strategy = strategy});
            } else if (e % mode.threads == t) {
              store.populate(epoch, whole, {.strategy = strategy});
            }
          }
        }));
        lost[m] += count_nan(store);
        to_raw[m].push_back(raw / times[m].back());
        to_one_thread[m].push_back(times[0].back() / times[m].back());
      }
    }
    for (size_t m = 0; m < 3; ++m) {
      const double seconds = median(times[m]);
      fmt::print("  {} {:<31} {:>8.1f} Mvalues/s {:>6.2f} GB/s  {:.2f}x raw{}\n", to_string(strategy), modes[m].name,
                 static_cast<double>(size.values()) / seconds / 1e6, gigabytes / seconds, median(to_raw[m]),
                 lost[m] == 0 ? "" : fmt::format("  LOST {} VALUES", lost[m]));
    }
    fmt::print("  {} 2 threads against 1: disjoint {:.2f}x, sharing {:.2f}x (median of the rounds' pairs)\n",
               to_string(strategy), median(to_one_thread[1]), median(to_one_thread[2]));
  }
  const double raw = median(raw_times);
  fmt::print("  {:<34} {:>8.1f} Mvalues/s {:>6.2f} GB/s  (median of all {} raw runs)\n",
             "raw write() into new chunk files", static_cast<double>(size.values()) / raw / 1e6, gigabytes / raw,
             raw_times.size());
  // What two threads of plain write() reach here: the ceiling of populate's
  // two threads on disjoint epochs.
  constexpr int kRawPairs = 5;
  std::vector<double> raw_pairs;
  for (int run = 0; run < kRawPairs; ++run) {
    const double one = raw_write_new_files(scratch / "raw", size, chunk);
    raw_pairs.push_back(one / raw_write_new_files(scratch / "raw", size, chunk, 2));
  }
  fmt::print("  {:<34} {:.2f}x one thread of it, on disjoint epochs (median of {} alternated pairs)\n",
             "raw write() with 2 threads", median(raw_pairs), kRawPairs);
}

// What a durable populate costs: one thread, each catalog's chunks flushed
// to the disk (syncfs) before the journal records it, against the same run
// relying on the page cache, and against raw write() of the same chunk files
// with and without one syncfs per epoch. The modes alternate in each round.
void populate_durability(const fs::path& scratch) {
  const StoreSize& size = kPopulateSize;
  const catalog::Table whole = synthetic_catalog(size, 0, 1);
  const std::vector<float> chunk(size.chunk_values(), 18.0f);
  constexpr int kRounds = 5;
  std::vector<double> none, commit, raw, raw_synced;
  auto populate_all = [&](Durability durability) {
    LightCurveStore store = create_store(scratch / "store", size, whole, durability);
    return timed_threads(1, [&](unsigned) {
      for (const std::string& epoch : store.epochs().keys)
        store.populate(epoch, whole, {.strategy = Strategy::kScatter});
    });
  };
  for (int round = 0; round < kRounds; ++round) {
    raw.push_back(raw_write_new_files(scratch / "raw", size, chunk));
    none.push_back(populate_all(Durability::kNone));
    commit.push_back(populate_all(Durability::kSyncOnCommit));
    raw_synced.push_back(raw_write_new_files(scratch / "raw", size, chunk, 1, /*sync_each_epoch=*/true));
  }
  const double gigabytes = static_cast<double>(size.bytes()) / 1e9;
  fmt::print("durability of populate on {}: {} catalogs, one thread, v2 (median of {} alternated rounds)\n",
             scratch.string(), size.epochs, kRounds);
  const auto row = [&](const char* name, double seconds, const std::string& note) {
    fmt::print("  {:<44} {:>8.3f} s {:>6.2f} GB/s  {}\n", name, seconds, gigabytes / seconds, note);
  };
  row("raw write() of the chunk files", median(raw), "");
  row("raw write(), one syncfs per epoch", median(raw_synced),
      fmt::format("{:.2f}x raw", median(raw) / median(raw_synced)));
  row("populate --durability none", median(none), fmt::format("{:.2f}x raw", median(raw) / median(none)));
  row("populate (durable: syncfs per catalog)", median(commit),
      fmt::format("{:.2f}x raw synced, {:.2f}x --durability none", median(raw_synced) / median(commit),
                  median(none) / median(commit)));
  fs::remove_all(scratch / "store");
}

// Copies every file below `from` into `to` with read() and write().
void raw_read_write(const fs::path& from, const fs::path& to) {
  std::vector<char> buffer;
  fs::create_directories(to);
  uint64_t n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(from)) {
    if (!entry.is_regular_file()) continue;
    buffer.resize(entry.file_size());
    int in = ::open(entry.path().c_str(), O_RDONLY);
    if (in < 0 || ::read(in, buffer.data(), buffer.size()) < 0) std::abort();
    ::close(in);
    int out = ::open((to / std::to_string(n++)).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || ::write(out, buffer.data(), buffer.size()) < 0) std::abort();
    ::close(out);
  }
}

// Rechunks in a fresh process (this program re-executed with --rechunk),
// which reports its own peak RSS (VmHWM: the new address space's high-water
// mark; a fork's rusage would count the parent's pages too). Returns
// (seconds, peak RSS bytes).
std::pair<double, uint64_t> rechunk_in_child(const fs::path& path, uint64_t budget_bytes, unsigned threads) {
  const std::string command = fmt::format("{} --rechunk {} {} {}", fs::read_symlink("/proc/self/exe").string(),
                                          path.string(), budget_bytes, threads);
  auto start = std::chrono::steady_clock::now();
  FILE* child = ::popen(command.c_str(), "r");
  unsigned long long peak_kib = 0;
  if (child == nullptr || std::fscanf(child, "%llu", &peak_kib) != 1 || ::pclose(child) != 0) std::abort();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {seconds, peak_kib * 1024};
}

// This process's peak RSS in KiB, from /proc/self/status.
unsigned long long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  }
  return 0;
}

void rechunk_throughput(const fs::path& scratch) {
  const StoreSize& size = kPopulateSize;
  LightCurveStore store = create_store(scratch / "store", size, synthetic_catalog(size, 0, 1));
  const catalog::Table whole = synthetic_catalog(size, 0, 1);
  for (const std::string& epoch : store.epochs().keys) store.populate(epoch, whole, {});
  const double raw = median_seconds(kRuns, [&] {
    fs::remove_all(scratch / "copy");
    raw_read_write(scratch / "store" / "lightcurves", scratch / "copy");
  });
  fs::remove_all(scratch / "copy");
  const double megabytes = static_cast<double>(size.bytes()) / 1e6;
  fmt::print("rechunk: the populate store ({:.0f} MB) into shards of 256 objects x {} epochs (median of {})\n",
             megabytes, size.epochs, kRuns);
  fmt::print("  {:<34} {:>8.1f} MB/s\n", "raw read() + write() of the bytes", megabytes / raw);
  for (uint64_t budget_mib : {64, 256}) {
    for (unsigned threads : {1u, 2u}) {
      std::vector<double> times;
      uint64_t peak = 0;
      for (int run = 0; run < kRuns; ++run) {
        auto [seconds, rss] = rechunk_in_child(scratch / "store", budget_mib << 20, threads);
        times.push_back(seconds);
        peak = std::max(peak, rss);
      }
      const double seconds = median(times);
      fmt::print("  budget {:>4} MiB, {} thread(s)          {:>8.1f} MB/s  {:.2f}x raw  peak RSS {:.0f} MiB\n",
                 budget_mib, threads, megabytes / seconds, raw / seconds, static_cast<double>(peak) / (1 << 20));
    }
  }
  fs::remove_all(scratch / "store");
}

extern "C" char** environ;

// Median wall time of running `arguments` to its end, stdout and stderr to
// /dev/null, process start included.
double median_process_ms(const std::vector<std::string>& arguments, int runs) {
  std::vector<char*> argv;
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<double> times;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    pid_t child = 0;
    int status = 0;
    if (posix_spawn(&child, argv[0], &actions, nullptr, argv.data(), environ) != 0 ||
        ::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fmt::print(stderr, "{} failed\n", arguments.at(1));
      std::abort();
    }
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3);
  }
  posix_spawn_file_actions_destroy(&actions);
  return median(times);
}

// A small store, where a rechunk's fixed costs (files made and removed,
// listings, metadata, the journal) weigh more than its bytes: against
// `cp -r` of the write layout, the same bytes in as many files.
void small_store_rechunk(const fs::path& scratch) {
  constexpr StoreSize kSmall{20'000, 10, 20, 1000};
  const catalog::Table whole = synthetic_catalog(kSmall, 0, 1);
  {
    LightCurveStore store = create_store(scratch / "small", kSmall, whole, Durability::kNone);
    for (const std::string& epoch : store.epochs().keys) store.populate(epoch, whole, {});
  }
  constexpr int kSmallRuns = 11;
  const std::string copy = (scratch / "small-copy").string();
  const std::vector<std::string> cp = {"/bin/cp", "-r", (scratch / "small" / "lightcurves").string(), copy};
  std::vector<double> copies;
  for (int run = 0; run < kSmallRuns; ++run) {
    fs::remove_all(copy);
    copies.push_back(median_process_ms(cp, 1));
  }
  const double raw_ms = median_seconds(kSmallRuns,
                                       [&] {
                                         fs::remove_all(copy);
                                         raw_read_write(scratch / "small" / "lightcurves", copy);
                                       }) *
                        1e3;
  fs::remove_all(copy);
  const double copy_ms = median(copies);
  const double megabytes = static_cast<double>(kSmall.bytes()) / 1e6;
  fmt::print("rechunk of a small store: {} objects x {} measurements x 2 x {} epochs ({:.0f} MB, median of {})\n",
             kSmall.objects, kSmall.measurements, kSmall.epochs, megabytes, kSmallRuns);
  fmt::print("  {:<40} {:7.1f} ms\n", "cp -r of the write layout", copy_ms);
  fmt::print("  {:<40} {:7.1f} ms\n", "read() + write() of its files, in process", raw_ms);
  for (Durability durability : {Durability::kSyncOnCommit, Durability::kNone}) {
    for (unsigned threads : {1u, 2u}) {
      LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(scratch / "small", durability));
      const double ms =
          median_seconds(kSmallRuns, [&] { store.rechunk({.object_chunk = 256, .threads = threads}); }) * 1e3;
      fmt::print("  {:<40} {:7.1f} ms  ({:.2f}x cp -r)\n",
                 fmt::format("rechunk, {} thread(s), durability {}", threads,
                             durability == Durability::kNone ? "none" : "sync"),
                 ms, ms / copy_ms);
    }
  }
  fs::remove_all(scratch / "small");
}

// Populating (in memory) an epoch catalog of 50,000 rows matched by position (each row
// 0-0.5" from its object, in a random order) against the same catalog
// matched by key: the difference is what matching by position costs.
void position_matching() {
  constexpr StoreSize kSize{50'000, 2, 1, 1000};
  constexpr double kRa = 265.0, kDec = 65.5;
  std::mt19937_64 random(3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  lightcurve::CreateOptions options;
  catalog::Table by_key("by-key"), by_position("by-position");
  std::vector<int64_t> numbers, scrambled;
  std::vector<double> ra, dec, moved_ra, moved_dec;
  const double ra_scale = 1.0 / std::cos(kDec * std::numbers::pi / 180.0);
  for (uint64_t o = 0; o < kSize.objects; ++o) {
    options.objects.keys.push_back(std::to_string(o + 1));
    options.objects.ra.push_back(kRa + (unit(random) - 0.5) * ra_scale);  // a square degree
    options.objects.dec.push_back(kDec + unit(random) - 0.5);
    options.objects.x.push_back(0);
    options.objects.y.push_back(0);
  }
  std::vector<uint64_t> order(kSize.objects);
  std::iota(order.begin(), order.end(), uint64_t{0});
  std::shuffle(order.begin(), order.end(), random);
  for (uint64_t o : order) {
    numbers.push_back(static_cast<int64_t>(o + 1));
    ra.push_back(options.objects.ra[o]);
    dec.push_back(options.objects.dec[o]);
    const double offset = 0.5 / 3600.0 * unit(random), bearing = 2 * std::numbers::pi * unit(random);
    moved_ra.push_back(options.objects.ra[o] + offset * std::sin(bearing) * ra_scale);
    moved_dec.push_back(options.objects.dec[o] + offset * std::cos(bearing));
  }
  std::vector<float> mags(kSize.objects, 18.5f), errors(kSize.objects, 0.02f);
  for (catalog::Table* table : {&by_key, &by_position}) {
    table->add_column({"NUMBER", numbers});
    table->add_column({"ALPHA_J2000", table == &by_key ? ra : moved_ra});
    table->add_column({"DELTA_J2000", table == &by_key ? dec : moved_dec});
    for (uint64_t m = 0; m < kSize.measurements; ++m) {
      table->add_column({"MAG_" + measurement_name(m), mags});
      table->add_column({"MAGERR_" + measurement_name(m), errors});
    }
  }
  std::vector<std::string> epochs;
  for (int e = 0; e < kRuns; ++e) epochs.push_back(fmt::format("e{}", e));
  options.epochs = lightcurve::EpochTable::from_keys(epochs);
  for (uint64_t m = 0; m < kSize.measurements; ++m) options.measurements.push_back(measurement_name(m));
  options.object_chunk = kSize.object_chunk;
  constexpr int kMatchRuns = 11;
  auto populate_ms = [&](const catalog::Table& catalog, const lightcurve::PopulateOptions& populate) {
    std::vector<double> times;
    uint64_t written = 0;
    for (int run = 0; run < kMatchRuns; ++run) {
      LightCurveStore store = LightCurveStore::create(std::make_shared<MemoryStore>(), options);
      store.cone(kRa, kDec, 1.0);  // the declination index read, as any query of an open store does
      const auto start = std::chrono::steady_clock::now();
      written = store.populate(epochs.front(), catalog, populate).objects_written;
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3);
    }
    return std::pair(median(times), written);
  };
  const auto [key_ms, key_written] = populate_ms(by_key, {});
  const auto [position_ms, position_written] = populate_ms(by_position, {.match_radius_arcsec = 1.0});
  fmt::print("populate of {} rows in a random order, {} objects in a square degree (median of {}):\n", kSize.objects,
             kSize.objects, kMatchRuns);
  fmt::print("  {:<40} {:7.2f} ms  {} objects written\n", "matched by key (NUMBER)", key_ms, key_written);
  fmt::print("  {:<40} {:7.2f} ms  {} objects written\n", "matched by position (1\", rows 0-0.5\" off)", position_ms,
             position_written);
  fmt::print("  {:<40} {:7.2f} ms\n", "matching by position costs", position_ms - key_ms);
}

// Counts the bytes read through a store.
class CountingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  // Whole values are read through open(), so that they are counted too.
  std::optional<Bytes> get(std::string_view key) const override { return Store::get(key); }
  std::unique_ptr<ValueReader> open(std::string_view key) const override {
    auto reader = StoreWrapper::open(key);
    if (!reader) return nullptr;
    return std::make_unique<CountingReader>(std::move(reader), bytes_read_);
  }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  class CountingReader final : public ValueReader {
   public:
    CountingReader(std::unique_ptr<ValueReader> inner, std::atomic<uint64_t>& counter)
        : inner_(std::move(inner)), counter_(counter) {}
    uint64_t size() const override { return inner_->size(); }
    Bytes read(uint64_t offset, uint64_t length) const override {
      counter_ += length;
      return inner_->read(offset, length);
    }

   private:
    std::unique_ptr<ValueReader> inner_;
    std::atomic<uint64_t>& counter_;
  };
  mutable std::atomic<uint64_t> bytes_read_{0};
};

// Fills every epoch of a new store through the zarr layer (one write per
// epoch chunk) and rechunks it into shards of `shard_objects`.
LightCurveStore filled_store(const fs::path& path, const StoreSize& size, uint64_t shard_objects) {
  LightCurveStore store = create_store(path, size, synthetic_catalog(size, 0, 1));
  zarr::Array array = zarr::Array::open(std::make_shared<DirectoryStore>(path), "lightcurves");
  std::vector<float> slab(size.objects * size.measurements * 2);
  for (uint64_t e = 0; e < size.epochs; ++e) {
    std::fill(slab.begin(), slab.end(), 18.0f + static_cast<float>(e) * 1e-3f);
    zarr::Selection selection = zarr::select_all(array.shape());
    selection[3] = zarr::DimSelection::range(e, e + 1);
    array.write<float>(selection, slab);
  }
  store.rechunk({.object_chunk = shard_objects, .memory_budget = 256 << 20, .threads = 2});
  return store;
}

// The median wall time of kRuns runs of the shell command `command`, and its
// peak RSS, measured by /usr/bin/time into `time_file`.
struct CommandTiming {
  double seconds;
  unsigned long long peak_kib;
};

CommandTiming time_command(const std::string& command, const fs::path& time_file) {
  std::vector<double> times;
  unsigned long long peak = 0;
  for (int run = 0; run < kRuns; ++run) {
    const std::string timed = fmt::format("/usr/bin/time -f '%e %M' -o {} {} > /dev/null", time_file.string(), command);
    if (std::system(timed.c_str()) != 0) std::abort();
    std::ifstream measured(time_file);
    double seconds = 0;
    unsigned long long peak_kib = 0;
    if (!(measured >> seconds >> peak_kib)) std::abort();
    times.push_back(seconds);
    peak = std::max(peak, peak_kib);
  }
  return {median(times), peak};
}

// Every object's light curve, asked for in random order in one call, against
// read() of every file of the read layout.
void bulk_extraction(const fs::path& scratch) {
  const StoreSize& size = kBulkSize;
  const fs::path path = scratch / "bulk";
  std::vector<std::string> objects = filled_store(path, size, kLatencyShardObjects).objects();
  std::shuffle(objects.begin(), objects.end(), std::mt19937(5));
  const LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(path));
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(path / "lightcurves_by_object")) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  // Two baselines: every file read() into one reused buffer (the bytes pass
  // through the cache and are dropped), and into one buffer that keeps them
  // all, as the light curves must (touched beforehand, as lcstore's memory is
  // after its first run).
  uint64_t total_bytes = 0;
  for (const fs::path& file : files) total_bytes += fs::file_size(file);
  std::vector<char> all_files(total_bytes, 1);
  auto read_files = [&](bool keep) {
    uint64_t at = 0;
    for (const fs::path& file : files) {
      const size_t bytes = fs::file_size(file);
      const int fd = ::open(file.c_str(), O_RDONLY);
      if (fd < 0 || ::read(fd, all_files.data() + at, bytes) != static_cast<ssize_t>(bytes)) std::abort();
      ::close(fd);
      if (keep) at += bytes;
    }
  };
  const double raw = median_seconds(kRuns, [&] { read_files(false); });
  const double raw_kept = median_seconds(kRuns, [&] { read_files(true); });
  // The first run faults in the memory of the curves, which the kept
  // baseline's buffer had touched beforehand; it is shown on its own, and
  // the median is of the runs after it.
  constexpr int kBulkRuns = 5;
  auto extract = [&] {
    if (store.light_curves(objects).size() != objects.size()) std::abort();
  };
  const double first_extraction = median_seconds(1, extract);
  const double extraction = median_seconds(kBulkRuns, extract);
  // The command a user runs: `lcstore lightcurve` with the same objects in
  // a file, printing csv (timed with its peak RSS by /usr/bin/time).
  const fs::path objects_file = scratch / "bulk-objects.txt";
  {
    std::ofstream out(objects_file);
    for (const std::string& object : objects) out << object << "\n";
  }
  const std::string command =
      fmt::format("{} lightcurve {} --objects-file {} --format csv", LCSTORE_CLI, path.string(), objects_file.string());
  const fs::path time_file = scratch / "bulk-time.txt";
  const auto [cli, cli_peak_kib] = time_command(command, time_file);
  FILE* counted = ::popen((command + " | wc -c").c_str(), "r");
  unsigned long long csv_bytes = 0;
  if (counted == nullptr || std::fscanf(counted, "%llu", &csv_bytes) != 1 || ::pclose(counted) != 0) std::abort();

  const double gigabytes = static_cast<double>(size.bytes()) / 1e9;
  fmt::print(
      "bulk extraction: {} objects x {} measurements x 2 values x {} epochs, {} MB, in random order "
      "(median of {})\n",
      size.objects, size.measurements, size.epochs, size.bytes() / 1000000, kRuns);
  fmt::print("  {:<44} {:>8.3f} s {:>6.2f} GB/s\n", "read() of the read layout's files, dropped", raw, gigabytes / raw);
  fmt::print("  {:<44} {:>8.3f} s {:>6.2f} GB/s\n", "read() of the read layout's files, all kept", raw_kept,
             gigabytes / raw_kept);
  fmt::print("  {:<44} {:>8.3f} s {:>6.2f} GB/s  (page faults of the new memory)\n",
             "lcstore light_curves(all objects), first run", first_extraction, gigabytes / first_extraction);
  fmt::print("  {:<44} {:>8.3f} s {:>6.2f} GB/s  {:.2f}x read() dropped, {:.2f}x read() kept (median of {})\n",
             "lcstore light_curves(all objects)", extraction, gigabytes / extraction, raw / extraction,
             raw_kept / extraction, kBulkRuns);
  fmt::print("  {:<44} {:>8.3f} s {:>6.2f} GB/s  {:.3f}x read() kept; peak RSS {} MiB; {} MB of csv, {:.0f} MB/s\n",
             "lcstore lightcurve --objects-file, csv", cli, gigabytes / cli, raw_kept / cli, cli_peak_kib / 1024,
             csv_bytes / 1000000, static_cast<double>(csv_bytes) / 1e6 / cli);
  fs::remove_all(path);
  fs::remove(objects_file);
  fs::remove(time_file);
}

void light_curve_latency(const fs::path& scratch) {
  const StoreSize& size = kLatencySize;
  filled_store(scratch / "latency", size, kLatencyShardObjects);
  auto counting = std::make_shared<CountingStore>(std::make_shared<DirectoryStore>(scratch / "latency"));
  LightCurveStore store = LightCurveStore::open(counting);
  const uint64_t object_bytes = size.measurements * 2 * size.epochs * sizeof(float);
  std::mt19937 random(7);
  std::uniform_int_distribution<uint64_t> pick(0, size.objects - 1);
  constexpr int kQueries = 1000;
  for (int warm = 0; warm < 100; ++warm) store.light_curve(store.objects()[pick(random)]);
  std::vector<double> latencies;
  const uint64_t read_before = counting->bytes_read();
  for (int q = 0; q < kQueries; ++q) {
    const std::string& object = store.objects()[pick(random)];
    auto start = std::chrono::steady_clock::now();
    store.light_curve(object);
    latencies.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double bytes_per_query = static_cast<double>(counting->bytes_read() - read_before) / kQueries;
  std::sort(latencies.begin(), latencies.end());

  // Baseline: pread() of one object's bytes at random places of a shard file.
  std::string shard;
  for (const auto& entry : fs::recursive_directory_iterator(scratch / "latency" / "lightcurves_by_object")) {
    if (entry.is_regular_file() && entry.path().string().find("/c/") != std::string::npos) {
      shard = entry.path();
      break;
    }
  }
  const uint64_t shard_size = fs::file_size(shard);
  int fd = ::open(shard.c_str(), O_RDONLY);
  std::vector<char> buffer(object_bytes);
  std::vector<double> raw;
  std::uniform_int_distribution<uint64_t> offset(0, shard_size - object_bytes);
  for (int q = 0; q < kQueries; ++q) {
    auto start = std::chrono::steady_clock::now();
    if (::pread(fd, buffer.data(), object_bytes, static_cast<off_t>(offset(random))) < 0) std::abort();
    raw.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  ::close(fd);
  std::sort(raw.begin(), raw.end());
  auto percentile = [](const std::vector<double>& sorted, double p) {
    return sorted[static_cast<size_t>(p * static_cast<double>(sorted.size() - 1))] * 1e3;
  };
  fmt::print("light curve read: {} objects x {} measurements x 2 values x {} epochs, read layout, {} random objects\n",
             size.objects, size.measurements, size.epochs, kQueries);
  fmt::print("  {:<34} p50 {:.3f} ms  p99 {:.3f} ms\n", "pread() of the object's bytes", percentile(raw, 0.5),
             percentile(raw, 0.99));
  fmt::print("  {:<34} p50 {:.3f} ms  p99 {:.3f} ms  ({:.2f}x / {:.2f}x the pread)\n", "lcstore light_curve()",
             percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 0.5) / percentile(raw, 0.5),
             percentile(latencies, 0.99) / percentile(raw, 0.99));
  fmt::print("  bytes read per light curve: {:.0f} for {} bytes of data ({:.3f}x)\n", bytes_per_query, object_bytes,
             bytes_per_query / static_cast<double>(object_bytes));
  fs::remove_all(scratch / "latency");
}

// Cone searches of 10" among 1,000,000 objects crowded into a 4 square degree
// field (70 per square arcminute, denser than the IRAC Dark Field), against
// a scan of every object's coordinates.
// What a user waits for when each query is a new process: the store opens
// cold each time (the page cache warm).
void cold_queries(const fs::path& store, const std::vector<std::pair<double, double>>& centers) {
  LightCurveStore::open(std::make_shared<DirectoryStore>(store)).rechunk({});
  constexpr int kProcessRuns = 21;
  const double start_ms = median_process_ms({LCSTORE_CLI, "--version"}, kProcessRuns);
  const auto [ra, dec] = centers.front();
  const double cone_ms = median_process_ms({LCSTORE_CLI, "cone", store.string(), "--ra", fmt::format("{}", ra), "--dec",
                                            fmt::format("{}", dec), "--radius", "10"},
                                           kProcessRuns);
  const double light_curve_ms = median_process_ms({LCSTORE_CLI, "lightcurve", store.string(), "654321"}, kProcessRuns);
  fmt::print("cold processes on the store of 1,000,000 objects ({} runs each, median wall):\n", kProcessRuns);
  fmt::print("  {:<34} {:6.1f} ms\n", "lcstore --version (process start)", start_ms);
  fmt::print("  {:<34} {:6.1f} ms  ({:.1f}x the start)\n", "lcstore cone, radius 10\"", cone_ms, cone_ms / start_ms);
  fmt::print("  {:<34} {:6.1f} ms  ({:.1f}x the start)\n", "lcstore lightcurve of one object", light_curve_ms,
             light_curve_ms / start_ms);
}

void cone_search(const fs::path& scratch) {
  constexpr uint64_t kObjects = 1'000'000;
  constexpr double kRa = 265.0, kDec = 65.5, kHalfWidth = 1.0, kRadiusArcsec = 10.0;
  std::mt19937_64 random(11);
  std::uniform_real_distribution<double> offset(-kHalfWidth, kHalfWidth);
  const double ra_scale = 1.0 / std::cos(kDec * std::numbers::pi / 180.0);
  lightcurve::CreateOptions options;
  for (uint64_t o = 0; o < kObjects; ++o) {
    options.objects.keys.push_back(std::to_string(o + 1));  // SExtractor's NUMBER
    options.objects.ra.push_back(kRa + offset(random) * ra_scale);
    options.objects.dec.push_back(kDec + offset(random));
    options.objects.x.push_back(0);
    options.objects.y.push_back(0);
  }
  options.epochs = lightcurve::EpochTable::from_keys({"e0"});
  options.measurements = {"auto"};
  options.object_chunk = 100'000;
  fs::remove_all(scratch / "cone");
  fs::create_directories(scratch / "cone");
  LightCurveStore::create(std::make_shared<DirectoryStore>(scratch / "cone"), options);
  auto start = std::chrono::steady_clock::now();
  const LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(scratch / "cone"));
  const double open_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  constexpr int kQueries = 1000;
  std::vector<std::pair<double, double>> centers;
  for (int q = 0; q < kQueries; ++q) centers.emplace_back(kRa + offset(random) * ra_scale, kDec + offset(random));
  std::vector<double> indexed, scanned;
  uint64_t found = 0, mismatches = 0;
  const lightcurve::ObjectTable& objects = store.object_table();
  for (const auto& [ra, dec] : centers) {
    start = std::chrono::steady_clock::now();
    const size_t matches = store.cone(ra, dec, kRadiusArcsec).size();
    indexed.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    start = std::chrono::steady_clock::now();
    size_t scan_matches = 0;
    for (uint64_t o = 0; o < kObjects; ++o) {
      scan_matches += lightcurve::separation_degrees(ra, dec, objects.ra[o], objects.dec[o]) * 3600.0 <= kRadiusArcsec;
    }
    scanned.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    found += matches;
    mismatches += matches != scan_matches;
  }
  std::sort(indexed.begin(), indexed.end());
  std::sort(scanned.begin(), scanned.end());
  auto ms = [](const std::vector<double>& sorted, double p) {
    return sorted[static_cast<size_t>(p * static_cast<double>(sorted.size() - 1))] * 1e3;
  };
  fmt::print("cone search: {} objects in {} square degrees, radius {}\", {} queries, {:.1f} objects found per query\n",
             kObjects, 4 * kHalfWidth * kHalfWidth, kRadiusArcsec, kQueries, static_cast<double>(found) / kQueries);
  fmt::print("  {:<34} p50 {:.3f} ms  p99 {:.3f} ms\n", "scan of every object's coordinates", ms(scanned, 0.5),
             ms(scanned, 0.99));
  fmt::print("  {:<34} p50 {:.4f} ms  p99 {:.4f} ms  ({:.4f}x the scan){}\n", "lcstore cone() (declination index)",
             ms(indexed, 0.5), ms(indexed, 0.99), ms(indexed, 0.5) / ms(scanned, 0.5),
             mismatches == 0 ? "" : fmt::format("  {} QUERIES DISAGREE WITH THE SCAN", mismatches));
  fmt::print("  opening the store (objects read when first needed): {:.1f} ms\n", open_seconds * 1e3);
  cold_queries(scratch / "cone", centers);
  fs::remove_all(scratch / "cone");
}

}  // namespace
}  // namespace lcstore::bench

int main(int argc, char** argv) {
  lcstore::keep_freed_memory();
  if (argc == 5 && std::string(argv[1]) == "--rechunk") {
    lcstore::lightcurve::LightCurveStore::open(std::make_shared<lcstore::DirectoryStore>(argv[2]))
        .rechunk({.object_chunk = 256,
                  .memory_budget = std::stoull(argv[3]),
                  .threads = static_cast<unsigned>(std::stoul(argv[4]))});
    fmt::print("{}\n", lcstore::bench::peak_rss_kib());
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto scratch =
      std::filesystem::temp_directory_path() / ("lcstore-lightcurve-bench-" + std::to_string(::getpid()));
  // Optional arguments pick sections: populate, durability, rechunk, small-rechunk, latency, bulk, cone,
  // match (default: all).
  auto wanted = [&](std::string_view section) {
    return argc == 1 || std::find(argv + 1, argv + argc, section) != argv + argc;
  };
  if (wanted("populate")) {
    lcstore::bench::populate_throughput(scratch);
    // In memory (tmpfs): what populate itself costs, without the disk's and
    // the file system's share.
    if (std::filesystem::is_directory("/dev/shm")) {
      const auto in_memory = std::filesystem::path("/dev/shm") / scratch.filename();
      lcstore::bench::populate_throughput(in_memory);
      std::filesystem::remove_all(in_memory);
    }
  }
  if (wanted("durability")) lcstore::bench::populate_durability(scratch);
  if (wanted("rechunk")) lcstore::bench::rechunk_throughput(scratch);
  if (wanted("rechunk") || wanted("small-rechunk")) lcstore::bench::small_store_rechunk(scratch);
  if (wanted("latency")) lcstore::bench::light_curve_latency(scratch);
  if (wanted("bulk")) lcstore::bench::bulk_extraction(scratch);
  if (wanted("cone")) lcstore::bench::cone_search(scratch);
  if (wanted("match")) lcstore::bench::position_matching();
  std::filesystem::remove_all(scratch);
}
