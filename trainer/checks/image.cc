#include "trainer/checks/image.h"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "runtime/file_io.h"

namespace preflight {
namespace {

constexpr int kGlyphWidth = 3, kGlyphHeight = 5;

// 3x5 glyphs, one row of 3 bits per entry (bit 2 = left column).
const uint8_t* glyph(char c) {
  static const uint8_t digits[10][kGlyphHeight] = {
      {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
      {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
  static const uint8_t minus[kGlyphHeight] = {0, 0, 7, 0, 0};
  static const uint8_t plus[kGlyphHeight] = {0, 2, 7, 2, 0};
  static const uint8_t dot[kGlyphHeight] = {0, 0, 0, 0, 2};
  static const uint8_t e[kGlyphHeight] = {0, 7, 7, 4, 7};
  if (c >= '0' && c <= '9') return digits[c - '0'];
  if (c == '-') return minus;
  if (c == '+') return plus;
  if (c == '.') return dot;
  if (c == 'e') return e;
  return nullptr;  // a space, or a character the font lacks
}

void write_to_vector(void* context, void* data, int size) {
  auto* bytes = static_cast<std::vector<uint8_t>*>(context);
  bytes->insert(bytes->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

}  // namespace

void draw_text(Image* image, int x, int y, const std::string& text, int scale) {
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t* rows = glyph(text[i]);
    if (!rows) continue;
    const int left = x + static_cast<int>(i) * (kGlyphWidth + 1) * scale;
    for (int gy = 0; gy < kGlyphHeight * scale; ++gy) {
      for (int gx = 0; gx < kGlyphWidth * scale; ++gx) {
        if (!((rows[gy / scale] >> (kGlyphWidth - 1 - gx / scale)) & 1)) continue;
        const int px = left + gx, py = y + gy;
        if (px < 0 || py < 0 || px >= image->width || py >= image->height) continue;
        for (int c = 0; c < image->channels; ++c) {
          image->pixels[static_cast<size_t>((py * image->width + px) * image->channels + c)] = 0;
        }
      }
    }
  }
}

Image tile_grid(const std::vector<Tile>& tiles, const GridOptions& options) {
  Image image;
  if (tiles.empty()) return image;
  int64_t tile_h = 0, tile_w = 0;
  image.channels = 1;
  for (const Tile& tile : tiles) {
    tile_h = std::max(tile_h, tile.height);
    tile_w = std::max(tile_w, tile.width);
    if (tile.channels == 3) image.channels = 3;
  }
  const int factor = static_cast<int>(std::max<int64_t>(1, (options.min_tile_pixels + std::max(tile_h, tile_w) - 1) /
                                                               std::max<int64_t>(1, std::max(tile_h, tile_w))));
  bool captions = false;
  for (const Tile& tile : tiles) captions = captions || !tile.caption.empty();
  const int text_scale = 2, gap = 6;
  const int cell_w = static_cast<int>(tile_w) * factor, cell_h = static_cast<int>(tile_h) * factor;
  const int caption_h = captions ? kGlyphHeight * text_scale + 4 : 0;
  const int columns = std::max(1, std::min(options.columns, static_cast<int>(tiles.size())));
  const int rows = static_cast<int>((tiles.size() + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns));
  image.width = columns * (cell_w + gap) + gap;
  image.height = rows * (cell_h + caption_h + gap) + gap;
  image.pixels.assign(static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * static_cast<size_t>(image.channels), 255);

  float low = INFINITY, high = -INFINITY;
  for (const Tile& tile : tiles) {
    for (float v : tile.values) {
      if (std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
    }
  }
  for (size_t t = 0; t < tiles.size(); ++t) {
    const Tile& tile = tiles[t];
    float tile_low = low, tile_high = high;
    if (options.per_tile_range) {
      tile_low = INFINITY, tile_high = -INFINITY;
      for (float v : tile.values) {
        if (std::isfinite(v)) tile_low = std::min(tile_low, v), tile_high = std::max(tile_high, v);
      }
    }
    const float span = tile_high > tile_low ? tile_high - tile_low : 1.0f;
    const int left = gap + static_cast<int>(t % static_cast<size_t>(columns)) * (cell_w + gap);
    const int top = gap + static_cast<int>(t / static_cast<size_t>(columns)) * (cell_h + caption_h + gap);
    for (int y = 0; y < tile.height * factor; ++y) {
      for (int x = 0; x < tile.width * factor; ++x) {
        for (int c = 0; c < image.channels; ++c) {
          const int64_t source_c = tile.channels == 3 ? c : 0;
          const float v = tile.values[static_cast<size_t>(((y / factor) * tile.width + x / factor) * tile.channels + source_c)];
          // Non-finite values show red (or white in gray images), so they stand out.
          const float level = std::isfinite(v) ? (v - tile_low) / span : (c == 0 ? 1.0f : 0.0f);
          image.pixels[static_cast<size_t>(((top + y) * image.width + left + x) * image.channels + c)] =
              static_cast<uint8_t>(std::lround(255.0f * std::min(1.0f, std::max(0.0f, level))));
        }
      }
    }
    if (!tile.caption.empty()) draw_text(&image, left, top + cell_h + 3, tile.caption, text_scale);
  }
  return image;
}

Result<std::vector<uint8_t>> encode_png(const Image& image) {
  PF_CHECK(image.width > 0 && image.height > 0 && (image.channels == 1 || image.channels == 3) &&
               image.pixels.size() == static_cast<size_t>(image.width) * static_cast<size_t>(image.height) *
                                          static_cast<size_t>(image.channels),
           Error::kInvalidArgument, "cannot encode an empty or inconsistent %dx%dx%d image as PNG", image.width,
           image.height, image.channels);
  std::vector<uint8_t> bytes;
  const int ok = stbi_write_png_to_func(write_to_vector, &bytes, image.width, image.height, image.channels,
                                        image.pixels.data(), image.width * image.channels);
  PF_CHECK(ok != 0, Error::kInternal, "stb_image_write could not encode a %dx%d PNG", image.width, image.height);
  return Result<std::vector<uint8_t>>(std::move(bytes));
}

Status write_png(const std::string& path, const Image& image) {
  Result<std::vector<uint8_t>> bytes = encode_png(image);
  if (!bytes.is_ok()) return bytes.status().with_context("%s: ", path.c_str());
  return write_file_atomic(path.c_str(), bytes->data(), bytes->size());
}

}  // namespace preflight
