// A recursive-descent parser of feature filters, and object selection.
#include "lcstore/lightcurve/feature_query.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <variant>

#include "lcstore/error.h"

namespace lcstore::lightcurve {

enum class Comparison { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };
enum class Logic { kAnd, kOr, kNot };

namespace {

struct Operand {
  bool is_feature = false;
  Feature feature = Feature::kNGood;
  double number = 0;
};
struct Compare {
  Operand left, right;
  Comparison comparison = Comparison::kLess;
};
struct Combine {
  Logic logic = Logic::kAnd;
  std::shared_ptr<const FeatureFilter::Node> left, right;  // right is null for not
};

}  // namespace

struct FeatureFilter::Node {
  std::variant<Compare, Combine> content;
};

namespace {

using Node = FeatureFilter::Node;

struct Token {
  std::string text;
  size_t column = 0;  // 1-based
};

std::vector<Token> tokenize(std::string_view expression) {
  std::vector<Token> tokens;
  for (size_t i = 0; i < expression.size();) {
    const char c = expression[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '+') {
      while (end < expression.size()) {
        const char next = expression[end];
        const bool exponent_sign = (next == '-' || next == '+') &&
                                   (expression[end - 1] == 'e' || expression[end - 1] == 'E') &&
                                   std::isdigit(static_cast<unsigned char>(expression[i]));
        if (!(std::isalnum(static_cast<unsigned char>(next)) || next == '_' || next == '.' || exponent_sign)) break;
        ++end;
      }
    } else if ((c == '<' || c == '>' || c == '=' || c == '!') && end < expression.size() && expression[end] == '=') {
      ++end;
    }
    tokens.push_back({std::string(expression.substr(i, end - i)), i + 1});
    i = end;
  }
  return tokens;
}

class Parser {
 public:
  Parser(std::string_view expression, std::vector<Feature>& used)
      : expression_(expression), tokens_(tokenize(expression)), used_(used) {}

  std::shared_ptr<const Node> parse() {
    if (tokens_.empty()) fail("is empty");
    std::shared_ptr<const Node> root = parse_or();
    if (position_ < tokens_.size()) fail_at(tokens_[position_], "expected and, or or the end");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw Error(ErrorKind::kInvalidArgument, fmt::format("filter \"{}\"", expression_), reason);
  }
  [[noreturn]] void fail_at(const Token& token, const std::string& expected) const {
    fail(fmt::format("unexpected \"{}\" at column {}: {}", token.text, token.column, expected));
  }
  const Token* peek() const { return position_ < tokens_.size() ? &tokens_[position_] : nullptr; }
  bool accept(std::string_view text) {
    if (peek() && peek()->text == text) {
      ++position_;
      return true;
    }
    return false;
  }
  const Token& next(const std::string& expected) {
    if (!peek()) fail("ends early: " + expected);
    return tokens_[position_++];
  }

  std::shared_ptr<const Node> parse_or() {
    std::shared_ptr<const Node> left = parse_and();
    while (accept("or")) left = std::make_shared<const Node>(Node{Combine{Logic::kOr, left, parse_and()}});
    return left;
  }
  std::shared_ptr<const Node> parse_and() {
    std::shared_ptr<const Node> left = parse_not();
    while (accept("and")) left = std::make_shared<const Node>(Node{Combine{Logic::kAnd, left, parse_not()}});
    return left;
  }
  std::shared_ptr<const Node> parse_not() {
    if (accept("not")) return std::make_shared<const Node>(Node{Combine{Logic::kNot, parse_not(), nullptr}});
    if (accept("(")) {
      std::shared_ptr<const Node> inner = parse_or();
      const Token& close = next("expected )");
      if (close.text != ")") fail_at(close, "expected )");
      return inner;
    }
    Compare compare;
    compare.left = parse_operand();
    const Token& op = next("expected a comparison");
    static const std::vector<std::pair<std::string, Comparison>> kComparisons = {
        {"<", Comparison::kLess},          {"<=", Comparison::kLessEqual}, {">", Comparison::kGreater},
        {">=", Comparison::kGreaterEqual}, {"==", Comparison::kEqual},     {"!=", Comparison::kNotEqual}};
    auto found =
        std::find_if(kComparisons.begin(), kComparisons.end(), [&](const auto& c) { return c.first == op.text; });
    if (found == kComparisons.end()) fail_at(op, "expected <, <=, >, >=, == or !=");
    compare.comparison = found->second;
    compare.right = parse_operand();
    return std::make_shared<const Node>(Node{compare});
  }
  Operand parse_operand() {
    const Token& token = next("expected a feature name or a number");
    Operand operand;
    const char* begin = token.text.data();
    const char* end = begin + token.text.size();
    const char* start = *begin == '+' ? begin + 1 : begin;
    const auto [stop, error] = std::from_chars(start, end, operand.number);
    if (error == std::errc() && stop == end) return operand;
    const std::vector<std::string>& names = feature_names();
    auto name = std::find(names.begin(), names.end(), token.text);
    if (name == names.end()) {
      fail_at(token, fmt::format("expected a number or one of the features {}", fmt::join(names, ", ")));
    }
    operand.is_feature = true;
    operand.feature = static_cast<Feature>(name - names.begin());
    if (std::find(used_.begin(), used_.end(), operand.feature) == used_.end()) used_.push_back(operand.feature);
    return operand;
  }

  std::string_view expression_;
  std::vector<Token> tokens_;
  size_t position_ = 0;
  std::vector<Feature>& used_;
};

bool evaluate(const Node& node, std::span<const double> features) {
  if (const auto* compare = std::get_if<Compare>(&node.content)) {
    auto value = [&](const Operand& operand) {
      return operand.is_feature ? features[static_cast<size_t>(operand.feature)] : operand.number;
    };
    const double left = value(compare->left), right = value(compare->right);
    switch (compare->comparison) {
      case Comparison::kLess:
        return left < right;
      case Comparison::kLessEqual:
        return left <= right;
      case Comparison::kGreater:
        return left > right;
      case Comparison::kGreaterEqual:
        return left >= right;
      case Comparison::kEqual:
        return left == right;
      case Comparison::kNotEqual:
        return !std::isnan(left) && !std::isnan(right) && left != right;
    }
  }
  const auto& combine = std::get<Combine>(node.content);
  switch (combine.logic) {
    case Logic::kAnd:
      return evaluate(*combine.left, features) && evaluate(*combine.right, features);
    case Logic::kOr:
      return evaluate(*combine.left, features) || evaluate(*combine.right, features);
    case Logic::kNot:
      return !evaluate(*combine.left, features);
  }
  return false;
}

}  // namespace

FeatureFilter FeatureFilter::parse(std::string_view expression) {
  FeatureFilter filter;
  filter.root_ = Parser(expression, filter.used_).parse();
  return filter;
}

bool FeatureFilter::matches(std::span<const double> features) const { return evaluate(*root_, features); }

FeatureOrder FeatureOrder::parse(std::string_view text) {
  const bool descending = text.starts_with('-');
  if (descending || text.starts_with('+')) text.remove_prefix(1);
  return {feature_named(std::string(text)), descending};
}

std::vector<uint64_t> select_objects(std::span<const double> features, const std::vector<uint64_t>& candidates,
                                     const FeatureFilter* filter, const FeatureOrder* order, uint64_t limit) {
  auto row = [&](uint64_t object) { return features.subspan(object * kFeatureCount, kFeatureCount); };
  std::vector<uint64_t> selected;
  for (uint64_t object : candidates) {
    if (!filter || filter->matches(row(object))) selected.push_back(object);
  }
  if (order) {
    const size_t column = static_cast<size_t>(order->feature);
    std::stable_sort(selected.begin(), selected.end(), [&](uint64_t a, uint64_t b) {
      const double x = row(a)[column], y = row(b)[column];
      if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
      return order->descending ? x > y : x < y;
    });
  }
  if (limit > 0 && selected.size() > limit) selected.resize(limit);
  return selected;
}

}  // namespace lcstore::lightcurve
