// Helpers shared by the lcstore unit tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/storage/memory_store.h"
#include "lcstore/storage/store.h"
#include "lcstore/zarr/selection.h"

namespace lcstore::testing {

// A fresh, empty directory under the system temporary directory, removed
// (with everything in it) when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    static std::atomic<uint64_t> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "lcstore-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    if (info != nullptr) name += std::string("-") + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The two Store implementations, for tests that run on both.
enum class StoreKind { kMemory, kDirectory };

inline const char* name_of(StoreKind kind) { return kind == StoreKind::kMemory ? "Memory" : "Directory"; }

// A new, empty store of either kind; a directory store lives in its own
// temporary directory, removed with this object.
class ScratchStore {
 public:
  explicit ScratchStore(StoreKind kind) {
    if (kind == StoreKind::kMemory) {
      store_ = std::make_shared<MemoryStore>();
    } else {
      directory_ = std::make_unique<TempDir>();
      store_ = std::make_shared<DirectoryStore>(directory_->path());
    }
  }

  const std::shared_ptr<Store>& store() const { return store_; }
  // The root of a directory store; nullptr for a memory store.
  const std::filesystem::path* directory() const { return directory_ ? &directory_->path() : nullptr; }

 private:
  std::unique_ptr<TempDir> directory_;  // declared first: outlives the store
  std::shared_ptr<Store> store_;
};

inline Bytes to_bytes(std::string_view text) {
  const auto* begin = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(begin, begin + text.size());
}

inline std::string to_text(const Bytes& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// --- Selections ----------------------------------------------------------

// Calls visit(index of the cell in the C-order array of `shape`, position of
// the cell in the selection's C-order block) for every selected cell.
template <typename Visit>
void for_each_selected(const zarr::Shape& shape, const zarr::Selection& selection, Visit&& visit) {
  const zarr::Shape counts = zarr::selection_shape(selection);
  const uint64_t total = zarr::element_count(counts);
  std::vector<uint64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  std::vector<uint64_t> index(shape.size(), 0);
  for (uint64_t position = 0; position < total; ++position) {
    uint64_t flat = 0;
    for (size_t d = 0; d < shape.size(); ++d) flat += selection[d][index[d]] * strides[d];
    visit(flat, position);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < counts[d]) break;
      index[d] = 0;
    }
  }
}

// The selected cells of `all` (a C-order array of `shape`).
template <typename T>
std::vector<T> select_cells(const std::vector<T>& all, const zarr::Shape& shape, const zarr::Selection& selection) {
  std::vector<T> out(zarr::element_count(zarr::selection_shape(selection)));
  for_each_selected(shape, selection, [&](uint64_t flat, uint64_t position) { out[position] = all[flat]; });
  return out;
}

// A box in the middle of an array of `shape`.
inline zarr::Selection box_selection(const zarr::Shape& shape) {
  zarr::Selection selection;
  for (uint64_t extent : shape) selection.push_back(zarr::DimSelection::range(extent / 4, extent - extent / 4));
  return selection;
}

// Unsorted index lists with repeats (dimensions 0, 2, ...) alternating with
// ranges (dimensions 1, 3, ...).
inline zarr::Selection mixed_read_selection(const zarr::Shape& shape) {
  zarr::Selection selection;
  for (size_t d = 0; d < shape.size(); ++d) {
    const uint64_t e = shape[d];
    if (d % 2 == 0)
      selection.push_back(zarr::DimSelection::indices({e - 1, 0, e / 2, e / 2, e / 3, e - 1}));
    else
      selection.push_back(zarr::DimSelection::range(e / 3, e));
  }
  return selection;
}

// --- Errors ----------------------------------------------------------------

// Succeeds when `action` throws lcstore::Error of `kind`; the error is passed
// to `check` (if given) for further expectations on its message.
template <typename Action, typename Check>
::testing::AssertionResult ThrowsError(ErrorKind kind, Action&& action, Check&& check) {
  try {
    std::forward<Action>(action)();
  } catch (const Error& error) {
    if (error.kind() != kind) {
      return ::testing::AssertionFailure() << "threw lcstore::Error of kind \"" << to_string(error.kind())
                                           << "\" instead of \"" << to_string(kind) << "\": " << error.what();
    }
    std::forward<Check>(check)(error);
    return ::testing::AssertionSuccess();
  } catch (const std::exception& other) {
    return ::testing::AssertionFailure() << "threw a non-lcstore exception: " << other.what();
  }
  return ::testing::AssertionFailure() << "did not throw (expected lcstore::Error \"" << to_string(kind) << "\")";
}

template <typename Action>
::testing::AssertionResult ThrowsError(ErrorKind kind, Action&& action) {
  return ThrowsError(kind, std::forward<Action>(action), [](const Error&) {});
}

// The outcome of a command run through the shell.
struct CommandResult {
  int exit_code = -1;  // the exit status, or 128 + the signal that ended it
  std::string out;     // everything it wrote to stdout
  std::string err;     // everything it wrote to stderr
};

// `word` quoted for /bin/sh.
inline std::string shell_quote(std::string_view word) {
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

// Runs the program argv[0] (looked up in PATH) with arguments argv[1...],
// each passed as one word, and captures its stdout (through popen) and
// stderr (through a temporary file).
inline CommandResult run_command(const std::vector<std::string>& argv) {
  std::string err_path = (std::filesystem::temp_directory_path() / "lcstore-test-stderr-XXXXXX").string();
  const int err_fd = ::mkstemp(err_path.data());
  if (err_fd < 0) throw std::runtime_error("cannot create a temporary file for stderr");
  ::close(err_fd);
  std::string command;
  for (const std::string& word : argv) command += shell_quote(word) + " ";
  command += "2>" + shell_quote(err_path) + " </dev/null";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed for: " + command);
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.err = read_file(err_path);
  std::filesystem::remove(err_path);
  return result;
}

#ifdef LCSTORE_CLI
// Runs the lcstore program built with the tests.
inline CommandResult lcstore(std::vector<std::string> args) {
  args.insert(args.begin(), LCSTORE_CLI);
  return run_command(args);
}
#endif

// Prints a command's outcome in assertion messages.
inline std::ostream& operator<<(std::ostream& out, const CommandResult& result) {
  constexpr size_t kShown = 2000;
  auto shorten = [](const std::string& text) {
    return text.size() <= kShown ? text : text.substr(0, kShown) + "... (" + std::to_string(text.size()) + " bytes)";
  };
  return out << "exit code " << result.exit_code << "\n--- stderr ---\n"
             << shorten(result.err) << "\n--- stdout ---\n"
             << shorten(result.out);
}

}  // namespace lcstore::testing

// EXPECT_LCSTORE_ERROR(statement, kLike): `statement` throws lcstore::Error of
// ErrorKind::kLike.
#define EXPECT_LCSTORE_ERROR(statement, kind) \
  EXPECT_TRUE(::lcstore::testing::ThrowsError(::lcstore::ErrorKind::kind, [&] { (void)(statement); }))
