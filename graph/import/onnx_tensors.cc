// ONNX tensors: initializers and Constant values read into HostTensors, external data files
// included, within the input budget.
#include "graph/import/onnx_importer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "runtime/file_io.h"

namespace preflight {
namespace graph {
namespace onnx_import {

Status Importer::read_tensor(const TensorProto& proto, HostTensor* out) {
  const std::string& name = proto.name();
  out->dims.assign(proto.dims().begin(), proto.dims().end());
  for (int64_t d : out->dims) PF_CHECK(d >= 0 && d < (int64_t{1} << 40), Error::kInvalidModel, "%s: tensor '%s' has dim %lld", source_.c_str(), name.c_str(), static_cast<long long>(d));
  const int64_t count = out->count();
  PF_CHECK(count <= (int64_t{1} << 32), Error::kResourceLimit, "%s: tensor '%s' has %lld elements", source_.c_str(), name.c_str(), static_cast<long long>(count));
  std::string raw = proto.raw_data();
  if (proto.data_location() == TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    bool bad_number = false;
    const auto parse_count = [&bad_number](const std::string& text) {
      char* end = nullptr;
      errno = 0;
      const long long value = std::strtoll(text.c_str(), &end, 10);
      bad_number = bad_number || text.empty() || *end != '\0' || errno != 0 || value < 0;
      return static_cast<int64_t>(value);
    };
    for (const auto& entry : proto.external_data()) {
      if (entry.key() == "location") location = entry.value();
      if (entry.key() == "offset") offset = parse_count(entry.value());
      if (entry.key() == "length") length = parse_count(entry.value());
    }
    PF_CHECK(!bad_number, Error::kInvalidModel,
             "%s: initializer '%s': external data offset or length is not a whole number >= 0", source_.c_str(), name.c_str());
    PF_CHECK(!location.empty() && location.find("..") == std::string::npos && location[0] != '/', Error::kInvalidModel,
             "%s: initializer '%s': external data location '%s' is not a file beside the model", source_.c_str(),
             name.c_str(), location.c_str());
    // Opened one component at a time under the model's folder, never through a symlink, and only a
    // regular file: a location can name no file outside the folder (a link to /etc/passwd, a folder
    // link, a device, a FIFO). Only the bytes asked for, bounded by the file and the tensor, are read.
    uint64_t file_size = 0;
    Result<int> opened = open_in_folder(base_dir_, location, &file_size);
    if (!opened.is_ok()) {
      return opened.status().with_context("%s: initializer '%s': external data '%s': ", source_.c_str(), name.c_str(),
                                          location.c_str());
    }
    const int fd = *opened;
    const std::string path = base_dir_ + "/" + location;
    const auto refuse = [&](Status status) {
      ::close(fd);
      return status;
    };
    if (static_cast<uint64_t>(offset) > file_size) {
      return refuse(Status::error(Error::kInvalidModel, "%s: initializer '%s': offset %lld is beyond the end of '%s' (%llu bytes)",
                                  source_.c_str(), name.c_str(), static_cast<long long>(offset), path.c_str(),
                                  static_cast<unsigned long long>(file_size)));
    }
    const uint64_t available = file_size - static_cast<uint64_t>(offset);
    if (length >= 0 && static_cast<uint64_t>(length) > available) {
      return refuse(Status::error(Error::kInvalidModel, "%s: initializer '%s': length %lld at offset %lld runs past the end "
                                  "of '%s' (%llu bytes)", source_.c_str(), name.c_str(), static_cast<long long>(length),
                                  static_cast<long long>(offset), path.c_str(), static_cast<unsigned long long>(file_size)));
    }
    const uint64_t take = length < 0 ? available : static_cast<uint64_t>(length);
    if (take > static_cast<uint64_t>(count) * 8) {
      return refuse(Status::error(Error::kInvalidModel, "%s: initializer '%s': %llu bytes of external data for %lld elements",
                                  source_.c_str(), name.c_str(), static_cast<unsigned long long>(take), static_cast<long long>(count)));
    }
    if (take > input_budget()) return refuse(over_input_budget(path.c_str(), "the external data"));
    raw.assign(static_cast<size_t>(take), '\0');
    size_t done = 0;
    while (done < take) {
      const ssize_t got = ::pread(fd, &raw[done], static_cast<size_t>(take) - done, static_cast<off_t>(offset + static_cast<int64_t>(done)));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      done += static_cast<size_t>(got);
    }
    ::close(fd);
    PF_CHECK(done == take, Error::kInvalidModel, "%s: initializer '%s': cannot read %llu bytes of '%s'",
             source_.c_str(), name.c_str(), static_cast<unsigned long long>(take), path.c_str());
  }
  const auto size_check = [&](size_t element_bytes) -> Status {
    PF_CHECK(raw.size() == static_cast<size_t>(count) * element_bytes, Error::kInvalidModel,
             "%s: tensor '%s' %s has %zu bytes of data, its shape needs %lld", source_.c_str(), name.c_str(),
             dims_text(out->dims).c_str(), raw.size(), static_cast<long long>(count) * static_cast<long long>(element_bytes));
    return Status::ok();
  };
  switch (proto.data_type()) {
    case TensorProto::FLOAT:
      out->dtype = DType::F32;
      if (!raw.empty() || proto.float_data_size() == 0) {
        PF_RETURN_IF_ERROR(size_check(4));
        out->f.resize(static_cast<size_t>(count));
        if (count) std::memcpy(out->f.data(), raw.data(), raw.size());
      } else {
        out->f.assign(proto.float_data().begin(), proto.float_data().end());
      }
      PF_CHECK(static_cast<int64_t>(out->f.size()) == count, Error::kInvalidModel, "%s: tensor '%s' has %zu values for shape %s",
               source_.c_str(), name.c_str(), out->f.size(), dims_text(out->dims).c_str());
      return Status::ok();
    case TensorProto::DOUBLE: {
      out->dtype = DType::F32;
      std::vector<double> values;
      if (!raw.empty() || proto.double_data_size() == 0) {
        PF_RETURN_IF_ERROR(size_check(8));
        values.resize(static_cast<size_t>(count));
        if (count) std::memcpy(values.data(), raw.data(), raw.size());
      } else {
        values.assign(proto.double_data().begin(), proto.double_data().end());
      }
      out->f.assign(values.begin(), values.end());
      PF_CHECK(static_cast<int64_t>(out->f.size()) == count, Error::kInvalidModel, "%s: tensor '%s' has %zu values for shape %s",
               source_.c_str(), name.c_str(), out->f.size(), dims_text(out->dims).c_str());
      return Status::ok();
    }
    case TensorProto::INT64:
    case TensorProto::INT32: {
      out->dtype = DType::I64;
      const bool wide = proto.data_type() == TensorProto::INT64;
      if (!raw.empty() || (wide ? proto.int64_data_size() : proto.int32_data_size()) == 0) {
        PF_RETURN_IF_ERROR(size_check(wide ? 8 : 4));
        out->i.resize(static_cast<size_t>(count));
        for (int64_t k = 0; k < count; ++k) {
          if (wide) {
            std::memcpy(&out->i[static_cast<size_t>(k)], raw.data() + 8 * k, 8);
          } else {
            int32_t v;
            std::memcpy(&v, raw.data() + 4 * k, 4);
            out->i[static_cast<size_t>(k)] = v;
          }
        }
      } else if (wide) {
        out->i.assign(proto.int64_data().begin(), proto.int64_data().end());
      } else {
        out->i.assign(proto.int32_data().begin(), proto.int32_data().end());
      }
      PF_CHECK(static_cast<int64_t>(out->i.size()) == count, Error::kInvalidModel, "%s: tensor '%s' has %zu values for shape %s",
               source_.c_str(), name.c_str(), out->i.size(), dims_text(out->dims).c_str());
      return Status::ok();
    }
    default:
      return Status::error(Error::kUnsupported, "%s: tensor '%s' has ONNX data type %d (preflight takes float, double, int32, int64)",
                           source_.c_str(), name.c_str(), proto.data_type());
  }
}

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight
