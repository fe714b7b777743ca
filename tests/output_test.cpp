// The CLI's record output (src/cli/output.h): each format's text, escaping
// and missing values, and that records are printed as they come.
#include "cli/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace lcstore::cli {
namespace {

using ::testing::HasSubstr;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string printed(OutputFormat format, const std::vector<std::string>& columns,
                    const std::vector<std::vector<Cell>>& records) {
  std::ostringstream out;
  RecordWriter writer(out, format, columns);
  for (const std::vector<Cell>& record : records) writer.add(record);
  writer.finish();
  return out.str();
}

const std::vector<std::string> kColumns = {"object", "mag", "n", "ra"};

std::vector<std::vector<Cell>> sample() {
  return {{"1", 18.25f, 3, 265.5},
          {"a,b", 0.1f, -2, 1e20},
          {"say \"hi\"\n", kNaN, uint64_t{7}, std::numeric_limits<double>::quiet_NaN()},
          {"x", 18.0f, 0, Cell::missing()}};
}

TEST(RecordWriter, CsvQuotesWhatNeedsItAndPrintsNan) {
  EXPECT_EQ(printed(OutputFormat::kCsv, kColumns, sample()),
            "object,mag,n,ra\n"
            "1,18.25,3,265.5\n"
            "\"a,b\",0.1,-2,1e+20\n"
            "\"say \"\"hi\"\"\n\",nan,7,nan\n"
            "x,18,0,nan\n");
  EXPECT_EQ(printed(OutputFormat::kCsv, {"a,b", "c"}, {}), "\"a,b\",c\n");
}

TEST(RecordWriter, TableAlignsColumnsRight) {
  EXPECT_EQ(printed(OutputFormat::kTable, {"object", "mag"}, {{"1", 18.25f}, {"long name", kNaN}}),
            "   object    mag\n"
            "        1  18.25\n"
            "long name    nan\n");
  EXPECT_EQ(printed(OutputFormat::kTable, {"a", "b"}, {}), "a  b\n");
}

TEST(RecordWriter, JsonIsAnArrayOfObjectsWithNullForMissing) {
  const std::string text = printed(OutputFormat::kJson, kColumns, sample());
  const nlohmann::json records = nlohmann::json::parse(text);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0], nlohmann::json({{"object", "1"}, {"mag", 18.25}, {"n", 3}, {"ra", 265.5}}));
  EXPECT_EQ(records[1]["object"], "a,b");
  EXPECT_EQ(records[1]["mag"].get<double>(), 0.1);  // the float's shortest form, read as a double
  EXPECT_EQ(records[1]["ra"].get<double>(), 1e20);
  EXPECT_EQ(records[2]["object"], "say \"hi\"\n");
  EXPECT_TRUE(records[2]["mag"].is_null());
  EXPECT_TRUE(records[2]["ra"].is_null());
  EXPECT_TRUE(records[3]["ra"].is_null());
  EXPECT_TRUE(records[3]["mag"].is_number_float());
  EXPECT_THAT(text, HasSubstr("\"mag\": 18.0"));  // floats keep their decimal point
  EXPECT_THAT(text, HasSubstr("[\n {\n  \"object\": \"1\",\n  \"mag\": 18.25,"));
  EXPECT_EQ(printed(OutputFormat::kJson, kColumns, {}), "[]\n");
}

TEST(RecordWriter, JsonNeverPrintsInvalidJson) {
  const std::string text = printed(
      OutputFormat::kJson, {"s", "inf", "control"},
      {{std::string("caf\xc3\xa9 \xff"), std::numeric_limits<float>::infinity(), std::string("tab\there\x01")}});
  const nlohmann::json records = nlohmann::json::parse(text);
  EXPECT_EQ(records[0]["s"], "caf\xc3\xa9 \xef\xbf\xbd");  // the byte that is not UTF-8 replaced
  EXPECT_TRUE(records[0]["inf"].is_null());
  EXPECT_EQ(records[0]["control"], "tab\there\x01");
}

// A table sizes its columns from its first kTableWidthRows rows, printing
// the header once; a wider cell later is printed as it comes.
TEST(RecordWriter, LongTableIsSizedByItsFirstRows) {
  std::ostringstream out;
  RecordWriter writer(out, OutputFormat::kTable, {"n", "text"});
  for (size_t row = 0; row < RecordWriter::kTableWidthRows; ++row) writer.add({row % 10, "ab"});
  writer.add({1, "wider than ab"});
  writer.add({2, "cd"});
  writer.finish();
  std::istringstream lines(out.str());
  std::vector<std::string> all;
  for (std::string line; std::getline(lines, line);) all.push_back(line);
  ASSERT_EQ(all.size(), RecordWriter::kTableWidthRows + 3);
  EXPECT_EQ(all[0], "n  text");
  EXPECT_EQ(all[1], "0    ab");
  EXPECT_EQ(all[all.size() - 2], "1  wider than ab");
  EXPECT_EQ(all.back(), "2    cd");
}

// Records reach the stream before finish(): memory does not grow with them.
TEST(RecordWriter, RecordsArePrintedAsTheyCome) {
  for (OutputFormat format : {OutputFormat::kCsv, OutputFormat::kJson, OutputFormat::kTable}) {
    std::ostringstream out;
    RecordWriter writer(out, format, {"object", "epoch", "mag"});
    size_t added = 0;
    while (out.str().empty() && added < 1'000'000) {
      writer.add({"object", "epoch", 18.5f});
      ++added;
    }
    EXPECT_LT(added, 1'000'000u) << "nothing printed before finish()";
    writer.add({"last", "epoch", 18.5f});
    EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("last")));
    writer.finish();
    EXPECT_THAT(out.str(), HasSubstr("last"));
    writer.add({"after", "finish", 1.0f});
    EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("after")));
  }
}

}  // namespace
}  // namespace lcstore::cli
