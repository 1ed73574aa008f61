// The CUDA backend: every op, forward and backward, on an NVIDIA GPU. Matrix products run on
// cuBLAS (SGEMM, FP32 without TF32), convolutions on cuDNN (FP32 FMA math, NHWC tensors, OHWI =
// KRSC filters; asymmetric padding, which cuDNN's convolution descriptor cannot express, on the
// direct kernels), everything else on the GPU kernel files (runtime/backends/gpu/) compiled
// as CUDA (cuda_kernels.cu). The node lowering is the OpenCL backend's (runtime/backends/gpu/).
//
// Like the OpenCL backend, a Session opens a Device holding one device allocation per host region
// (the session's memory block, the model's bytes); every tensor lives there for the session's
// life and a train_step enqueues its work on one stream with no host round trip but its inputs
// and outputs. Kernel arguments, cuBLAS pointers and cuDNN descriptors, algorithms and workspaces
// are fixed when a node is prepared; running it only enqueues.
#include "runtime/backends/cuda/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/backend.h"
#include "runtime/backends/gpu/lowering.h"

namespace preflight {
namespace cuda {

struct KernelEntry {
  const char* name;
  const void* function;
};
extern const KernelEntry kKernels[];  // cuda_kernels.cu

namespace {

#define PF_CUDA(call, what)                                                                                  \
  do {                                                                                                       \
    const cudaError_t cuda_error_ = (call);                                                                  \
    PF_CHECK(cuda_error_ == cudaSuccess, Error::kInternal, "CUDA: %s failed: %s", what,                      \
             cudaGetErrorString(cuda_error_));                                                               \
  } while (0)
#define PF_CUBLAS(call, what)                                                                                \
  do {                                                                                                       \
    const cublasStatus_t cublas_status_ = (call);                                                            \
    PF_CHECK(cublas_status_ == CUBLAS_STATUS_SUCCESS, Error::kInternal, "cuBLAS: %s failed: status %d", what, \
             static_cast<int>(cublas_status_));                                                              \
  } while (0)
#define PF_CUDNN(call, what)                                                                                 \
  do {                                                                                                       \
    const cudnnStatus_t cudnn_status_ = (call);                                                              \
    PF_CHECK(cudnn_status_ == CUDNN_STATUS_SUCCESS, Error::kInternal, "cuDNN: %s failed: %s", what,          \
             cudnnGetErrorString(cudnn_status_));                                                            \
  } while (0)

const void* find_kernel(const char* name) {
  for (const KernelEntry* entry = kKernels; entry->name; ++entry) {
    if (std::strcmp(entry->name, name) == 0) return entry->function;
  }
  return nullptr;
}

// cuBLAS, opened when the first CUDA runtime is made (dlopen), not linked: linking it loaded
// libcublasLt into every process of a build with CUDA, GPU or not (0.17 s and 210 MB at each
// start of the program, and in every fork). The four entry points the backend calls; the
// cublas_v2.h names are macros for the _v2 symbols, so the strings come from the same macros.
#define PF_STRINGIZE_(x) #x
#define PF_STRINGIZE(x) PF_STRINGIZE_(x)
struct Cublas {
  decltype(&cublasCreate) create = nullptr;
  decltype(&cublasSetStream) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemm) sgemm = nullptr;
};

// *out = the symbol; a missing one is named in *error (the first only).
template <typename Fn>
void resolve(void* library, const char* symbol, Fn* out, std::string* error) {
  *out = reinterpret_cast<Fn>(dlsym(library, symbol));
  if (*out == nullptr && error->empty()) *error = std::string("no symbol ") + symbol;
}

Status load_cublas(const Cublas** out) {
  static Cublas cublas;
  static std::string error = [] {
    std::string why;
    // The build's own library first (CMake's path of CUDA::cublas), then the loader's search.
    void* library = dlopen(PREFLIGHT_CUBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) library = dlopen(PREFLIGHT_CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* reason = dlerror();
      return std::string("cannot open ") + PREFLIGHT_CUBLAS_SONAME + ": " + (reason ? reason : "unknown reason");
    }
    resolve(library, PF_STRINGIZE(cublasCreate), &cublas.create, &why);
    resolve(library, PF_STRINGIZE(cublasSetStream), &cublas.set_stream, &why);
    resolve(library, PF_STRINGIZE(cublasSetMathMode), &cublas.set_math_mode, &why);
    resolve(library, PF_STRINGIZE(cublasSgemm), &cublas.sgemm, &why);
    return why.empty() ? why : std::string(PREFLIGHT_CUBLAS_SONAME) + ": " + why;
  }();
  PF_CHECK(error.empty(), Error::kUnsupported, "cuBLAS: %s", error.c_str());
  *out = &cublas;
  return Status::ok();
}

// The process's CUDA state: one device, stream, cuBLAS and cuDNN handle, made on first use.
struct Runtime {
  DeviceInfo info;
  Status status;
  int device = 0;
  cudaStream_t stream = nullptr;
  const Cublas* blas = nullptr;  // the entry points (load_cublas)
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
};

Status init(Runtime* rt) {
  int count = 0;
  const cudaError_t listed = cudaGetDeviceCount(&count);
  PF_CHECK(listed == cudaSuccess && count > 0, Error::kUnsupported, "no CUDA device (%s)",
           listed == cudaSuccess ? "the driver lists none" : cudaGetErrorString(listed));
  if (const char* wanted = std::getenv("PREFLIGHT_CUDA_DEVICE")) {
    char* end = nullptr;
    const long index = std::strtol(wanted, &end, 10);
    PF_CHECK(*wanted && *end == '\0' && index >= 0 && index < count, Error::kInvalidArgument,
             "PREFLIGHT_CUDA_DEVICE=%s: expected a device index in [0, %d)", wanted, count);
    rt->device = static_cast<int>(index);
  }
  PF_CUDA(cudaSetDevice(rt->device), "cudaSetDevice");
  cudaDeviceProp properties;
  PF_CUDA(cudaGetDeviceProperties(&properties, rt->device), "cudaGetDeviceProperties");
  char text[384];
  std::snprintf(text, sizeof text, "%s (compute capability %d.%d, %.1f GiB, cuDNN %zu)", properties.name, properties.major,
                properties.minor, static_cast<double>(properties.totalGlobalMem) / (1u << 30), cudnnGetVersion());
  rt->info.description = text;
  // A blocking stream: the few calls on the default stream (cudaMemcpy of tables at prepare,
  // cudaMemset, cudaFree) are ordered with the work on it.
  PF_CUDA(cudaStreamCreate(&rt->stream), "cudaStreamCreate");
  PF_RETURN_IF_ERROR(load_cublas(&rt->blas));
  PF_CUBLAS(rt->blas->create(&rt->cublas), "cublasCreate");
  PF_CUBLAS(rt->blas->set_stream(rt->cublas, rt->stream), "cublasSetStream");
  // FP32 products as the reference computes them: no TF32 (which NVIDIA_TF32_OVERRIDE could allow).
  PF_CUBLAS(rt->blas->set_math_mode(rt->cublas, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
  PF_CUDNN(cudnnCreate(&rt->cudnn), "cudnnCreate");
  PF_CUDNN(cudnnSetStream(rt->cudnn, rt->stream), "cudnnSetStream");
  return Status::ok();
}

Runtime& runtime() {
  static Runtime* rt = [] {
    auto* made = new Runtime();  // lives for the process
    made->status = init(made);
    if (!made->status.is_ok() && made->info.description.empty()) made->info.description = made->status.message();
    made->info.available = made->status.is_ok();
    return made;
  }();
  return *rt;
}

std::atomic<uint64_t> g_transfers{0};

// ---- a session's device ----

struct Region {
  const uint8_t* host;
  size_t bytes;
  uint8_t* memory;
};

using gpu::kStatusWords;

struct Device {
  std::vector<Region> regions;
  int* status = nullptr;
};

void close_device(void* handle) {
  auto* device = static_cast<Device*>(handle);
  cudaStreamSynchronize(runtime().stream);
  for (Region& region : device->regions) cudaFree(region.memory);
  cudaFree(device->status);
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
  if (cudaMalloc(reinterpret_cast<void**>(&device->status), kStatusWords * sizeof(int)) != cudaSuccess ||
      cudaMemset(device->status, 0, kStatusWords * sizeof(int)) != cudaSuccess) {
    return fail(Status::error(Error::kOutOfMemory, "CUDA: cannot allocate the status word"));
  }
  for (int i = 0; i < count; ++i) {
    Region region{static_cast<const uint8_t*>(hosts[i]), bytes[i], nullptr};
    const cudaError_t error = cudaMalloc(reinterpret_cast<void**>(&region.memory), bytes[i] ? bytes[i] : 4);
    if (error != cudaSuccess) {
      return fail(Status::error(Error::kOutOfMemory, "CUDA: cannot allocate %zu bytes on %s: %s", bytes[i],
                                rt.info.description.c_str(), cudaGetErrorString(error)));
    }
    device->regions.push_back(region);
    if (bytes[i] && cudaMemcpy(region.memory, hosts[i], bytes[i], cudaMemcpyHostToDevice) != cudaSuccess) {
      return fail(Status::error(Error::kInternal, "CUDA: uploading %zu bytes failed", bytes[i]));
    }
  }
  *handle = device;
  return Status::ok();
}

// The device address of the copy of [host, host + bytes).
uint8_t* locate(const Device& device, const void* host, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(host);
  for (const Region& region : device.regions) {
    if (p >= region.host && p + bytes <= region.host + region.bytes) return region.memory + (p - region.host);
  }
  return nullptr;
}

Status upload(void* handle, const void* host, size_t bytes) {
  ++g_transfers;
  uint8_t* at = locate(*static_cast<Device*>(handle), host, bytes);
  PF_CHECK(at != nullptr, Error::kInternal, "CUDA: %zu bytes at %p are in no region of the device", bytes, host);
  // Ordered after the work queued before it; the host bytes may change once it returns.
  PF_CUDA(cudaMemcpyAsync(at, host, bytes, cudaMemcpyHostToDevice, runtime().stream), "upload");
  PF_CUDA(cudaStreamSynchronize(runtime().stream), "upload");
  return Status::ok();
}

Status download(void* handle, void* host, size_t bytes) {
  ++g_transfers;
  uint8_t* at = locate(*static_cast<Device*>(handle), host, bytes);
  PF_CHECK(at != nullptr, Error::kInternal, "CUDA: %zu bytes at %p are in no region of the device", bytes, host);
  PF_CUDA(cudaMemcpyAsync(host, at, bytes, cudaMemcpyDeviceToHost, runtime().stream), "download");
  PF_CUDA(cudaStreamSynchronize(runtime().stream), "download");
  return Status::ok();
}

Status finish(void* handle, int* node) {
  auto* device = static_cast<Device*>(handle);
  *node = -1;
  ++g_transfers;
  int words[kStatusWords] = {0};
  PF_CUDA(cudaMemcpyAsync(words, device->status, sizeof words, cudaMemcpyDeviceToHost, runtime().stream), "reading the status word");
  PF_CUDA(cudaStreamSynchronize(runtime().stream), "running the queued kernels");
  if (words[0] == 0) return Status::ok();
  PF_CUDA(cudaMemset(device->status, 0, sizeof words), "clearing the status word");
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

// ---- prepared nodes ----

// One cuBLAS SGEMM on row-major operands (see gemm()).
struct Sgemm {
  cublasOperation_t op_x, op_y;
  int n, m, k, ld_x, ld_y;
  const float* x;
  const float* y;
  float* c;
  float beta;
};

struct ConvCall {
  gpu::Conv::Pass pass;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  const void* x_data = nullptr;  // the input or dx
  const void* w_data = nullptr;  // the filter or dw
  const void* y_data = nullptr;  // the output or dy
};

struct Launch {
  enum Kind : uint8_t { kKernel, kCopy, kGemm, kZero, kConv } kind = kKernel;
  const void* function = nullptr;
  dim3 grid, block;
  std::vector<uint64_t> slots;  // one per argument (each at most 8 bytes)
  std::vector<void*> pointers;  // to the slots, for cudaLaunchKernel
  void* dst = nullptr;
  const void* src = nullptr;
  size_t bytes = 0;
  Sgemm sgemm{};
  ConvCall conv;
};

struct Prepared {
  Device* device = nullptr;
  std::vector<Launch> launches;
  std::vector<void*> owned;  // tables, scratch, workspaces
};

void destroy_prepared(void* state) {
  auto* prepared = static_cast<Prepared*>(state);
  for (Launch& launch : prepared->launches) {
    if (launch.kind != Launch::kConv) continue;
    cudnnDestroyTensorDescriptor(launch.conv.x);
    cudnnDestroyTensorDescriptor(launch.conv.y);
    cudnnDestroyFilterDescriptor(launch.conv.w);
    cudnnDestroyConvolutionDescriptor(launch.conv.conv);
  }
  for (void* memory : prepared->owned) cudaFree(memory);
  delete prepared;
}

Status run_conv(const ConvCall& c) {
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = runtime().cudnn;
  switch (c.pass) {
    case gpu::Conv::kForward:
      PF_CUDNN(cudnnConvolutionForward(handle, &one, c.x, c.x_data, c.w, c.w_data, c.conv,
                                       static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), c.workspace, c.workspace_bytes, &zero,
                                       c.y, const_cast<void*>(c.y_data)),
               "convolution forward");
      break;
    case gpu::Conv::kBackwardInput:
      PF_CUDNN(cudnnConvolutionBackwardData(handle, &one, c.w, c.w_data, c.y, c.y_data, c.conv,
                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), c.workspace,
                                            c.workspace_bytes, &zero, c.x, const_cast<void*>(c.x_data)),
               "convolution backward data");
      break;
    case gpu::Conv::kBackwardWeight:
      PF_CUDNN(cudnnConvolutionBackwardFilter(handle, &one, c.x, c.x_data, c.y, c.y_data, c.conv,
                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), c.workspace,
                                              c.workspace_bytes, &zero, c.w, const_cast<void*>(c.w_data)),
               "convolution backward filter");
      break;
  }
  return Status::ok();
}

Status run_prepared(void* state) {
  const auto* prepared = static_cast<const Prepared*>(state);
  const Runtime& rt = runtime();
  for (const Launch& launch : prepared->launches) {
    switch (launch.kind) {
      case Launch::kKernel:
        PF_CUDA(cudaLaunchKernel(launch.function, launch.grid, launch.block, const_cast<void**>(launch.pointers.data()), 0,
                                 rt.stream),
                "launching a kernel");
        break;
      case Launch::kCopy:
        PF_CUDA(cudaMemcpyAsync(launch.dst, launch.src, launch.bytes, cudaMemcpyDeviceToDevice, rt.stream), "a copy");
        break;
      case Launch::kZero: PF_CUDA(cudaMemsetAsync(launch.dst, 0, launch.bytes, rt.stream), "zeroing"); break;
      case Launch::kGemm: {
        const Sgemm& g = launch.sgemm;
        const float one = 1.0f;
        PF_CUBLAS(rt.blas->sgemm(rt.cublas, g.op_x, g.op_y, g.n, g.m, g.k, &one, g.x, g.ld_x, g.y, g.ld_y, &g.beta, g.c, g.n),
                  "cublasSgemm");
        break;
      }
      case Launch::kConv: PF_RETURN_IF_ERROR(run_conv(launch.conv)); break;
    }
  }
  return Status::ok();
}

Status owned(Prepared* prepared, const void* data, size_t bytes, void** out) {
  const cudaError_t error = cudaMalloc(out, bytes ? bytes : 4);
  PF_CHECK(error == cudaSuccess, Error::kOutOfMemory, "CUDA: cannot allocate %zu bytes: %s", bytes, cudaGetErrorString(error));
  prepared->owned.push_back(*out);
  if (data && bytes) PF_CUDA(cudaMemcpy(*out, data, bytes, cudaMemcpyHostToDevice), "uploading a table");
  return Status::ok();
}

// A kernel launch with its argument slots filled: a tensor is its region's address and the byte
// offset (the kernels' B(T, name)); a missing one the status word.
class KernelLaunch {
 public:
  KernelLaunch(Prepared* prepared, const char* name) : prepared_(prepared) {
    launch_.kind = Launch::kKernel;
    launch_.function = find_kernel(name);
    name_ = name;
  }
  void pointer(const void* p, uint64_t offset) {
    uint64_t slot = 0;
    std::memcpy(&slot, &p, sizeof p);
    launch_.slots.push_back(slot);
    launch_.slots.push_back(offset);
  }
  Status tensor(const TensorView& view) {
    if (view.data == nullptr) {
      pointer(prepared_->device->status, 0);
      return Status::ok();
    }
    uint8_t* at = locate(*prepared_->device, view.data, view.desc.num_bytes());
    PF_CHECK(at != nullptr, Error::kInternal, "CUDA: kernel %s: a tensor is in no region of the device", name_);
    pointer(at, 0);
    return Status::ok();
  }
  void value32(const void* v) {
    uint64_t slot = 0;
    std::memcpy(&slot, v, 4);
    launch_.slots.push_back(slot);
  }
  void raw(const void* p) {
    uint64_t slot = 0;
    std::memcpy(&slot, &p, sizeof p);
    launch_.slots.push_back(slot);
  }
  Status add(int64_t items, int group) {
    PF_CHECK(launch_.function != nullptr, Error::kInternal, "CUDA: no kernel %s", name_);
    const unsigned block = group > 0 ? static_cast<unsigned>(group) : 256u;
    launch_.block = dim3(block);
    launch_.grid = dim3(group > 0 ? 1u : static_cast<unsigned>((items + block - 1) / block));
    for (uint64_t& slot : launch_.slots) launch_.pointers.push_back(&slot);
    prepared_->launches.push_back(std::move(launch_));
    // The slots moved with the vector's buffer: the pointers stay valid.
    return Status::ok();
  }

 private:
  Prepared* prepared_;
  const char* name_;
  Launch launch_;
};

Status kernel_step(Prepared* prepared, const gpu::Step& step, const std::vector<void*>& tables, const std::vector<void*>& scratch) {
  KernelLaunch launch(prepared, step.kernel);
  for (const gpu::Arg& arg : step.args) {
    switch (arg.kind) {
      case gpu::Arg::kTensor: PF_RETURN_IF_ERROR(launch.tensor(arg.view)); break;
      case gpu::Arg::kTable: launch.pointer(tables[static_cast<size_t>(arg.index)], 0); break;
      case gpu::Arg::kScratch: launch.pointer(scratch[static_cast<size_t>(arg.index)], 0); break;
      case gpu::Arg::kInt: {
        const int32_t v = static_cast<int32_t>(arg.i);
        launch.value32(&v);
        break;
      }
      case gpu::Arg::kUint: {
        const uint32_t v = static_cast<uint32_t>(arg.i);
        launch.value32(&v);
        break;
      }
      case gpu::Arg::kFloat: launch.value32(&arg.f); break;
      case gpu::Arg::kStatus: launch.raw(prepared->device->status); break;
    }
  }
  return launch.add(step.items, step.group);
}

// C = A B per output matrix on cuBLAS (column-major): the row-major C [M, N] is the column-major
// C^T [N, M] = X Y with X(n, k) = B(k, n) and Y(k, m) = A(m, k); each is a stored column-major
// matrix or the transpose of one, by which of its strides is 1.
Status gemm(Prepared* prepared, const gpu::Gemm& g, const std::vector<void*>&) {
  Device& device = *prepared->device;
  auto* a = reinterpret_cast<const float*>(locate(device, g.a.data, g.a.desc.num_bytes()));
  auto* b = reinterpret_cast<const float*>(locate(device, g.b.data, g.b.desc.num_bytes()));
  auto* c = reinterpret_cast<float*>(locate(device, g.c.data, g.c.desc.num_bytes()));
  PF_CHECK(a && b && c, Error::kInternal, "CUDA: a matrix is in no region of the device");
  Sgemm base{};
  base.n = static_cast<int>(g.N), base.m = static_cast<int>(g.M), base.k = static_cast<int>(g.K);
  if (g.b_sn == 1) {
    base.op_x = CUBLAS_OP_N, base.ld_x = static_cast<int>(std::max<int64_t>(g.b_sk, std::max<int64_t>(g.N, 1)));
  } else {
    PF_CHECK(g.b_sk == 1, Error::kInternal, "CUDA: a matrix operand without a unit stride");
    base.op_x = CUBLAS_OP_T, base.ld_x = static_cast<int>(std::max<int64_t>(g.b_sn, std::max<int64_t>(g.K, 1)));
  }
  if (g.a_sk == 1) {
    base.op_y = CUBLAS_OP_N, base.ld_y = static_cast<int>(std::max<int64_t>(g.a_sm, std::max<int64_t>(g.K, 1)));
  } else {
    PF_CHECK(g.a_sm == 1, Error::kInternal, "CUDA: a matrix operand without a unit stride");
    base.op_y = CUBLAS_OP_T, base.ld_y = static_cast<int>(std::max<int64_t>(g.a_sk, std::max<int64_t>(g.M, 1)));
  }
  for (size_t j = 0; j < g.terms.size(); ++j) {
    float* out = c + static_cast<int64_t>(j) * g.M * g.N;
    if (g.terms[j].empty() || g.K == 0) {
      Launch zero;
      zero.kind = Launch::kZero;
      zero.dst = out;
      zero.bytes = static_cast<size_t>(g.M * g.N) * sizeof(float);
      prepared->launches.push_back(std::move(zero));
      continue;
    }
    for (size_t t = 0; t < g.terms[j].size(); ++t) {
      Launch launch;
      launch.kind = Launch::kGemm;
      launch.sgemm = base;
      launch.sgemm.x = b + g.terms[j][t].second;
      launch.sgemm.y = a + g.terms[j][t].first;
      launch.sgemm.c = out;
      launch.sgemm.beta = t == 0 ? 0.0f : 1.0f;
      prepared->launches.push_back(std::move(launch));
    }
  }
  if (g.bias.data) {
    const int64_t rows = g.M * static_cast<int64_t>(g.terms.size());
    KernelLaunch bias(prepared, "add_row_vector");
    PF_RETURN_IF_ERROR(bias.tensor(g.c));
    PF_RETURN_IF_ERROR(bias.tensor(g.bias));
    const int32_t r = static_cast<int32_t>(rows), n = static_cast<int32_t>(g.N);
    bias.value32(&r);
    bias.value32(&n);
    PF_RETURN_IF_ERROR(bias.add(rows * g.N, 0));
  }
  return Status::ok();
}

// An algorithm that computes in FP32 (the descriptor asks for FMA math; tensor-core entries,
// which would round inputs to TF32 or FP16, are skipped).
bool fp32_math(cudnnMathType_t math) { return math == CUDNN_FMA_MATH || math == CUDNN_DEFAULT_MATH; }

// The convolution pass on cuDNN, or false in *used when cuDNN's descriptor cannot express it
// (asymmetric padding): the step's direct kernel runs it then.
Status conv(Prepared* prepared, const gpu::Conv& pass, bool* used) {
  const Conv2dAttrs& a = pass.attrs;
  *used = false;
  if (a.pad_top != a.pad_bottom || a.pad_left != a.pad_right) return Status::ok();
  Device& device = *prepared->device;
  const TensorDesc &xd = pass.x.desc, &wd = pass.w.desc, &yd = pass.y.desc;
  Launch launch;
  launch.kind = Launch::kConv;
  ConvCall& c = launch.conv;
  c.pass = pass.pass;
  c.x_data = locate(device, pass.x.data, xd.num_bytes());
  c.w_data = locate(device, pass.w.data, wd.num_bytes());
  c.y_data = locate(device, pass.y.data, yd.num_bytes());
  PF_CHECK(c.x_data && c.w_data && c.y_data, Error::kInternal, "CUDA: a convolution tensor is in no region of the device");
  const auto made = [&](Status status) {
    if (!status.is_ok()) {
      cudnnDestroyTensorDescriptor(c.x);
      cudnnDestroyTensorDescriptor(c.y);
      cudnnDestroyFilterDescriptor(c.w);
      cudnnDestroyConvolutionDescriptor(c.conv);
    }
    return status;
  };
  const auto describe = [&]() -> Status {
    PF_CUDNN(cudnnCreateTensorDescriptor(&c.x), "cudnnCreateTensorDescriptor");
    PF_CUDNN(cudnnCreateTensorDescriptor(&c.y), "cudnnCreateTensorDescriptor");
    PF_CUDNN(cudnnCreateFilterDescriptor(&c.w), "cudnnCreateFilterDescriptor");
    PF_CUDNN(cudnnCreateConvolutionDescriptor(&c.conv), "cudnnCreateConvolutionDescriptor");
    PF_CUDNN(cudnnSetTensor4dDescriptor(c.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, static_cast<int>(xd.dims[0]),
                                        static_cast<int>(xd.dims[3]), static_cast<int>(xd.dims[1]), static_cast<int>(xd.dims[2])),
             "the input descriptor");
    PF_CUDNN(cudnnSetTensor4dDescriptor(c.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, static_cast<int>(yd.dims[0]),
                                        static_cast<int>(yd.dims[3]), static_cast<int>(yd.dims[1]), static_cast<int>(yd.dims[2])),
             "the output descriptor");
    PF_CUDNN(cudnnSetFilter4dDescriptor(c.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, static_cast<int>(wd.dims[0]),
                                        static_cast<int>(wd.dims[3]), static_cast<int>(wd.dims[1]), static_cast<int>(wd.dims[2])),
             "the filter descriptor");
    PF_CUDNN(cudnnSetConvolution2dDescriptor(c.conv, a.pad_top, a.pad_left, a.stride_h, a.stride_w, a.dilation_h, a.dilation_w,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
             "the convolution descriptor");
    PF_CUDNN(cudnnSetConvolutionGroupCount(c.conv, a.groups), "cudnnSetConvolutionGroupCount");
    // FP32 arithmetic as the reference does it: no TF32 tensor cores.
    PF_CUDNN(cudnnSetConvolutionMathType(c.conv, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
    constexpr int kAsked = 8;
    int returned = 0;
    cudnnHandle_t handle = runtime().cudnn;
    // The fastest of cuDNN's heuristic picks that succeeds with FP32 math.
    if (c.pass == gpu::Conv::kForward) {
      cudnnConvolutionFwdAlgoPerf_t found[kAsked];
      PF_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(handle, c.x, c.w, c.conv, c.y, kAsked, &returned, found), "choosing an algorithm");
      for (int i = 0; i < returned; ++i) {
        if (found[i].status == CUDNN_STATUS_SUCCESS && fp32_math(found[i].mathType)) {
          c.algo = static_cast<int>(found[i].algo), c.workspace_bytes = found[i].memory;
          return Status::ok();
        }
      }
    } else if (c.pass == gpu::Conv::kBackwardInput) {
      cudnnConvolutionBwdDataAlgoPerf_t found[kAsked];
      PF_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, c.w, c.y, c.conv, c.x, kAsked, &returned, found),
               "choosing an algorithm");
      for (int i = 0; i < returned; ++i) {
        if (found[i].status == CUDNN_STATUS_SUCCESS && fp32_math(found[i].mathType)) {
          c.algo = static_cast<int>(found[i].algo), c.workspace_bytes = found[i].memory;
          return Status::ok();
        }
      }
    } else {
      cudnnConvolutionBwdFilterAlgoPerf_t found[kAsked];
      PF_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, c.x, c.y, c.conv, c.w, kAsked, &returned, found),
               "choosing an algorithm");
      for (int i = 0; i < returned; ++i) {
        if (found[i].status == CUDNN_STATUS_SUCCESS && fp32_math(found[i].mathType)) {
          c.algo = static_cast<int>(found[i].algo), c.workspace_bytes = found[i].memory;
          return Status::ok();
        }
      }
    }
    return Status::error(Error::kUnsupported, "cuDNN offers no FP32 algorithm for this convolution");
  };
  const Status status = made(describe());
  if (status.code() == Error::kUnsupported) return Status::ok();  // the direct kernel runs it
  PF_RETURN_IF_ERROR(status);
  if (c.workspace_bytes) {
    const Status allocated = owned(prepared, nullptr, c.workspace_bytes, &c.workspace);
    if (!allocated.is_ok()) return made(allocated);
  }
  prepared->launches.push_back(std::move(launch));
  *used = true;
  if (pass.pass == gpu::Conv::kForward && pass.bias.data) {
    const int64_t rows = yd.dims[0] * yd.dims[1] * yd.dims[2], cols = yd.dims[3];
    KernelLaunch bias(prepared, "add_row_vector");
    PF_RETURN_IF_ERROR(bias.tensor(pass.y));
    PF_RETURN_IF_ERROR(bias.tensor(pass.bias));
    const int32_t r = static_cast<int32_t>(rows), n = static_cast<int32_t>(cols);
    bias.value32(&r);
    bias.value32(&n);
    PF_RETURN_IF_ERROR(bias.add(rows * cols, 0));
  }
  return Status::ok();
}

Status compile(const gpu::Lowered& lowered, Prepared* prepared) {
  std::vector<void*> tables, scratch;
  for (const std::vector<int>& table : lowered.tables) {
    tables.push_back(nullptr);
    PF_RETURN_IF_ERROR(owned(prepared, table.data(), table.size() * sizeof(int), &tables.back()));
  }
  for (int64_t count : lowered.scratch) {
    scratch.push_back(nullptr);
    PF_RETURN_IF_ERROR(owned(prepared, nullptr, static_cast<size_t>(count) * sizeof(float), &scratch.back()));
  }
  for (const gpu::Step& step : lowered.steps) {
    switch (step.kind) {
      case gpu::Step::kCopy: {
        Launch copy;
        copy.kind = Launch::kCopy;
        copy.bytes = step.to.desc.num_bytes();
        copy.src = locate(*prepared->device, step.from.data, copy.bytes);
        copy.dst = locate(*prepared->device, step.to.data, copy.bytes);
        PF_CHECK(copy.src && copy.dst, Error::kInternal, "CUDA: a copied tensor is in no region of the device");
        prepared->launches.push_back(std::move(copy));
        break;
      }
      case gpu::Step::kGemm: PF_RETURN_IF_ERROR(gemm(prepared, step.gemm, tables)); break;
      case gpu::Step::kKernel: {
        bool on_cudnn = false;
        if (step.has_conv) PF_RETURN_IF_ERROR(conv(prepared, step.conv, &on_cudnn));
        if (!on_cudnn) PF_RETURN_IF_ERROR(kernel_step(prepared, step, tables, scratch));
        break;
      }
    }
  }
  return Status::ok();
}

Status prepare(const Model& model, const NodeInfo& node, const PrepareArgs& args, PreparedKernel* prepared) {
  PF_CHECK(args.device != nullptr, Error::kInternal, "the CUDA backend prepares nodes only on an open device");
  auto* state = new Prepared();
  state->device = static_cast<Device*>(args.device);
  const int index = static_cast<int>(&node - model.nodes().data());
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

Status load_cublas_entry_points() {
  const Cublas* cublas = nullptr;
  return load_cublas(&cublas);
}

uint64_t transfers() { return g_transfers.load(); }

Status sgemm_gflops(int n, int repeats, double* gflops) {
  Runtime& rt = runtime();
  PF_RETURN_IF_ERROR(rt.status);
  const size_t bytes = static_cast<size_t>(n) * n * sizeof(float);
  float* memory = nullptr;
  PF_CUDA(cudaMalloc(&memory, 3 * bytes), "cudaMalloc");
  PF_CUDA(cudaMemset(memory, 0, 3 * bytes), "cudaMemset");
  const float one = 1.0f, zero = 0.0f;
  cudaEvent_t start = nullptr, stop = nullptr;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  double best = 0.0;
  Status status;
  for (int r = 0; r <= repeats && status.is_ok(); ++r) {  // the first is a warm-up
    cudaEventRecord(start, rt.stream);
    if (rt.blas->sgemm(rt.cublas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, memory, n, memory + n * n, n, &zero,
                    memory + 2 * n * n, n) != CUBLAS_STATUS_SUCCESS) {
      status = Status::error(Error::kInternal, "cuBLAS: cublasSgemm failed");
    }
    cudaEventRecord(stop, rt.stream);
    cudaEventSynchronize(stop);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    if (r > 0 && ms > 0) best = std::max(best, 2.0 * n * static_cast<double>(n) * n / (ms * 1e-3) / 1e9);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(memory);
  *gflops = best;
  return status;
}

}  // namespace cuda

const Backend* cuda_backend() {
  static constexpr Backend backend = [] {
    Backend b;
    b.name = "cuda";
    b.supports = gpu::supports;
    b.kernel = cuda::no_kernel;
    b.backward_kernel = cuda::no_backward_kernel;
    b.prepare = cuda::prepare;
    b.device = &cuda::kDeviceOps;
    return b;
  }();
  return &backend;
}

}  // namespace preflight
