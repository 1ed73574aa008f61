// Images for the report's evidence: grids of tiles (samples, first-layer filters) with a caption
// under each, encoded as PNG by stb_image_write (Debian's libstb-dev). Host-side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace preflight {

struct Image {
  int width = 0, height = 0, channels = 1;  // 1 (gray) or 3 (RGB), 8 bits each
  std::vector<uint8_t> pixels;              // row-major, interleaved
};

// One tile: float values [height, width, channels] (channels 1 or 3), and a caption drawn under it.
struct Tile {
  int64_t height = 0, width = 0, channels = 1;
  std::vector<float> values;
  std::string caption;  // digits, '-', '.', '+', 'e' and spaces (a 3x5 pixel font)
};

struct GridOptions {
  int columns = 8;
  int min_tile_pixels = 48;  // small tiles are scaled up by a whole factor to at least this
  bool per_tile_range = false;  // scale each tile to its own min..max (filters), else one range (inputs)
};

// Lays tiles out in a grid on a white background; values map linearly to 0..255.
Image tile_grid(const std::vector<Tile>& tiles, const GridOptions& options);

// Draws `text` in black at (x, y), each font pixel `scale` pixels wide.
void draw_text(Image* image, int x, int y, const std::string& text, int scale);

// PNG bytes of `image`; fails on an empty image.
Result<std::vector<uint8_t>> encode_png(const Image& image);

// Writes `image` as a PNG file (crash-safe: temporary file, fsync, rename).
Status write_png(const std::string& path, const Image& image);

}  // namespace preflight
