// The CLI's words for the library's option fields.
#include "cli/option_names.h"

#include <gtest/gtest.h>

namespace lcstore::cli {
namespace {

TEST(InCliWords, SubjectsThatAreOptionFieldsBecomeFlags) {
  const Error error = in_cli_words(Error(ErrorKind::kInvalidArgument, "object_chunk", "must be positive"));
  EXPECT_EQ(error.kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(error.subject(), "--object-chunk");
  EXPECT_EQ(error.reason(), "must be positive");
  EXPECT_EQ(in_cli_words(Error(ErrorKind::kIo, "/data/a.zarr", "x")).subject(), "/data/a.zarr");
}

TEST(InCliWords, FieldsNamedInTheReasonBecomeFlags) {
  const Error error = in_cli_words(Error(ErrorKind::kInvalidArgument, "memory_budget",
                                         "lower `object_chunk` or `threads`, or raise `memory_budget`"));
  EXPECT_EQ(error.subject(), "--memory");
  EXPECT_EQ(error.reason(), "lower --object-chunk or -j, or raise --memory");
  EXPECT_EQ(in_cli_words(Error(ErrorKind::kBadInput, "c.cat", "set `skip_unknown_objects` to ignore them")).reason(),
            "set --skip-unknown-objects to ignore them");
}

TEST(InCliWords, OtherQuotedWordsAndLoneQuotesStay) {
  EXPECT_EQ(in_cli_words(Error(ErrorKind::kBadInput, "s", "column `MAG_AUTO` and `x")).reason(),
            "column `MAG_AUTO` and `x");
}

}  // namespace
}  // namespace lcstore::cli
