#include "runtime/model.h"

#ifndef PREFLIGHT_NO_FILESYSTEM
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/file_io.h"
#endif

#include <cerrno>
#include <cstring>
#include <utility>

namespace preflight {

const char* role_name(fb::TensorRole role) {
  const char* name = fb::EnumNameTensorRole(role);
  return name[0] ? name : "unknown-role";
}

Result<Model> Model::load_bytes(const void* data, size_t size, const LoadLimits& limits) {
  PF_CHECK(data != nullptr || size == 0, Error::kInvalidArgument, "model bytes are null");
  PF_CHECK(reinterpret_cast<uintptr_t>(data) % kLoadAlignment == 0, Error::kInvalidArgument,
           "model bytes must start at a %zu-byte aligned address", kLoadAlignment);
  Model model;
  model.bytes_ = static_cast<const uint8_t*>(data);
  model.size_ = size;
  model.limits_ = limits;
  PF_RETURN_IF_ERROR(verify_model(&model));
  return Result<Model>(std::move(model));
}

#ifdef PREFLIGHT_NO_FILESYSTEM
// The embedded profile has no file system: models come from a byte span.
Result<Model> Model::load_file(const char* path, const LoadLimits&) {
  return Status::error(Error::kUnsupported, "%s: this build has no file system (PREFLIGHT_EMBEDDED): load the model "
                       "from its bytes (Model::load_bytes)", path);
}

void Model::unmap() {}
#else
Result<Model> Model::load_file(const char* path, const LoadLimits& limits) {
  uint64_t file_size = 0;
  Result<int> opened = open_regular_file(path, &file_size);  // a FIFO, a folder or a device is refused
  if (!opened.is_ok()) return opened.status();
  const int fd = *opened;
  if (file_size > limits.max_file_bytes) {
    ::close(fd);
    return Status::error(Error::kResourceLimit, "%s: file size %llu is above the limit max_file_bytes = %llu",
                         path, static_cast<unsigned long long>(file_size),
                         static_cast<unsigned long long>(limits.max_file_bytes));
  }
  void* mapping = nullptr;
  if (file_size > 0) {
    mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      return Status::error(Error::kIoError, "%s: cannot map: %s", path, std::strerror(error));
    }
  }
  ::close(fd);
  Model model;
  model.bytes_ = static_cast<const uint8_t*>(mapping);
  model.size_ = file_size;
  model.mapping_ = mapping;
  model.mapping_size_ = file_size;
  model.limits_ = limits;
  const Status status = verify_model(&model);
  if (!status.is_ok()) return status.with_context("%s: ", path);
  return Result<Model>(std::move(model));
}

void Model::unmap() {
  if (mapping_) ::munmap(mapping_, mapping_size_);
  mapping_ = nullptr;
}
#endif

Model::Model(Model&& other) noexcept { *this = std::move(other); }

Model& Model::operator=(Model&& other) noexcept {
  if (this == &other) return *this;
  unmap();
  bytes_ = other.bytes_;
  size_ = other.size_;
  mapping_ = other.mapping_;
  mapping_size_ = other.mapping_size_;
  root_ = other.root_;
  limits_ = other.limits_;
  tensors_ = std::move(other.tensors_);
  nodes_ = std::move(other.nodes_);
  methods_ = std::move(other.methods_);
  test_vectors_ = std::move(other.test_vectors_);
  other.mapping_ = nullptr;
  other.bytes_ = nullptr;
  other.root_ = nullptr;
  return *this;
}

Model::~Model() { unmap(); }

int Model::find_method(const char* name) const {
  for (size_t i = 0; i < methods_.size(); ++i) {
    if (std::strcmp(methods_[i].name, name) == 0) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace preflight
