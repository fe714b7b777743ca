// Internals of the field simulator shared by its source files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "lcstore/simulate/field.h"

namespace lcstore::simulate::detail {

// Half-width in pixels of the box a star is rendered in: 3 FWHM, where a
// Gaussian PSF has fallen to 2e-11 of its peak, far below any noise.
uint32_t psf_half_width(const FieldOptions& options);

// Noise streams of the random generator (random.h), one per image, so an
// image's noise does not depend on which thread renders it or in what order.
// Streams 0 and 1 draw the epochs and the stars.
inline constexpr uint64_t kCoaddNoiseStream = 2;
inline uint64_t epoch_noise_stream(size_t epoch) { return 3 + epoch; }

// One image, row-major from pixel (1, 1): every star with `star_counts[i]`
// counts, on the sky, with noise of variance (background_rms^2 + counts /
// gain) * variance_scale per pixel.
std::vector<float> render_image(const Field& field, const std::vector<double>& star_counts, double variance_scale,
                                uint64_t noise_stream);

// truth.json and epochs.csv (truth.cpp).
void write_truth(const Field& field, const std::filesystem::path& path);
void write_epochs_csv(const Field& field, const std::filesystem::path& path);

}  // namespace lcstore::simulate::detail
