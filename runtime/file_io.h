// Reading the user's files within a byte budget, and crash-safe writing: what the model, data,
// checkpoint and ONNX readers and the model, checkpoint and report writers use. Host-side (the
// embedded profile has no file system).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/status.h"

namespace preflight {

// Writes `size` bytes to `path` crash-safely: a temporary file in the same folder, fsync, rename
// over `path`, fsync the folder. On any failure the old file is untouched and the temporary file
// is removed; the message names the path and the step that failed. A write that completes also
// removes the temporary files of earlier writes of `path` whose process died (it holds a flock on
// its own until the rename, so a live writer's file is never touched).
//
// The target: a regular file (replaced, keeping its permission bits) or a new file (0666 less the
// umask) in an existing folder. A symlink is followed to the file it names, which is replaced and
// the link kept; a dangling link, a folder, a FIFO, a device or a socket is refused
// (docs/reliability.md).
Status write_file_atomic(const char* path, const uint8_t* data, size_t size);

// The byte budget of every reader of a file the user names (a data set, an .npy input, an .npz
// member, a gzip stream as it inflates, an ONNX file and its external data, a checkpoint): at most
// this many bytes are read or inflated from one file. Default kDefaultInputBudget (1 GiB); the
// command line's --max-input-mb sets it for the process.
constexpr uint64_t kDefaultInputBudget = uint64_t{1} << 30;
uint64_t input_budget();
void set_input_budget(uint64_t bytes);
// The refusal of a file over the budget: "PATH: WHAT is above the input limit of N MiB (raise it
// with --max-input-mb)", code kResourceLimit.
Status over_input_budget(const char* path, const char* what);

// Opens `path` to read. A FIFO is opened without blocking and, like a folder, a device or a
// socket, refused (kInvalidArgument, naming what it is): only a regular file is read. On success
// returns the descriptor (the caller closes it) and sets *size.
Result<int> open_regular_file(const char* path, uint64_t* size);

// Text from a file made safe to print on a terminal: every byte below 0x20, 0x7f, every byte
// that is not part of valid UTF-8, and the UTF-8 C1 controls (U+0080 to U+009F) become \xHH: no
// file can move the cursor, retitle the window or recolour the terminal. What the command line
// prints from a file (errors, names, descriptions) goes through it.
std::string printable(const char* text, size_t length);
inline std::string printable(const std::string& text) { return printable(text.data(), text.size()); }
inline std::string printable(const char* text) { return printable(text, text ? std::strlen(text) : 0); }

// Opens `relative` (no "..", not absolute) inside the folder `folder`, one component at a time
// with O_NOFOLLOW: a symlink on the way or at the end is refused, and so is anything but a regular
// file at the end; what is opened is always inside the folder (ONNX external data). Returns the
// descriptor and sets *size, as open_regular_file.
Result<int> open_in_folder(const std::string& folder, const std::string& relative, uint64_t* size);

// Reads what `fd` holds into data[0, capacity), to its end or to capacity: the bytes read. Closes
// nothing.
Result<size_t> read_fully(int fd, const char* path, uint8_t* data, size_t capacity);

// All of a regular file (open_regular_file) of at most `max_bytes` (the input budget by default),
// into a byte container (std::vector<uint8_t>, Bytes).
Status check_file_size(const char* path, uint64_t size, uint64_t max_bytes);
void close_file(int fd);
template <typename Container>
Status read_regular_file(const char* path, Container* out, uint64_t max_bytes = input_budget()) {
  uint64_t size = 0;
  Result<int> opened = open_regular_file(path, &size);
  if (!opened.is_ok()) return opened.status();
  Status status = check_file_size(path, size, max_bytes);
  if (status.is_ok()) {
    out->resize(static_cast<size_t>(size));
    Result<size_t> got = read_fully(*opened, path, out->empty() ? nullptr : reinterpret_cast<uint8_t*>(&(*out)[0]),
                                      out->size());
    if (got.is_ok()) out->resize(*got);  // a file that shrank while it was read
    else status = got.status();
  }
  close_file(*opened);
  return status;
}

// Whether two paths are the same file (device and inode; for a path that does not exist yet, its
// folder's and its name). The command line refuses an output that is one of its inputs or another
// output.
bool same_file(const char* a, const char* b);

}  // namespace preflight
