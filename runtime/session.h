// Session: a model with every method prepared and one arena, ready to run.
//
//   auto model = Model::load_file("cnn8.pfb");          // verify
//   auto session = Session::open(std::move(*model));   // prepare: plan, pick kernels, allocate
//   session->run("infer", &input, 1, &output, 1);      // run: copy in, compute, copy out
//
// All allocation happens in open(); run() allocates nothing. One arena serves every method (its
// size is the largest method's plan), so only one run is in flight per Session.
#pragma once

#include <memory>
#include <vector>

#include "runtime/backend.h"
#include "runtime/model.h"
#include "runtime/program.h"

namespace preflight {

struct SessionOptions {
  const Backend* backend = nullptr;  // nullptr: the reference backend
  // Give every Parameter a writable copy too, not only the ones a method updates (for checks
  // that perturb weights, such as finite differences).
  bool writable_parameters = false;
  // Caller memory for the arena and the writable copies of trained tensors (a device's static
  // buffer), aligned to kBufferAlignment; null: the session allocates them. Too small a buffer is
  // refused with the size it needs (Session::memory_bytes() of a session opened without one).
  uint8_t* memory = nullptr;
  size_t memory_bytes = 0;
};

class Session {
 public:
  static Result<Session> open(Model model, const SessionOptions& options = SessionOptions());

  // Runs `method`. inputs[i] must match the method's input i in dtype and shape; outputs[i] must
  // match output i and point at caller memory that receives the result. Errors name the method,
  // the argument and the expected vs actual description.
  Status run(const char* method, const TensorView* inputs, int num_inputs, TensorView* outputs, int num_outputs);

  // Check-numerics mode: every run checks each value a node writes and stops at the first NaN or
  // Inf with an error naming the method, node, op and tensor (Program::run).
  void set_check_numerics(bool on) { check_numerics_ = on; }

  const Model& model() const { return *model_; }
  // The current bytes of persistent tensor `t`: the writable copy for tensors that a method
  // updates in place (trainable parameters, optimizer state), else the model's own bytes. On a
  // device backend the copy is fetched from the device first when a run changed it there.
  const void* persistent_data(int t) const;
  // The writable copy of `t`, or nullptr when no method updates it (to load a checkpoint). On a
  // device backend: fetched like persistent_data, and sent back before the next run (the caller
  // may have written it). Write through the pointer before the next run only: to write after a
  // run, ask for it again.
  void* writable_data(int t) const;
  // Whether `t` has a writable copy (a method updates it), without fetching or marking it.
  bool is_writable(int t) const { return writable_[static_cast<size_t>(t)] != nullptr; }
  // On a device backend: fetches every persistent tensor a run changed on the device, and reports
  // a failed fetch of persistent_data or writable_data (which cannot). Ok and nothing to do on
  // the others. Call it before reading many tensors (a checkpoint) to learn of a lost device.
  Status sync_to_host() const;
  const Program& program(int method_index) const { return programs_[static_cast<size_t>(method_index)]; }
  size_t arena_bytes() const { return arena_bytes_; }
  // The bytes this session's arena and writable copies take (what SessionOptions::memory needs).
  size_t memory_bytes() const { return memory_bytes_; }

 private:
  struct FreeDeleter {
    void operator()(uint8_t* p) const;
  };
  // An open device of a device backend, closed last (after the Programs that use it).
  struct Device {
    const DeviceOps* ops = nullptr;
    void* handle = nullptr;
    Device() = default;
    Device(Device&& other) noexcept : ops(other.ops), handle(other.handle) { other.handle = nullptr; }
    Device& operator=(Device&& other) noexcept;
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    ~Device();
  };
  Session() = default;
  bool on_device() const { return kDeviceBackends && device_.handle != nullptr; }
  void fetch(int t) const;
  // Method output t (bytes at `at`, its host copy) fetched from the device.
  Status fetch_output(int t, void* at, size_t bytes) const;

  std::unique_ptr<Model> model_;  // heap: Programs keep pointers to it across moves
  Device device_;                 // declared before programs_: destroyed after them
  std::vector<Program> programs_;
  std::unique_ptr<uint8_t, FreeDeleter> owned_;  // the arena and writable copies, unless the caller gave memory
  size_t arena_bytes_ = 0;
  size_t memory_bytes_ = 0;
  // Tensors that some method updates in place live in one writable block, copied from the model
  // at open; writable_[t] points into it (nullptr for the others).
  std::vector<void*> writable_;
  bool check_numerics_ = false;
  // With a device: per tensor, whether a run changed it on the device since the host copy was
  // fetched, and whether the host copy may have been written since it was sent; per method, the
  // tensors its runs change in place.
  mutable std::vector<uint8_t> device_newer_, host_newer_;
  mutable Status fetch_error_;
  std::vector<std::vector<int>> updated_by_method_;
};

}  // namespace preflight
