// Replays inputs through a fuzz target without libFuzzer: the regression test of every input a
// fuzzer ever found (tests/fuzz/regressions/TARGET/), built with the rest of the suite (and under
// ASan + UBSan in CI). Arguments: files or folders of inputs. Exits 0 when every input ran.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

int replay(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    std::fprintf(stderr, "replay: %s: no such file or folder\n", path.c_str());
    return -1;
  }
  if (S_ISDIR(info.st_mode)) {
    int count = 0;
    DIR* dir = opendir(path.c_str());
    if (!dir) return -1;
    std::vector<std::string> names;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') names.push_back(entry->d_name);
    }
    closedir(dir);
    for (const std::string& name : names) {
      const int n = replay(path + "/" + name);
      if (n < 0) return n;
      count += n;
    }
    return count;
  }
  std::ifstream file(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  int total = 0;
  for (int i = 1; i < argc; ++i) {
    const int n = replay(argv[i]);
    if (n < 0) return 2;
    total += n;
  }
  std::printf("replayed %d inputs\n", total);
  return 0;
}
