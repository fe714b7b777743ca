// Ctrl-C during `lcstore populate`: the catalogs in hand finish and are
// journaled, no more start, the exit status is 130, and running the same
// command again gives the store an uninterrupted run gives.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace lcstore::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kEpochs = 200;
const fs::path kField = fs::path(LCSTORE_FIXTURES) / "sextractor-field-a";

// The journal without the generations at which each populate began and
// completed: they follow the order in which the threads took the catalogs.
std::string journal_without_order(const std::string& text) {
  nlohmann::json journal = nlohmann::json::parse(text);
  for (auto& [epoch, history] : journal["epochs"].items()) {
    for (nlohmann::json& record : history) {
      record.erase("began");
      record.erase("completed");
    }
  }
  return journal.dump(1);
}

// Every file of a store with its content, lock files left out (they are
// created on first use and hold nothing).
std::map<std::string, std::string> store_files(const fs::path& store) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(store)) {
    if (!entry.is_regular_file() || entry.path().filename() == ".lcstore.lock") continue;
    const std::string name = entry.path().lexically_relative(store).generic_string();
    const std::string content = read_file(entry.path());
    files[name] = name == ".lcstore/journal.json" ? journal_without_order(content) : content;
  }
  return files;
}

// A store of kEpochs epochs and one catalog file per epoch (links to the
// fixture's four epochs in turn), so a populate of all of them takes a while.
struct Field {
  TempDir directory;
  std::vector<std::string> catalogs;

  Field() {
    std::vector<std::string> keys;
    for (int e = 0; e < kEpochs; ++e) {
      keys.push_back(fmt::format("e{:03}", e));
      fs::path link = directory.path() / "catalogs" / fmt::format("epoch_{}.cat", keys.back());
      fs::create_directories(link.parent_path());
      fs::create_symlink(kField / fmt::format("epoch_00{}.fits_ldac.cat", e % 4), link);
      catalogs.push_back(link.string());
    }
    std::string epochs;
    for (const std::string& key : keys) epochs += (epochs.empty() ? "" : ",") + key;
    for (const char* name : {"interrupted", "uninterrupted"}) {
      CommandResult created = run_command({LCSTORE_CLI, "create", store(name).string(), "--objects",
                                           (kField / "coadd.fits_ldac.cat").string(), "--epochs", epochs});
      EXPECT_EQ(created.exit_code, 0) << created;
    }
  }

  fs::path store(const std::string& name) const { return directory.path() / name; }

  std::vector<std::string> populate_command(const std::string& name) const {
    std::vector<std::string> argv = {
        LCSTORE_CLI, "populate", store(name).string(), "--epoch-from-name", "epoch_(e[0-9]+)", "-j", "2"};
    argv.insert(argv.end(), catalogs.begin(), catalogs.end());
    return argv;
  }
};

// Runs `argv`, sends SIGINT once its first output line arrives, and returns
// its exit status and everything it printed.
CommandResult run_and_interrupt(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    std::vector<char*> words;
    for (const std::string& word : argv) words.push_back(const_cast<char*>(word.c_str()));
    words.push_back(nullptr);
    ::execv(words[0], words.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult result;
  char buffer[4096];
  bool signalled = false;
  for (ssize_t n; (n = ::read(out_pipe[0], buffer, sizeof buffer)) > 0;) {
    result.out.append(buffer, static_cast<size_t>(n));
    if (!signalled && result.out.find('\n') != std::string::npos) {
      ::kill(child, SIGINT);
      signalled = true;
    }
  }
  for (ssize_t n; (n = ::read(err_pipe[0], buffer, sizeof buffer)) > 0;)
    result.err.append(buffer, static_cast<size_t>(n));
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

size_t count_lines_containing(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(Interrupt, PopulateStopsCleanlyAndARerunCompletesTheSameStore) {
  Field field;
  const CommandResult interrupted = run_and_interrupt(field.populate_command("interrupted"));
  ASSERT_EQ(interrupted.exit_code, 130) << interrupted;
  EXPECT_NE(interrupted.err.find("interrupted:"), std::string::npos) << interrupted;
  EXPECT_NE(interrupted.err.find("run the same command again"), std::string::npos) << interrupted;
  const size_t written_before = count_lines_containing(interrupted.out, " values of ");
  EXPECT_GT(written_before, 0u) << interrupted;
  EXPECT_LT(written_before, static_cast<size_t>(kEpochs)) << "the signal came too late to interrupt anything";

  const CommandResult rerun = run_command(field.populate_command("interrupted"));
  ASSERT_EQ(rerun.exit_code, 0) << rerun;
  // What the interrupted run completed is journaled and skipped; the rest is written.
  EXPECT_EQ(count_lines_containing(rerun.out, "already populated"), written_before) << rerun;
  EXPECT_EQ(count_lines_containing(rerun.out, " values of "), kEpochs - written_before) << rerun;

  const CommandResult uninterrupted = run_command(field.populate_command("uninterrupted"));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted;
  const auto interrupted_files = store_files(field.store("interrupted"));
  const auto uninterrupted_files = store_files(field.store("uninterrupted"));
  ASSERT_EQ(interrupted_files.size(), uninterrupted_files.size());
  for (const auto& [name, content] : uninterrupted_files) {
    if (name == "zarr.json") continue;  // holds the creation time
    // The journal included, but for the order of the populates.
    ASSERT_TRUE(interrupted_files.contains(name)) << name;
    EXPECT_EQ(interrupted_files.at(name), content) << name << " differs";
  }
}

}  // namespace
}  // namespace lcstore::testing
