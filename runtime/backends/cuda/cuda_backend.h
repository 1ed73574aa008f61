// The CUDA backend's own interface, beside the Backend table (runtime/backend.h): which GPU it
// runs on, its transfer count (tests), and cuBLAS's SGEMM throughput (the GPU bench's yardstick).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/backends/gpu/lowering.h"
#include "core/status.h"

namespace preflight {
namespace cuda {

// The GPU the backend runs on ("NVIDIA H100 80GB HBM3 (compute capability 9.0, 79.1 GiB, cuDNN
// 91900)"), or why there is none ("no CUDA device (...)").
using DeviceInfo = gpu::DeviceInfo;
const DeviceInfo& device_info();

// Opens cuBLAS (it is loaded on first use, not linked: docs/gpu.md) and finds the entry points
// the backend calls; the error names the library or the symbol. Needs no GPU.
Status load_cublas_entry_points();

// How many times bytes crossed between host and device in this process (as opencl::transfers).
uint64_t transfers();

// cuBLAS SGEMM on n x n matrices on the backend's stream: the best of `repeats` timed calls
// after a warm-up, in GFLOP/s.
Status sgemm_gflops(int n, int repeats, double* gflops);

}  // namespace cuda
}  // namespace preflight
