// Fuzz target 3: the data readers. The first byte picks the format, the rest is the file: 0 .npy
// (parse_npy), 1 .npz, 2 .csv, 3 .csv.gz (load_dataset, from a file on /dev/shm); a reader must
// return a data set or a Status naming the file, row and column, never crash (docs/reliability.md).
// tests/fuzz/run.sh prefixes the repo's data files with their format byte as seeds.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "trainer/dataset.h"
#include "trainer/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace preflight;
  if (size < 1) return 0;
  const uint8_t format = data[0] % 4;
  ++data;
  --size;
  if (format == 0) {
    Result<NpyArray> array = parse_npy(data, size, "fuzz.npy");
    (void)array;
    return 0;
  }
  static const std::string base = "/dev/shm/preflight-fuzz-" + std::to_string(getpid());
  const std::string path = base + (format == 1 ? ".npz" : format == 2 ? ".csv" : ".csv.gz");
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return 0;
  if (size) std::fwrite(data, 1, size, file);
  std::fclose(file);
  DataOptions options;
  Result<Dataset> loaded = load_dataset(path, options);
  if (loaded.is_ok() && format >= 2) {  // the same bytes as regression targets
    options.regression = true;
    (void)load_dataset(path, options);
  }
  std::remove(path.c_str());
  return 0;
}
