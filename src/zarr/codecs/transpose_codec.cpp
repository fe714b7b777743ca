// The "transpose" codec (zarr-specs v3 codecs/transpose): the encoded array is
// numpy.transpose(decoded, order), i.e. encoded axis i is decoded axis order[i].
#include <fmt/format.h>

#include <cstring>
#include <numeric>

#include "lcstore/error.h"
#include "zarr/codec.h"
#include "zarr/codecs/configuration.h"

namespace lcstore::zarr {
namespace {

using Permutation = std::vector<size_t>;

// Calls copy(target, source) for every element of the permuted array in C
// order, where `step[i]` is the source stride of target axis i.
template <typename Copy>
void for_each_permuted(const Shape& target_shape, const std::vector<uint64_t>& step, Copy copy) {
  const uint64_t total = element_count(target_shape);
  if (total == 0) return;
  const size_t rank = target_shape.size();
  if (rank == 0) {
    copy(0, 0);
    return;
  }
  const uint64_t run = target_shape[rank - 1];
  const uint64_t run_step = step[rank - 1];
  std::vector<uint64_t> index(rank, 0);
  uint64_t source = 0;
  for (uint64_t target = 0; target < total;) {
    for (uint64_t k = 0, s = source; k < run; ++k, s += run_step) copy(target++, s);
    for (size_t d = rank - 1; d-- > 0;) {
      source += step[d];
      if (++index[d] < target_shape[d]) break;
      source -= step[d] * target_shape[d];
      index[d] = 0;
    }
  }
}

template <size_t kWidth>
void permute_fixed(const Chunk& source, Chunk& target, const std::vector<uint64_t>& step) {
  const std::byte* from = source.data.data();
  std::byte* to = target.data.data();
  for_each_permuted(target.shape, step,
                    [&](uint64_t t, uint64_t s) { std::memcpy(to + t * kWidth, from + s * kWidth, kWidth); });
}

// numpy.transpose(source, order).
Chunk permute(const Chunk& source, const Permutation& order) {
  const size_t rank = order.size();
  Shape shape(rank);
  std::vector<uint64_t> source_stride(rank, 1), step(rank);
  for (size_t d = rank; d-- > 1;) source_stride[d - 1] = source_stride[d] * source.shape[d];
  for (size_t i = 0; i < rank; ++i) {
    shape[i] = source.shape[order[i]];
    step[i] = source_stride[order[i]];
  }
  Chunk target = Chunk::sized(source.data_type, std::move(shape));
  switch (item_size(source.data_type)) {
    case 0:
      for_each_permuted(target.shape, step, [&](uint64_t t, uint64_t s) { target.strings[t] = source.strings[s]; });
      break;
    case 1:
      permute_fixed<1>(source, target, step);
      break;
    case 2:
      permute_fixed<2>(source, target, step);
      break;
    case 4:
      permute_fixed<4>(source, target, step);
      break;
    case 8:
      permute_fixed<8>(source, target, step);
      break;
    default:
      throw std::logic_error("transpose: unexpected element size");
  }
  return target;
}

class TransposeCodec final : public ArrayToArrayCodec {
 public:
  explicit TransposeCodec(Permutation order) : order_(std::move(order)), inverse_(order_.size()) {
    for (size_t i = 0; i < order_.size(); ++i) inverse_[order_[i]] = i;
  }

  ChunkSpec encoded_spec(const ChunkSpec& decoded) const override {
    ChunkSpec encoded = decoded;
    for (size_t i = 0; i < order_.size(); ++i) encoded.shape[i] = decoded.shape[order_[i]];
    return encoded;
  }

  Chunk encode(const Chunk& decoded) const override { return permute(decoded, order_); }
  Chunk decode(const Chunk& encoded, const ChunkSpec&) const override { return permute(encoded, inverse_); }

  nlohmann::json to_json() const override { return {{"name", "transpose"}, {"configuration", {{"order", order_}}}}; }

 private:
  Permutation order_;
  Permutation inverse_;
};

}  // namespace

std::shared_ptr<const ArrayToArrayCodec> codecs::make_transpose(const nlohmann::json& configuration,
                                                                const ChunkSpec& decoded, const std::string& subject) {
  Configuration config(configuration, "transpose", subject, {"order"});
  const nlohmann::json& value = config.required("order");
  const size_t rank = decoded.shape.size();
  Permutation order;
  std::vector<bool> seen(rank, false);
  if (value.is_array() && value.size() == rank) {
    for (const nlohmann::json& item : value) {
      const std::optional<uint64_t> axis = codecs::non_negative_integer(item);
      if (!axis || *axis >= rank || seen[*axis]) break;
      order.push_back(*axis);
      seen[*axis] = true;
    }
  }
  if (!value.is_array() || order.size() != rank) {
    throw config.error(fmt::format("\"order\" must list each of the {} axes once, got {}", rank, value.dump()));
  }
  return std::make_shared<TransposeCodec>(std::move(order));
}

}  // namespace lcstore::zarr
