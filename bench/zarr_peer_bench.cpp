// lcstore's side of bench/peers (the zarr_benchmarks workloads against
// zarr-python, zarrs and TensorStore): times writing or reading a whole array
// with THREADS threads, each taking every THREADS-th slab of whole chunks
// (shards) along the first dimension, and prints {"seconds": ...}; and the
// physical baseline: read() or write() of the same files' bytes.
//
//   zarr_peer_bench write STORE METADATA.json DATA THREADS
//       DATA: the array's cells, C order, little-endian; loaded before timing
//   zarr_peer_bench read STORE THREADS
//       also prints "byte_sum", the sum of the bytes read, to check them
//   zarr_peer_bench raw-read DIR THREADS
//       read() of every file under DIR
//   zarr_peer_bench raw-write SOURCE DESTINATION THREADS
//       write() of every file under SOURCE (loaded before timing) into
//       DESTINATION, with its directories
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/array.h"

namespace {

using lcstore::Error;
using lcstore::ErrorKind;
namespace zarr = lcstore::zarr;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kIo, path, "cannot open");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs task(selection, byte offset) for each slab of whole chunks along the
// first dimension, spread over `threads` threads; returns the seconds taken.
template <typename Task>
double time_slabs(const zarr::Array& array, unsigned threads, Task task) {
  const zarr::Shape& shape = array.shape();
  const uint64_t slab_extent = array.metadata().chunk_shape.at(0);
  const uint64_t slabs = array.chunk_grid_shape().at(0);
  const uint64_t row_bytes = zarr::element_count(shape) / shape[0] * zarr::item_size(array.data_type());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::jthread> workers;
  for (unsigned worker = 0; worker < threads; ++worker) {
    workers.emplace_back([&, worker] {
      for (uint64_t slab = worker; slab < slabs; slab += threads) {
        zarr::Selection selection = zarr::select_all(shape);
        const uint64_t first = slab * slab_extent;
        const uint64_t stop = std::min(shape[0], first + slab_extent);
        selection[0] = zarr::DimSelection::range(first, stop);
        task(selection, first * row_bytes);
      }
    });
  }
  workers.clear();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <typename Task>
double time_parallel(size_t items, unsigned threads, Task task) {
  const auto start = std::chrono::steady_clock::now();
  std::atomic<size_t> next = 0;
  std::vector<std::jthread> workers;
  for (unsigned worker = 0; worker < threads; ++worker) {
    workers.emplace_back([&] {
      for (size_t item = next++; item < items; item = next++) task(item);
    });
  }
  workers.clear();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::filesystem::path> files_under(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(std::filesystem::relative(entry.path(), root));
  }
  return files;
}

void check_io(bool ok, const std::filesystem::path& path, const char* what) {
  if (!ok) throw Error(ErrorKind::kIo, path.string(), what);
}

double raw_read(const std::filesystem::path& root, unsigned threads) {
  const auto files = files_under(root);
  return time_parallel(files.size(), threads, [&](size_t item) {
    const auto path = root / files[item];
    const int fd = ::open(path.c_str(), O_RDONLY);
    check_io(fd >= 0, path, "cannot open");
    std::vector<char> buffer(std::filesystem::file_size(path));
    size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t got = ::read(fd, buffer.data() + done, buffer.size() - done);
      check_io(got > 0, path, "read failed");
      done += static_cast<size_t>(got);
    }
    ::close(fd);
  });
}

double raw_write(const std::filesystem::path& source, const std::filesystem::path& destination, unsigned threads) {
  const auto files = files_under(source);
  std::vector<std::string> contents;
  for (const auto& file : files) {
    contents.push_back(read_file((source / file).string()));
    std::filesystem::create_directories((destination / file).parent_path());
  }
  return time_parallel(files.size(), threads, [&](size_t item) {
    const auto path = destination / files[item];
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check_io(fd >= 0, path, "cannot create");
    size_t done = 0;
    while (done < contents[item].size()) {
      const ssize_t put = ::write(fd, contents[item].data() + done, contents[item].size() - done);
      check_io(put > 0, path, "write failed");
      done += static_cast<size_t>(put);
    }
    ::close(fd);
  });
}

int run(const std::vector<std::string>& args) {
  if (args.size() == 5 && args[0] == "write") {
    auto store = std::make_shared<lcstore::DirectoryStore>(args[1]);
    auto metadata = zarr::ArrayMetadata::from_json(zarr::parse_json_document(read_file(args[2]), args[2]), args[2]);
    const std::string data = read_file(args[3]);
    auto array = zarr::Array::create(store, "", std::move(metadata));
    const double seconds =
        time_slabs(array, static_cast<unsigned>(std::stoul(args[4])), [&](const zarr::Selection& slab, uint64_t at) {
          const uint64_t bytes = zarr::element_count(zarr::selection_shape(slab)) * zarr::item_size(array.data_type());
          array.write(slab, std::as_bytes(std::span(data).subspan(at, bytes)));
        });
    fmt::print("{{\"seconds\": {}}}\n", seconds);
    return 0;
  }
  if (args.size() == 3 && args[0] == "read") {
    const auto array = zarr::Array::open(std::make_shared<lcstore::DirectoryStore>(args[1]), "");
    std::vector<std::byte> out(zarr::element_count(array.shape()) * zarr::item_size(array.data_type()));
    const double seconds =
        time_slabs(array, static_cast<unsigned>(std::stoul(args[2])), [&](const zarr::Selection& slab, uint64_t at) {
          const uint64_t bytes = zarr::element_count(zarr::selection_shape(slab)) * zarr::item_size(array.data_type());
          array.read_into(slab, std::span(out).subspan(at, bytes));
        });
    const uint64_t byte_sum = std::accumulate(out.begin(), out.end(), uint64_t{0},
                                              [](uint64_t sum, std::byte b) { return sum + static_cast<uint8_t>(b); });
    fmt::print("{{\"seconds\": {}, \"byte_sum\": {}}}\n", seconds, byte_sum);
    return 0;
  }
  if (args.size() == 3 && args[0] == "raw-read") {
    fmt::print("{{\"seconds\": {}}}\n", raw_read(args[1], static_cast<unsigned>(std::stoul(args[2]))));
    return 0;
  }
  if (args.size() == 4 && args[0] == "raw-write") {
    fmt::print("{{\"seconds\": {}}}\n", raw_write(args[1], args[2], static_cast<unsigned>(std::stoul(args[3]))));
    return 0;
  }
  std::cerr << "usage: zarr_peer_bench write STORE METADATA.json DATA THREADS\n"
               "       zarr_peer_bench read STORE THREADS\n"
               "       zarr_peer_bench raw-read DIR THREADS\n"
               "       zarr_peer_bench raw-write SOURCE DESTINATION THREADS\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& error) {
    std::cerr << "zarr_peer_bench: " << error.what() << '\n';
    return 1;
  }
}
