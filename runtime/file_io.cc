// Crash-safe file writing for models, checkpoints and reports.
#include "runtime/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>

namespace preflight {

Status write_file_atomic(const char* path, const uint8_t* data, size_t size) {
  // The temporary file and the folder name live on the stack: no allocation, no exceptions.
  char temp[4096], folder[4096];
  PF_CHECK(std::snprintf(temp, sizeof temp, "%s.tmp.XXXXXX", path) < static_cast<int>(sizeof temp),
           Error::kInvalidArgument, "path is too long: %s", path);
  std::snprintf(folder, sizeof folder, "%s", path);
  char* slash = std::strrchr(folder, '/');
  if (!slash) std::snprintf(folder, sizeof folder, ".");
  else if (slash == folder) slash[1] = '\0';
  else *slash = '\0';
  const int fd = ::mkstemp(temp);
  PF_CHECK(fd >= 0, Error::kIoError, "%s: cannot create a temporary file in %s: %s", path, folder,
           std::strerror(errno));
  auto fail = [&](const char* what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp);
    return Status::error(Error::kIoError, "%s: %s failed: %s (the old file, if any, is unchanged)", path,
                         what, std::strerror(error));
  };
  size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) return fail("chmod");
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp);
    return Status::error(Error::kIoError, "%s: close failed: %s", path, std::strerror(error));
  }
  if (::rename(temp, path) != 0) {
    const int error = errno;
    ::unlink(temp);
    return Status::error(Error::kIoError, "%s: rename failed: %s", path, std::strerror(error));
  }
  const int dir = ::open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // best effort: some file systems refuse fsync on a folder
    ::close(dir);
  }
  return Status::ok();
}

}  // namespace preflight
