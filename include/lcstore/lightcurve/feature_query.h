// Selecting and ordering objects by their stored features.
//
//   FeatureFilter filter = FeatureFilter::parse("chi2_reduced > 5 and n_good >= 20");
//   filter.matches(row)   // row: kFeatureCount values in Feature order
//
// The expression language: comparisons `<`, `<=`, `>`, `>=`, `==`, `!=`
// between feature names and numbers, combined with `and`, `or`, `not` and
// parentheses (`not` binds tightest, then `and`, then `or`). A comparison
// with a NaN feature is false, as in IEEE arithmetic. Hand-written: the
// grammar is a dozen lines, and Debian's expression libraries (muparser,
// exprtk) know neither `and`/`or` words nor NaN-false comparisons.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lcstore/lightcurve/features.h"

namespace lcstore::lightcurve {

class FeatureFilter {
 public:
  // Throws Error(kInvalidArgument) naming the offending word and its column.
  static FeatureFilter parse(std::string_view expression);
  bool matches(std::span<const double> features) const;
  // The features the expression names, in order of first use.
  const std::vector<Feature>& features_used() const { return used_; }

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::vector<Feature> used_;
};

// "-stetson_j" (descending) or "period" (ascending); NaN sorts last either way.
struct FeatureOrder {
  Feature feature;
  bool descending = false;
  static FeatureOrder parse(std::string_view text);
};

// Rows (indices into `features`, n x kFeatureCount values) in `candidates`
// that match `filter` (all if null), ordered by `order` (candidates' order
// if null; a stable sort), at most `limit` of them (0: no limit).
std::vector<uint64_t> select_objects(std::span<const double> features, const std::vector<uint64_t>& candidates,
                                     const FeatureFilter* filter, const FeatureOrder* order, uint64_t limit);

}  // namespace lcstore::lightcurve
