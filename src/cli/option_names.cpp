#include "cli/option_names.h"

#include <string>
#include <string_view>
#include <utility>

namespace lcstore::cli {

namespace {

// Option fields of the library's option structs and the flags that set them.
constexpr std::pair<std::string_view, std::string_view> kFlags[] = {
    {"codec", "--codec"},
    {"epoch_from_name", "--epoch-from-name"},
    {"epochs", "--epochs"},
    {"force", "--force"},
    {"invalid_to_nan", "--invalid-to-nan"},
    {"match_radius_arcsec", "--match"},
    {"memory_budget", "--memory"},
    {"no_overwrite", "--no-overwrite"},
    {"object_chunk", "--object-chunk"},
    {"skip_incomplete", "--skip-incomplete"},
    {"skip_unknown_objects", "--skip-unknown-objects"},
    {"strategy", "--strategy"},
    {"threads", "-j"},
};

std::string_view flag_of(std::string_view field) {
  for (const auto& [name, flag] : kFlags)
    if (name == field) return flag;
  return {};
}

}  // namespace

Error in_cli_words(const Error& error) {
  std::string_view subject_flag = flag_of(error.subject());
  std::string subject = subject_flag.empty() ? error.subject() : std::string(subject_flag);
  // Fields are named in backquotes; a quoted word that is no field stays as it is.
  std::string reason;
  const std::string& text = error.reason();
  size_t start = 0;
  for (size_t open; (open = text.find('`', start)) != std::string::npos;) {
    const size_t close = text.find('`', open + 1);
    if (close == std::string::npos) break;
    std::string_view quoted(text.data() + open + 1, close - open - 1);
    std::string_view flag = flag_of(quoted);
    reason.append(text, start, open - start);
    if (flag.empty()) {
      reason.append(text, open, close + 1 - open);
    } else {
      reason.append(flag);
    }
    start = close + 1;
  }
  reason.append(text, start);
  return Error(error.kind(), std::move(subject), std::move(reason));
}

}  // namespace lcstore::cli
