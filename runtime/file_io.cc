// Crash-safe file writing for models, checkpoints and reports.
#include "runtime/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>

namespace preflight {
namespace {

// Removes the temporary files of earlier writes of `path` whose writer died (SIGKILL, power loss
// after a reboot): a writer holds an exclusive flock on its temporary file until it is renamed,
// and the kernel drops the lock with the process, so a file that can be locked is nobody's.
void remove_dead_temporaries(const char* folder, const char* path) {
  const char* slash = std::strrchr(path, '/');
  const char* base = slash ? slash + 1 : path;
  char prefix[4096];
  if (std::snprintf(prefix, sizeof prefix, "%s.tmp.", base) >= static_cast<int>(sizeof prefix)) return;
  const size_t prefix_length = std::strlen(prefix);
  DIR* dir = ::opendir(folder);
  if (!dir) return;
  while (const dirent* entry = ::readdir(dir)) {
    if (std::strncmp(entry->d_name, prefix, prefix_length) != 0) continue;
    char stale[4096];
    if (std::snprintf(stale, sizeof stale, "%s/%s", folder, entry->d_name) >= static_cast<int>(sizeof stale)) continue;
    const int fd = ::open(stale, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(stale);  // its writer is gone
    ::close(fd);
  }
  ::closedir(dir);
}

}  // namespace

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
  ::flock(fd, LOCK_EX);  // held until close: marks the file as a live write (remove_dead_temporaries)
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
  // Renamed while still open and locked: another writer's clean-up never takes it for a dead one.
  // The bytes are on disk already (fsync), so the rename publishes a complete file.
  if (::rename(temp, path) != 0) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp);
    return Status::error(Error::kIoError, "%s: rename failed: %s", path, std::strerror(error));
  }
  ::close(fd);
  const int dir = ::open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // best effort: some file systems refuse fsync on a folder
    ::close(dir);
  }
  remove_dead_temporaries(folder, path);
  return Status::ok();
}

}  // namespace preflight
