// `lcstore serve` under load: many concurrent clients on loopback, each with
// its own keep-alive connection, ask for random objects' light curves and
// for cone searches. Prints p50/p95 of the HTTP answers next to the same
// library call's own time (LightCurveStore::light_curve / cone in this
// process), which is the baseline: the ratio is what HTTP, JSON and the
// request threads add.
//
//   serve_bench [--objects 50000] [--measurements 2] [--epochs 1000] [--clients 50] [--requests 40]
//
// The store is filled through the zarr layer and rechunked (shards of 32
// objects), in a scratch directory under $TMPDIR that is removed at the end.
#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/server/server.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/array.h"

namespace {

namespace fs = std::filesystem;
using lcstore::lightcurve::LightCurveStore;
using Clock = std::chrono::steady_clock;

struct Options {
  uint64_t objects = 50'000, measurements = 2, epochs = 1000;
  unsigned clients = 50, requests = 40;
};

double percentile_ms(std::vector<double> seconds, double p) {
  std::sort(seconds.begin(), seconds.end());
  return seconds[static_cast<size_t>(p * static_cast<double>(seconds.size() - 1))] * 1e3;
}

// Objects on a grid of about 1' spacing around RA 265, Dec 65.5; every epoch
// filled, then rechunked.
void build_store(const fs::path& path, const Options& options) {
  lcstore::lightcurve::CreateOptions create;
  const auto side = static_cast<uint64_t>(std::ceil(std::sqrt(static_cast<double>(options.objects))));
  for (uint64_t o = 0; o < options.objects; ++o) {
    create.objects.keys.push_back(std::to_string(o + 1));
    create.objects.ra.push_back(265.0 + static_cast<double>(o % side) * 0.04);
    create.objects.dec.push_back(65.5 + static_cast<double>(o / side) * 0.0167);
    create.objects.x.push_back(static_cast<float>(o % side));
    create.objects.y.push_back(static_cast<float>(o / side));
  }
  std::vector<std::string> epochs;
  for (uint64_t e = 0; e < options.epochs; ++e) epochs.push_back(fmt::format("e{:04}", e));
  create.epochs = lcstore::lightcurve::EpochTable::from_keys(epochs);
  for (uint64_t m = 0; m < options.measurements; ++m) create.measurements.push_back(fmt::format("m{:02}", m));
  create.object_chunk = 1000;
  fs::create_directories(path);
  LightCurveStore store = LightCurveStore::create(std::make_shared<lcstore::DirectoryStore>(path), create);
  lcstore::zarr::Array array =
      lcstore::zarr::Array::open(std::make_shared<lcstore::DirectoryStore>(path), "lightcurves");
  std::vector<float> slab(options.objects * options.measurements * 2);
  for (uint64_t e = 0; e < options.epochs; ++e) {
    for (size_t i = 0; i < slab.size(); ++i) slab[i] = 18.0f + static_cast<float>((i + e) % 1000) * 1e-3f;
    lcstore::zarr::Selection selection = lcstore::zarr::select_all(array.shape());
    selection[3] = lcstore::zarr::DimSelection::range(e, e + 1);
    array.write<float>(selection, slab);
  }
  store.rechunk({.object_chunk = 32, .memory_budget = 256 << 20, .threads = 2});
}

// Runs `clients` threads of `requests` GETs each (targets from `target`),
// all starting together once every connection is open; returns the latencies.
template <typename Target>
std::vector<double> http_latencies(int port, const Options& options, Target&& target, std::atomic<int>& failures) {
  std::vector<std::vector<double>> per_client(options.clients);
  std::atomic<unsigned> ready = 0;
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < options.clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      std::mt19937 random(c + 1);
      if (!client.Get("/api/info")) ++failures;  // opens the connection
      ++ready;
      while (ready < options.clients) std::this_thread::yield();
      for (unsigned r = 0; r < options.requests; ++r) {
        const std::string path = target(random);
        const auto start = Clock::now();
        const httplib::Result result = client.Get(path.c_str());
        per_client[c].push_back(std::chrono::duration<double>(Clock::now() - start).count());
        if (!result || result->status != 200) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<double> all;
  for (const std::vector<double>& latencies : per_client) all.insert(all.end(), latencies.begin(), latencies.end());
  return all;
}

template <typename Call>
std::vector<double> call_latencies(unsigned count, Call&& call) {
  std::vector<double> latencies;
  std::mt19937 random(99);
  for (unsigned i = 0; i < count; ++i) {
    const auto start = Clock::now();
    call(random);
    latencies.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return latencies;
}

void report(const char* what, const std::vector<double>& baseline, const std::vector<double>& served) {
  const double base50 = percentile_ms(baseline, 0.5), base95 = percentile_ms(baseline, 0.95);
  const double http50 = percentile_ms(served, 0.5), http95 = percentile_ms(served, 0.95);
  fmt::print("{}\n", what);
  fmt::print("  {:<40} p50 {:7.3f} ms  p95 {:7.3f} ms\n", "library call (baseline, one thread)", base50, base95);
  fmt::print("  {:<40} p50 {:7.3f} ms  p95 {:7.3f} ms  ({:.1f}x / {:.1f}x the call)\n", "HTTP answer under load",
             http50, http95, http50 / base50, http95 / base95);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const uint64_t value = std::stoull(argv[i + 1]);
    if (flag == "--objects")
      options.objects = value;
    else if (flag == "--measurements")
      options.measurements = value;
    else if (flag == "--epochs")
      options.epochs = value;
    else if (flag == "--clients")
      options.clients = static_cast<unsigned>(value);
    else if (flag == "--requests")
      options.requests = static_cast<unsigned>(value);
    else {
      std::fprintf(stderr, "serve_bench: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const fs::path scratch = fs::temp_directory_path() / ("lcstore-serve-bench-" + std::to_string(::getpid()));
  const auto build_start = Clock::now();
  build_store(scratch / "store.lcs", options);
  fmt::print("store: {} objects x {} measurements x 2 values x {} epochs, built and rechunked in {:.1f} s\n",
             options.objects, options.measurements, options.epochs,
             std::chrono::duration<double>(Clock::now() - build_start).count());

  lcstore::server::ServerOptions server_options;
  server_options.store = scratch / "store.lcs";
  server_options.port = 0;
  server_options.threads = options.clients + 4;
  lcstore::server::Server server(server_options);
  std::thread serving([&] { server.run(); });

  const LightCurveStore store = LightCurveStore::open(std::make_shared<lcstore::DirectoryStore>(scratch / "store.lcs"));
  std::uniform_int_distribution<uint64_t> pick(0, options.objects - 1);
  const unsigned calls = options.clients * options.requests;
  std::atomic<int> failures = 0;

  fmt::print("{} clients x {} requests each, keep-alive connections on 127.0.0.1\n", options.clients, options.requests);
  const std::vector<double> curve_calls =
      call_latencies(calls, [&](std::mt19937& random) { store.light_curve(store.objects()[pick(random)], "m00"); });
  const std::vector<double> curve_http = http_latencies(
      server.port(), options,
      [&](std::mt19937& random) { return fmt::format("/api/lightcurve/{}?measurement=m00", pick(random) + 1); },
      failures);
  report(fmt::format("one light curve, measurement m00 ({} epochs x 2 values)", options.epochs).c_str(), curve_calls,
         curve_http);

  const lcstore::lightcurve::ObjectTable& table = store.object_table();
  const std::vector<double> cone_calls = call_latencies(calls, [&](std::mt19937& random) {
    const uint64_t o = pick(random);
    store.cone(table.ra[o], table.dec[o], 300);
  });
  const std::vector<double> cone_http = http_latencies(
      server.port(), options,
      [&](std::mt19937& random) {
        const uint64_t o = pick(random);
        return fmt::format("/api/objects?ra={}&dec={}&radius=300", table.ra[o], table.dec[o]);
      },
      failures);
  report("cone search, 300\" (no feature filter: stores have no features yet)", cone_calls, cone_http);
  if (failures > 0) fmt::print("FAILED REQUESTS: {}\n", failures.load());

  server.stop();
  serving.join();
  fs::remove_all(scratch);
  return failures > 0 ? 1 : 0;
}
