// The fuzz harnesses as functions, so that the fuzzers (fuzzer_main.cpp) and
// the regression test (tests/fuzz_regression_test.cpp) run the same code.
// Each takes one input; a parser may refuse it only with an lcstore::Error,
// which the harness swallows. Anything else (another exception, a crash, a
// broken invariant, which aborts) is a finding.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace lcstore::fuzz {

using Input = std::span<const uint8_t>;

// zarr.json of an array or a group: parsed, validated, written back and
// parsed again to the same metadata.
void metadata(Input input);
// A zarr.json, a NUL byte, then the bytes of the array's first chunk: the
// array is opened on a memory store and read whole and in part, through
// whatever codecs (sharding and its index included) the metadata names.
void chunk(Input input);
// A catalog file of any format (the corpus decides which reader it reaches):
// read, then populated into a small light-curve store. A populate that fails
// must leave the store byte-identical.
void catalog(Input input);
// An epoch file (one key per line, or a CSV table of epochs and variables).
void epoch_file(Input input);
// A store's populate journal (.lcstore/journal.json): read, queried, then
// changed as a populate changes it.
void journal(Input input);

// The harness of that name ("metadata", ...), or nullptr.
void (*harness_named(std::string_view name))(Input);

}  // namespace lcstore::fuzz
