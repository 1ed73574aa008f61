// The OpenCL backend: every op, forward and backward, on an OpenCL 1.2 device (a GPU; PoCL runs
// it on the CPU in CI). The kernels are the GPU kernel files (runtime/backends/gpu/), built once per process for the device and
// cached as a binary (keyed by platform, device, driver, options and source). A Session opens a
// Device: one buffer per host region (the session's memory block, the model's bytes), so every
// tensor, weights and optimizer state included, lives on the device for the session's life, and
// a train_step queues its kernels with no host round trip (docs/gpu.md).
//
// Each node is prepared once its views are fixed: the kernel objects get their arguments there
// (buffers, offsets, shapes; shape tables and scratch in small buffers of their own), so running
// a node only enqueues. The one in-order queue keeps the steps in order.
#define CL_TARGET_OPENCL_VERSION 120
#include "runtime/backends/opencl/opencl_backend.h"

#include <CL/cl.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <vector>

#include "runtime/backend.h"
#include "runtime/backends/gpu/lowering.h"
#include "runtime/file_io.h"
#include "core/hash.h"

namespace preflight {
namespace opencl {
namespace {

const char kSource[] =
#include "opencl_kernels.inc"
    ;

const char* cl_error_name(cl_int error) {
  switch (error) {
    case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND";
    case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES";
    case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY";
    case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE";
    case CL_INVALID_VALUE: return "CL_INVALID_VALUE";
    case CL_INVALID_BINARY: return "CL_INVALID_BINARY";
    case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME";
    case CL_INVALID_ARG_INDEX: return "CL_INVALID_ARG_INDEX";
    case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE";
    case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE";
    case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE";
    case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform)";
    default: return "an OpenCL error";
  }
}

#define PF_CL(call, what)                                                                                       \
  do {                                                                                                          \
    const cl_int cl_error_ = (call);                                                                            \
    PF_CHECK(cl_error_ == CL_SUCCESS, Error::kInternal, "OpenCL: %s failed: %s (%d)", what, cl_error_name(cl_error_), \
             cl_error_);                                                                                        \
  } while (0)

std::string device_text(cl_device_id device, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  clGetDeviceInfo(device, what, size, &text[0], nullptr);
  return std::string(text.c_str());
}

std::string platform_text(cl_platform_id platform, cl_platform_info what) {
  size_t size = 0;
  if (clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  clGetPlatformInfo(platform, what, size, &text[0], nullptr);
  return std::string(text.c_str());
}

// The process's OpenCL state: one device, context, queue and program, made on first use.
struct Runtime {
  DeviceInfo info;
  Status status;  // why the backend cannot run, when it cannot
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  cl_program program = nullptr;
  std::string options;
};

// PREFLIGHT_OPENCL_DEVICE=N picks the N-th device over all platforms (clinfo -l's order); by
// default the first GPU, else the first device of any kind.
Status pick_device(cl_platform_id* platform, cl_device_id* device) {
  cl_uint platforms = 0;
  const cl_int listed = clGetPlatformIDs(0, nullptr, &platforms);
  PF_CHECK(listed == CL_SUCCESS && platforms > 0, Error::kUnsupported,
           "no OpenCL platform: install an OpenCL driver (an ICD; pocl-opencl-icd runs on the CPU)");
  std::vector<cl_platform_id> ids(platforms);
  PF_CL(clGetPlatformIDs(platforms, ids.data(), nullptr), "clGetPlatformIDs");
  std::vector<std::pair<cl_platform_id, cl_device_id>> all;
  for (cl_platform_id id : ids) {
    cl_uint count = 0;
    if (clGetDeviceIDs(id, CL_DEVICE_TYPE_ALL, 0, nullptr, &count) != CL_SUCCESS || count == 0) continue;
    std::vector<cl_device_id> devices(count);
    if (clGetDeviceIDs(id, CL_DEVICE_TYPE_ALL, count, devices.data(), nullptr) != CL_SUCCESS) continue;
    for (cl_device_id d : devices) all.emplace_back(id, d);
  }
  PF_CHECK(!all.empty(), Error::kUnsupported, "no OpenCL device on the %u platform(s) found", platforms);
  size_t pick = 0;
  if (const char* wanted = std::getenv("PREFLIGHT_OPENCL_DEVICE")) {
    char* end = nullptr;
    const long index = std::strtol(wanted, &end, 10);
    PF_CHECK(*wanted && *end == '\0' && index >= 0 && static_cast<size_t>(index) < all.size(), Error::kInvalidArgument,
             "PREFLIGHT_OPENCL_DEVICE=%s: expected a device index in [0, %zu)", wanted, all.size());
    pick = static_cast<size_t>(index);
  } else {
    for (size_t i = 0; i < all.size(); ++i) {
      cl_device_type type = 0;
      clGetDeviceInfo(all[i].second, CL_DEVICE_TYPE, sizeof type, &type, nullptr);
      if (type & CL_DEVICE_TYPE_GPU) {
        pick = i;
        break;
      }
    }
  }
  *platform = all[pick].first;
  *device = all[pick].second;
  return Status::ok();
}

std::string build_options(cl_device_id device) {
  size_t max_group = 0;
  clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_group, &max_group, nullptr);
  // 16 x 16 GEMM tiles where a work-group may hold 256 items, 8 x 8 on smaller GPUs.
  return max_group >= 256 ? "-cl-std=CL1.2 -DTILE=16" : "-cl-std=CL1.2 -DTILE=8";
}

Status read_file(const std::string& path, std::vector<unsigned char>* bytes) {
  std::ifstream in(path, std::ios::binary);
  PF_CHECK(in.good(), Error::kNotFound, "%s: cannot open", path.c_str());
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return Status::ok();
}

void make_folders(const std::string& path) {
  for (size_t slash = path.find('/', 1); ; slash = path.find('/', slash + 1)) {
    ::mkdir(path.substr(0, slash).c_str(), 0755);  // an existing folder is fine
    if (slash == std::string::npos) break;
  }
}

std::string build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
  std::string log(size, '\0');
  if (size) clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, &log[0], nullptr);
  return std::string(log.c_str()).substr(0, 200);
}

// Builds the kernels for `device`, through the binary cache in `cache_dir` (none when empty).
Status build(cl_platform_id platform, cl_device_id device, cl_context context, const std::string& options,
             const std::string& cache_dir, cl_program* program, bool* from_cache, std::string* cache_file) {
  *from_cache = false;
  const std::string key_text = platform_text(platform, CL_PLATFORM_NAME) + '\n' + platform_text(platform, CL_PLATFORM_VERSION) +
                               '\n' + device_text(device, CL_DEVICE_NAME) + '\n' + device_text(device, CL_DEVICE_VERSION) +
                               '\n' + device_text(device, CL_DRIVER_VERSION) + '\n' + options + '\n' + kSource;
  char name[64];
  std::snprintf(name, sizeof name, "opencl-%016llx.bin",
                static_cast<unsigned long long>(fnv1a(key_text.data(), key_text.size())));
  *cache_file = cache_dir.empty() ? "" : cache_dir + "/" + name;
  std::vector<unsigned char> binary;
  if (!cache_file->empty() && read_file(*cache_file, &binary).is_ok() && !binary.empty()) {
    const unsigned char* data = binary.data();
    const size_t size = binary.size();
    cl_int status = CL_SUCCESS, error = CL_SUCCESS;
    cl_program cached = clCreateProgramWithBinary(context, 1, &device, &size, &data, &status, &error);
    if (error == CL_SUCCESS && status == CL_SUCCESS &&
        clBuildProgram(cached, 1, &device, options.c_str(), nullptr, nullptr) == CL_SUCCESS) {
      *program = cached;
      *from_cache = true;
      return Status::ok();
    }
    if (cached) clReleaseProgram(cached);  // a stale or damaged binary: build from source below
  }
  const char* source = kSource;
  cl_int error = CL_SUCCESS;
  cl_program built = clCreateProgramWithSource(context, 1, &source, nullptr, &error);
  PF_CL(error, "clCreateProgramWithSource");
  if (clBuildProgram(built, 1, &device, options.c_str(), nullptr, nullptr) != CL_SUCCESS) {
    const std::string log = build_log(built, device);
    clReleaseProgram(built);
    return Status::error(Error::kInternal, "OpenCL: building the kernels for %s failed: %s",
                         device_text(device, CL_DEVICE_NAME).c_str(), log.c_str());
  }
  *program = built;
  size_t size = 0;
  if (!cache_file->empty() && clGetProgramInfo(built, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) == CL_SUCCESS &&
      size > 0) {
    binary.assign(size, 0);
    unsigned char* data = binary.data();
    if (clGetProgramInfo(built, CL_PROGRAM_BINARIES, sizeof data, &data, nullptr) == CL_SUCCESS) {
      make_folders(cache_dir);
      // A cache: a failed write (read-only home, full disk) costs the next process a build.
      (void)write_file_atomic(cache_file->c_str(), binary.data(), binary.size());
    }
  }
  return Status::ok();
}

Runtime* make_runtime() {
  auto* rt = new Runtime();  // lives for the process (kernels of static sessions may outlive main)
  rt->status = pick_device(&rt->platform, &rt->device);
  if (!rt->status.is_ok()) {
    rt->info.description = rt->status.message();
    return rt;
  }
  rt->info.description = device_text(rt->device, CL_DEVICE_NAME) + " (" + platform_text(rt->platform, CL_PLATFORM_NAME) + ", " +
                         device_text(rt->device, CL_DEVICE_VERSION) + ")";
  cl_int error = CL_SUCCESS;
  rt->context = clCreateContext(nullptr, 1, &rt->device, nullptr, nullptr, &error);
  if (error == CL_SUCCESS) rt->queue = clCreateCommandQueue(rt->context, rt->device, 0, &error);
  if (error != CL_SUCCESS) {
    rt->status = Status::error(Error::kInternal, "OpenCL: cannot create a context and queue on %s: %s",
                               rt->info.description.c_str(), cl_error_name(error));
    return rt;
  }
  rt->options = build_options(rt->device);
  bool from_cache = false;
  std::string file;
  rt->status = build(rt->platform, rt->device, rt->context, rt->options, cache_folder(), &rt->program, &from_cache, &file);
  rt->info.available = rt->status.is_ok();
  return rt;
}

Runtime& runtime() {
  static Runtime* rt = make_runtime();
  return *rt;
}

// ---- a session's device: one buffer per host region, and a status word kernels flag errors in ----

struct Region {
  const uint8_t* host;
  size_t bytes;
  cl_mem buffer;
};

using gpu::kStatusWords;

struct Device {
  std::vector<Region> regions;
  cl_mem status = nullptr;
};

void close_device(void* handle) {
  auto* device = static_cast<Device*>(handle);
  for (Region& region : device->regions) clReleaseMemObject(region.buffer);
  if (device->status) clReleaseMemObject(device->status);
  delete device;
}

Status open_device(const void* const* hosts, const size_t* bytes, int count, void** handle) {
  Runtime& rt = runtime();
  PF_RETURN_IF_ERROR(rt.status);
  auto* device = new Device();
  const auto fail = [&](Status status) {
    close_device(device);
    return status;
  };
  cl_int error = CL_SUCCESS;
  const int zeros[kStatusWords] = {0};
  device->status = clCreateBuffer(rt.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof zeros,
                                  const_cast<int*>(zeros), &error);
  if (error != CL_SUCCESS) return fail(Status::error(Error::kOutOfMemory, "OpenCL: cannot allocate the status word: %s", cl_error_name(error)));
  for (int i = 0; i < count; ++i) {
    Region region{static_cast<const uint8_t*>(hosts[i]), bytes[i], nullptr};
    region.buffer = clCreateBuffer(rt.context, CL_MEM_READ_WRITE, bytes[i] ? bytes[i] : 4, nullptr, &error);
    if (error != CL_SUCCESS) {
      return fail(Status::error(Error::kOutOfMemory, "OpenCL: cannot allocate %zu bytes on %s: %s", bytes[i],
                                rt.info.description.c_str(), cl_error_name(error)));
    }
    device->regions.push_back(region);
    if (bytes[i]) {
      error = clEnqueueWriteBuffer(rt.queue, region.buffer, CL_TRUE, 0, bytes[i], hosts[i], 0, nullptr, nullptr);
      if (error != CL_SUCCESS) return fail(Status::error(Error::kInternal, "OpenCL: uploading %zu bytes failed: %s", bytes[i], cl_error_name(error)));
    }
  }
  *handle = device;
  return Status::ok();
}

// The buffer and byte offset of the device copy of [host, host + bytes).
bool locate(const Device& device, const void* host, size_t bytes, cl_mem* buffer, size_t* offset) {
  const auto* p = static_cast<const uint8_t*>(host);
  for (const Region& region : device.regions) {
    if (p >= region.host && p + bytes <= region.host + region.bytes) {
      *buffer = region.buffer;
      *offset = static_cast<size_t>(p - region.host);
      return true;
    }
  }
  return false;
}

std::atomic<uint64_t> g_transfers{0};

Status upload(void* handle, const void* host, size_t bytes) {
  ++g_transfers;
  cl_mem buffer = nullptr;
  size_t offset = 0;
  PF_CHECK(locate(*static_cast<Device*>(handle), host, bytes, &buffer, &offset), Error::kInternal,
           "OpenCL: %zu bytes at %p are in no region of the device", bytes, host);
  PF_CL(clEnqueueWriteBuffer(runtime().queue, buffer, CL_TRUE, offset, bytes, host, 0, nullptr, nullptr), "upload");
  return Status::ok();
}

Status download(void* handle, void* host, size_t bytes) {
  ++g_transfers;
  cl_mem buffer = nullptr;
  size_t offset = 0;
  PF_CHECK(locate(*static_cast<Device*>(handle), host, bytes, &buffer, &offset), Error::kInternal,
           "OpenCL: %zu bytes at %p are in no region of the device", bytes, host);
  PF_CL(clEnqueueReadBuffer(runtime().queue, buffer, CL_TRUE, offset, bytes, host, 0, nullptr, nullptr), "download");
  return Status::ok();
}

Status finish(void* handle, int* node) {
  auto* device = static_cast<Device*>(handle);
  *node = -1;
  ++g_transfers;
  int words[kStatusWords] = {0};
  PF_CL(clEnqueueReadBuffer(runtime().queue, device->status, CL_TRUE, 0, sizeof words, words, 0, nullptr, nullptr),
        "reading the status word");
  if (words[0] == 0) return Status::ok();
  const int zeros[kStatusWords] = {0};
  PF_CL(clEnqueueWriteBuffer(runtime().queue, device->status, CL_TRUE, 0, sizeof zeros, zeros, 0, nullptr, nullptr),
        "clearing the status word");
  return gpu::flagged_error(words, node);
}

constexpr DeviceOps kDeviceOps = [] {
  DeviceOps ops;
  ops.open = open_device;
  ops.close = close_device;
  ops.upload = upload;
  ops.download = download;
  ops.finish = finish;
  return ops;
}();

// ---- prepared nodes: the launches of one node ----

struct Launch {
  cl_kernel kernel = nullptr;  // null: a buffer copy
  cl_uint dims = 1;
  size_t global[3] = {1, 1, 1};
  size_t local[3] = {1, 1, 1};
  bool has_local = false;
  cl_mem src = nullptr, dst = nullptr;
  size_t src_offset = 0, dst_offset = 0, bytes = 0;
};

struct Prepared {
  Device* device = nullptr;
  std::vector<Launch> launches;
  std::vector<cl_mem> owned;  // shape tables and scratch
};

void destroy_prepared(void* state) {
  auto* prepared = static_cast<Prepared*>(state);
  for (Launch& launch : prepared->launches) {
    if (launch.kernel) clReleaseKernel(launch.kernel);
  }
  for (cl_mem mem : prepared->owned) clReleaseMemObject(mem);
  delete prepared;
}

Status run_prepared(void* state) {
  const auto* prepared = static_cast<const Prepared*>(state);
  cl_command_queue queue = runtime().queue;
  for (const Launch& launch : prepared->launches) {
    if (launch.kernel) {
      PF_CL(clEnqueueNDRangeKernel(queue, launch.kernel, launch.dims, nullptr, launch.global,
                                   launch.has_local ? launch.local : nullptr, 0, nullptr, nullptr),
            "enqueueing a kernel");
    } else {
      PF_CL(clEnqueueCopyBuffer(queue, launch.src, launch.dst, launch.src_offset, launch.dst_offset, launch.bytes, 0, nullptr,
                                nullptr),
            "enqueueing a copy");
    }
  }
  return Status::ok();
}

// Sets a kernel's arguments in order and adds its launch to a Prepared.
class Call {
 public:
  Call(Prepared* prepared, const char* name) : prepared_(prepared), name_(name) {
    kernel_ = clCreateKernel(runtime().program, name, &error_);
  }
  ~Call() {
    if (kernel_) clReleaseKernel(kernel_);  // not launched
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // A tensor: its buffer and byte offset. A null view (an absent optional input, a gradient not
  // asked for) binds the status word: the kernel is told not to touch it.
  Call& tensor(const TensorView& view) {
    cl_mem buffer = prepared_->device->status;
    size_t offset = 0;
    if (view.data && !locate(*prepared_->device, view.data, view.desc.num_bytes(), &buffer, &offset)) {
      fail(CL_INVALID_VALUE, "a tensor is in no region of the device");
    }
    return mem(buffer, offset);
  }
  Call& mem(cl_mem buffer, size_t offset) {
    const cl_ulong at = offset;
    set(sizeof buffer, &buffer);
    return set(sizeof at, &at);
  }
  Call& raw(cl_mem buffer) { return set(sizeof buffer, &buffer); }
  Call& i(int64_t value) {
    const cl_int v = static_cast<cl_int>(value);
    return set(sizeof v, &v);
  }
  Call& u(uint32_t value) {
    const cl_uint v = value;
    return set(sizeof v, &v);
  }
  Call& f(float value) { return set(sizeof value, &value); }

  // n work-items (a multiple of 64 are launched; the kernels check their index).
  Status launch(int64_t n) {
    Launch l;
    l.global[0] = static_cast<size_t>((n + 63) / 64 * 64);
    return add(l, n == 0);
  }
  // Work-groups of `local` items, `global` in all (a multiple of local).
  Status launch(cl_uint dims, const size_t* global, const size_t* local) {
    Launch l;
    l.dims = dims;
    l.has_local = true;
    bool empty = false;
    for (cl_uint d = 0; d < dims; ++d) {
      l.global[d] = global[d];
      l.local[d] = local[d];
      empty = empty || global[d] == 0;
    }
    return add(l, empty);
  }

 private:
  Call& set(size_t size, const void* value) {
    if (error_ == CL_SUCCESS) {
      const cl_int error = clSetKernelArg(kernel_, index_, size, value);
      if (error != CL_SUCCESS) fail(error, "clSetKernelArg");
    }
    ++index_;
    return *this;
  }
  void fail(cl_int error, const char* what) {
    if (error_ != CL_SUCCESS) return;
    error_ = error;
    what_ = what;
  }
  Status add(Launch launch, bool empty) {
    PF_CHECK(error_ == CL_SUCCESS, Error::kInternal, "OpenCL: kernel %s, argument %u: %s: %s", name_, index_,
             what_ ? what_ : "clCreateKernel", cl_error_name(error_));
    cl_uint arguments = 0;
    clGetKernelInfo(kernel_, CL_KERNEL_NUM_ARGS, sizeof arguments, &arguments, nullptr);
    PF_CHECK(arguments == index_, Error::kInternal, "OpenCL: kernel %s takes %u arguments, %u were set", name_, arguments,
             index_);
    if (empty) return Status::ok();  // nothing to compute: the kernel is released unlaunched
    launch.kernel = kernel_;
    kernel_ = nullptr;
    prepared_->launches.push_back(launch);
    return Status::ok();
  }

  Prepared* prepared_;
  const char* name_;
  cl_kernel kernel_ = nullptr;
  cl_int error_ = CL_SUCCESS;
  const char* what_ = nullptr;
  cl_uint index_ = 0;
};

// A buffer of the node's own (a shape table, scratch), freed with it.
Status owned_buffer(Prepared* prepared, const void* data, size_t bytes, cl_mem* out) {
  cl_int error = CL_SUCCESS;
  const cl_mem_flags flags = CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0);
  *out = clCreateBuffer(runtime().context, flags, bytes ? bytes : 4, const_cast<void*>(data), &error);
  PF_CHECK(error == CL_SUCCESS, Error::kOutOfMemory, "OpenCL: cannot allocate %zu bytes: %s", bytes, cl_error_name(error));
  prepared->owned.push_back(*out);
  return Status::ok();
}

Status copy(Prepared* prepared, const TensorView& from, const TensorView& to) {
  Launch l;
  l.bytes = to.desc.num_bytes();
  if (l.bytes == 0) return Status::ok();
  PF_CHECK(locate(*prepared->device, from.data, l.bytes, &l.src, &l.src_offset) &&
               locate(*prepared->device, to.data, l.bytes, &l.dst, &l.dst_offset),
           Error::kInternal, "OpenCL: a tensor is in no region of the device");
  prepared->launches.push_back(l);
  return Status::ok();
}

// The gemm kernel for a Gemm step: its terms as a table, TILE x TILE work-groups.
Status gemm(Prepared* prepared, const gpu::Gemm& g) {
  std::vector<int> table;
  int first = 0;
  for (const auto& list : g.terms) {
    table.push_back(first);
    first += static_cast<int>(list.size());
    table.push_back(first);
  }
  for (const auto& list : g.terms) {
    for (const auto& term : list) {
      table.push_back(static_cast<int>(term.first));
      table.push_back(static_cast<int>(term.second));
    }
  }
  cl_mem terms = nullptr;
  PF_RETURN_IF_ERROR(owned_buffer(prepared, table.data(), table.size() * sizeof(int), &terms));
  const size_t tile = runtime().options.find("TILE=16") != std::string::npos ? 16 : 8;
  const size_t global[3] = {(static_cast<size_t>(g.N) + tile - 1) / tile * tile,
                            (static_cast<size_t>(g.M) + tile - 1) / tile * tile, g.terms.size()};
  const size_t local[3] = {tile, tile, 1};
  Call call(prepared, "gemm");
  call.tensor(g.a).tensor(g.b).tensor(g.c).tensor(g.bias).i(g.bias.data ? 1 : 0);
  call.i(g.M).i(g.N).i(g.K).i(g.a_sm).i(g.a_sk).i(g.b_sk).i(g.b_sn).mem(terms, 0).i(static_cast<int64_t>(g.terms.size()));
  return call.launch(3, global, local);
}

// The node's steps as OpenCL launches: kernel objects with their arguments set, buffer copies.
Status compile(const gpu::Lowered& lowered, Prepared* prepared) {
  std::vector<cl_mem> tables, scratch;
  for (const std::vector<int>& table : lowered.tables) {
    tables.push_back(nullptr);
    PF_RETURN_IF_ERROR(owned_buffer(prepared, table.data(), table.size() * sizeof(int), &tables.back()));
  }
  for (int64_t count : lowered.scratch) {
    scratch.push_back(nullptr);
    PF_RETURN_IF_ERROR(owned_buffer(prepared, nullptr, static_cast<size_t>(count) * sizeof(float), &scratch.back()));
  }
  for (const gpu::Step& step : lowered.steps) {
    if (step.kind == gpu::Step::kCopy) {
      PF_RETURN_IF_ERROR(copy(prepared, step.from, step.to));
      continue;
    }
    if (step.kind == gpu::Step::kGemm) {
      PF_RETURN_IF_ERROR(gemm(prepared, step.gemm));
      continue;
    }
    Call call(prepared, step.kernel);
    for (const gpu::Arg& arg : step.args) {
      switch (arg.kind) {
        case gpu::Arg::kTensor: call.tensor(arg.view); break;
        case gpu::Arg::kTable: call.mem(tables[static_cast<size_t>(arg.index)], 0); break;
        case gpu::Arg::kScratch: call.mem(scratch[static_cast<size_t>(arg.index)], 0); break;
        case gpu::Arg::kInt: call.i(arg.i); break;
        case gpu::Arg::kUint: call.u(static_cast<uint32_t>(arg.i)); break;
        case gpu::Arg::kFloat: call.f(arg.f); break;
        case gpu::Arg::kStatus: call.raw(prepared->device->status); break;
      }
    }
    if (step.group > 0) {
      const size_t size[1] = {static_cast<size_t>(step.group)};
      PF_RETURN_IF_ERROR(call.launch(1, size, size));
    } else {
      PF_RETURN_IF_ERROR(call.launch(step.items));
    }
  }
  return Status::ok();
}


Status prepare(const Model& model, const NodeInfo& node, const PrepareArgs& args, PreparedKernel* prepared) {
  PF_CHECK(args.device != nullptr, Error::kInternal, "the OpenCL backend prepares nodes only on an open device");
  auto* state = new Prepared();
  state->device = static_cast<Device*>(args.device);
  const int index = static_cast<int>(&node - model.nodes().data());  // named in errors the kernels flag
  gpu::Lowered lowered;
  Status status = gpu::lower(node, index, args, &lowered);
  if (status.is_ok()) status = compile(lowered, state);
  if (!status.is_ok()) {
    destroy_prepared(state);
    return status;
  }
  prepared->state = state;
  prepared->run = run_prepared;
  prepared->destroy = destroy_prepared;
  return Status::ok();
}

ForwardFn no_kernel(const Model&, const NodeInfo&) { return nullptr; }
BackwardFn no_backward_kernel(const Model&, const NodeInfo&) { return nullptr; }

}  // namespace

const DeviceInfo& device_info() { return runtime().info; }

uint64_t transfers() { return g_transfers.load(); }

std::string cache_folder() {
  if (const char* dir = std::getenv("PREFLIGHT_CACHE_DIR")) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME")) {
    if (*xdg) return std::string(xdg) + "/preflight";
  }
  if (const char* home = std::getenv("HOME")) {
    if (*home) return std::string(home) + "/.cache/preflight";
  }
  return "";
}

Status build_program_for_test(const std::string& cache_dir, bool* from_cache, std::string* cache_file) {
  Runtime& rt = runtime();
  PF_RETURN_IF_ERROR(rt.status);
  cl_program program = nullptr;
  PF_RETURN_IF_ERROR(build(rt.platform, rt.device, rt.context, rt.options, cache_dir, &program, from_cache, cache_file));
  clReleaseProgram(program);
  return Status::ok();
}

}  // namespace opencl

const Backend* opencl_backend() {
  static constexpr Backend backend = [] {
    Backend b;
    b.name = "opencl";
    b.supports = gpu::supports;
    b.kernel = opencl::no_kernel;
    b.backward_kernel = opencl::no_backward_kernel;
    b.prepare = opencl::prepare;
    b.device = &opencl::kDeviceOps;
    return b;
  }();
  return &backend;
}

}  // namespace preflight
