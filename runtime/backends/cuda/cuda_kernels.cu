// The CUDA backend's own kernels: the GPU kernel files (runtime/backends/gpu/kernels_common.cl and
// runtime/backends/gpu/ops/*.cl, joined by CMake into gpu_kernels.cl) compiled as CUDA C++, with
// the few OpenCL names they use mapped here. One source for both GPU backends, so the OpenCL tests on
// PoCL (CI) check the code the CUDA backend runs besides cuBLAS and cuDNN. This file includes no
// preflight header: runtime/backends/cuda/cuda_backend.cc looks the kernels up by name.
#include <cuda_runtime.h>

#include <cmath>
#include <cstring>

typedef unsigned int uint;
typedef unsigned long ulong;
#define __kernel extern "C" __global__
#define __global
#define __local __shared__
#define PF_DEVICE __device__
#define CLK_LOCAL_MEM_FENCE 0
#define barrier(fence) __syncthreads()
#define atomic_cmpxchg(p, compare, value) atomicCAS(p, compare, value)

__device__ inline size_t get_global_id(int d) {
  return d == 0 ? blockIdx.x * blockDim.x + threadIdx.x
       : d == 1 ? blockIdx.y * blockDim.y + threadIdx.y
                : blockIdx.z * blockDim.z + threadIdx.z;
}
__device__ inline size_t get_local_id(int d) { return d == 0 ? threadIdx.x : d == 1 ? threadIdx.y : threadIdx.z; }
__device__ inline size_t get_group_id(int d) { return d == 0 ? blockIdx.x : d == 1 ? blockIdx.y : blockIdx.z; }

#include "gpu_kernels.cl"  // generated

namespace preflight {
namespace cuda {

struct KernelEntry {
  const char* name;
  const void* function;
};

#define PF_KERNEL(name) {#name, reinterpret_cast<const void*>(&name)},
// Every kernel of the GPU kernel files, for cuda_backend.cc (which launches them with
// cudaLaunchKernel); the list is generated from their __kernel declarations.
extern const KernelEntry kKernels[] = {
#include "gpu_kernel_table.inc"
    {nullptr, nullptr}};

}  // namespace cuda
}  // namespace preflight
