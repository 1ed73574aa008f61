// Reading the user's files within a byte budget, and crash-safe writing for models, checkpoints
// and reports.
#include "runtime/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
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

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

uint64_t g_input_budget = kDefaultInputBudget;

}  // namespace

uint64_t input_budget() { return g_input_budget; }
void set_input_budget(uint64_t bytes) { g_input_budget = bytes; }

Status over_input_budget(const char* path, const char* what) {
  char limit[48];
  if (g_input_budget >= (uint64_t{1} << 20)) {
    std::snprintf(limit, sizeof limit, "%llu MiB", static_cast<unsigned long long>(g_input_budget >> 20));
  } else {
    std::snprintf(limit, sizeof limit, "%llu bytes", static_cast<unsigned long long>(g_input_budget));
  }
  return Status::error(Error::kResourceLimit, "%s: %s is above the input limit of %s (raise it with --max-input-mb)",
                       path, what, limit);
}

Result<int> open_regular_file(const char* path, uint64_t* size) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer (a hang); it changes
  // nothing for a regular file.
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  PF_CHECK(fd >= 0, errno == ENOENT || errno == ENOTDIR ? Error::kNotFound : Error::kIoError, "%s: cannot open: %s", path,
           std::strerror(errno));
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return Status::error(Error::kIoError, "%s: cannot stat: %s", path, std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::error(Error::kInvalidArgument, "%s: %s, not a regular file", path, file_kind(info.st_mode));
  }
  *size = static_cast<uint64_t>(info.st_size);
  return Result<int>(fd);
}

std::string printable(const char* text, size_t length) {
  std::string out;
  out.reserve(length);
  const auto* p = reinterpret_cast<const unsigned char*>(text);
  const auto escape = [&out](unsigned char byte) {
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02x", byte);
    out += hex;
  };
  for (size_t i = 0; i < length;) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x80) {
      escape(c);
      ++i;
    } else {
      // A UTF-8 sequence: its length from the lead byte, continuation bytes 10xxxxxx, no overlong
      // form, no surrogate, at most U+10FFFF, and not a C1 control.
      const size_t need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? (c <= 0xef ? 3 : 0) : c >= 0xc2 ? 2 : 0;
      uint32_t code = need == 2 ? c & 0x1f : need == 3 ? c & 0x0f : c & 0x07;
      bool valid = need != 0 && i + need <= length;
      for (size_t k = 1; valid && k < need; ++k) {
        valid = (p[i + k] & 0xc0) == 0x80;
        code = code << 6 | (p[i + k] & 0x3f);
      }
      valid = valid && !(need == 3 && code < 0x800) && !(need == 4 && (code < 0x10000 || code > 0x10ffff)) &&
              !(code >= 0xd800 && code <= 0xdfff) && !(code >= 0x80 && code <= 0x9f);
      if (valid) {
        out.append(text + i, need);
        i += need;
      } else {
        escape(c);
        ++i;
      }
    }
  }
  return out;
}

Result<int> open_in_folder(const std::string& folder, const std::string& relative, uint64_t* size) {
  PF_CHECK(!relative.empty() && relative[0] != '/', Error::kInvalidArgument, "'%s' is not a relative path", relative.c_str());
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  PF_CHECK(dir >= 0, Error::kNotFound, "cannot open the folder %s: %s", folder.c_str(), std::strerror(errno));
  size_t at = 0;
  for (;;) {
    const size_t slash = relative.find('/', at);
    const std::string part = relative.substr(at, slash == std::string::npos ? std::string::npos : slash - at);
    const bool last = slash == std::string::npos;
    at = last ? relative.size() : slash + 1;
    if (!last && (part.empty() || part == ".")) continue;
    if (part == "..") {
      ::close(dir);
      return Status::error(Error::kInvalidArgument, "'%s' leaves the folder (..)", relative.c_str());
    }
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK : O_DIRECTORY);
    const int next = ::openat(dir, part.c_str(), flags);
    const int error = errno;
    struct stat info;
    const bool is_link = next < 0 && ::fstatat(dir, part.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(info.st_mode);
    ::close(dir);
    if (is_link) {
      return Status::error(Error::kInvalidArgument, "'%s' is a symlink: only a regular file inside the model's folder is read, "
                           "never a link", part.c_str());
    }
    PF_CHECK(next >= 0, error == ENOENT ? Error::kNotFound : Error::kInvalidArgument, "'%s': %s", part.c_str(),
             error == ENOTDIR ? "not a folder" : std::strerror(error));
    if (!last) {
      dir = next;
      continue;
    }
    if (::fstat(next, &info) != 0 || !S_ISREG(info.st_mode)) {
      const mode_t mode = info.st_mode;
      ::close(next);
      return Status::error(Error::kInvalidArgument, "'%s' is %s, not a regular file", part.c_str(), file_kind(mode));
    }
    *size = static_cast<uint64_t>(info.st_size);
    return Result<int>(next);
  }
}

Status check_file_size(const char* path, uint64_t size, uint64_t max_bytes) {
  if (size <= max_bytes) return Status::ok();
  char what[64];
  std::snprintf(what, sizeof what, "the file (%llu bytes)", static_cast<unsigned long long>(size));
  if (max_bytes == g_input_budget) return over_input_budget(path, what);
  return Status::error(Error::kResourceLimit, "%s: %s is above the limit of %llu bytes", path, what,
                       static_cast<unsigned long long>(max_bytes));
}

void close_file(int fd) { ::close(fd); }

Result<size_t> read_fully(int fd, const char* path, uint8_t* data, size_t capacity) {
  size_t done = 0;
  while (done < capacity) {
    const ssize_t got = ::read(fd, data + done, capacity - done);
    if (got < 0 && errno == EINTR) continue;
    PF_CHECK(got >= 0, Error::kIoError, "%s: read failed: %s", path, std::strerror(errno));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return Result<size_t>(done);
}

bool same_file(const char* a, const char* b) {
  // A path's identity: its own device and inode, or (a file yet to be written) its folder's and its name.
  const auto identity = [](const char* path, dev_t* dev, ino_t* ino, const char** name) {
    struct stat info;
    *name = nullptr;
    if (::stat(path, &info) == 0) {
      *dev = info.st_dev, *ino = info.st_ino;
      return true;
    }
    char folder[PATH_MAX];
    if (std::snprintf(folder, sizeof folder, "%s", path) >= static_cast<int>(sizeof folder)) return false;
    char* slash = std::strrchr(folder, '/');
    *name = slash ? path + (slash - folder) + 1 : path;
    if (!slash) std::snprintf(folder, sizeof folder, ".");
    else if (slash == folder) slash[1] = '\0';
    else *slash = '\0';
    if (::stat(folder, &info) != 0) return false;
    *dev = info.st_dev, *ino = info.st_ino;
    return true;
  };
  dev_t dev_a = 0, dev_b = 0;
  ino_t ino_a = 0, ino_b = 0;
  const char *name_a = nullptr, *name_b = nullptr;
  if (!identity(a, &dev_a, &ino_a, &name_a) || !identity(b, &dev_b, &ino_b, &name_b)) return false;
  if (dev_a != dev_b || ino_a != ino_b) return false;
  if (!name_a && !name_b) return true;
  return name_a && name_b && std::strcmp(name_a, name_b) == 0;
}

Status write_file_atomic(const char* path, const uint8_t* data, size_t size) {
  // The target: a symlink is followed to the file it names (that file is replaced, the link kept);
  // anything but a regular file or a new name is refused before a byte is written.
  char resolved[PATH_MAX];
  struct stat link_info;
  if (::lstat(path, &link_info) == 0 && S_ISLNK(link_info.st_mode)) {
    PF_CHECK(::realpath(path, resolved) != nullptr, Error::kInvalidArgument,
             "%s: a symlink to a missing file (%s); write to the file it should name", path, std::strerror(errno));
    path = resolved;
  }
  struct stat target;
  bool replacing = false;
  if (::stat(path, &target) == 0) {
    PF_CHECK(S_ISREG(target.st_mode), Error::kInvalidArgument, "%s: %s; an output must be a regular file", path,
             file_kind(target.st_mode));
    replacing = true;
  }
  mode_t mode = 0;
  if (replacing) {
    mode = target.st_mode & 07777;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
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
  if (::fchmod(fd, mode) != 0) return fail("chmod");
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
