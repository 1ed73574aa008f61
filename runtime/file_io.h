// Crash-safe file writing: what a model writer, a checkpoint and a report use.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/status.h"

namespace preflight {

// Writes `size` bytes to `path` crash-safely: a temporary file in the same folder, fsync, rename
// over `path`, fsync the folder. On any failure the old file is untouched and the temporary file
// is removed; the message names the path and the step that failed. A write that completes also
// removes the temporary files of earlier writes of `path` whose process died (it holds a flock on
// its own until the rename, so a live writer's file is never touched).
Status write_file_atomic(const char* path, const uint8_t* data, size_t size);

}  // namespace preflight
