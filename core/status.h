// Status and Result<T>: errors are values in preflight's device-side code.
//
// The device library builds with -fno-exceptions, so failures travel as return values, as in
// ExecuTorch's runtime/core/error.h. A Status carries a code and a message that names the place
// (method, node, op, tensor) and the expected vs actual value. The message lives in a fixed buffer
// so that reporting an error never allocates.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

namespace preflight {

// Grouped by range: 0 ok, 1x caller errors, 2x model errors, 3x resource errors, 4x internal.
enum class Error : uint8_t {
  kOk = 0,
  kInvalidArgument = 10,  // the caller passed something wrong (shape, dtype, method name)
  kNotFound = 11,         // no such method, tensor or file
  kIoError = 12,          // a file could not be read or written
  kInvalidModel = 20,     // the model bytes fail verification
  kUnsupported = 21,      // a valid construct this build cannot run
  kResourceLimit = 30,    // a configured limit (arena bytes, tensor count, ...) was exceeded
  kOutOfMemory = 31,
  kInternal = 40,
};

const char* error_name(Error error);

class Status {
 public:
  static constexpr size_t kMessageCapacity = 384;

  Status() = default;
  static Status ok() { return Status(); }

  // printf-style message; truncated to kMessageCapacity - 1 characters.
  static Status error(Error code, const char* format, ...) __attribute__((format(printf, 2, 3))) {
    Status status;
    status.code_ = code;
    va_list args;
    va_start(args, format);
    std::vsnprintf(status.message_, kMessageCapacity, format, args);
    va_end(args);
    return status;
  }

  bool is_ok() const { return code_ == Error::kOk; }
  explicit operator bool() const { return is_ok(); }
  Error code() const { return code_; }
  const char* message() const { return code_ == Error::kOk ? "ok" : message_; }

  // Prepends context ("method 'infer': ") to the message, keeping the code.
  Status with_context(const char* format, ...) const __attribute__((format(printf, 2, 3)));

 private:
  Error code_ = Error::kOk;
  char message_[kMessageCapacity] = {0};
};

// A value or the Status that explains why there is none. T need not be default-constructible.
template <typename T>
class Result {
 public:
  Result(T value) : has_value_(true) { new (&storage_) T(std::move(value)); }  // NOLINT: implicit on purpose
  Result(Status status) : status_(status) {                                    // NOLINT
    if (status_.is_ok()) status_ = Status::error(Error::kInternal, "Result built from an ok Status");
  }
  Result(Result&& other) noexcept : status_(other.status_), has_value_(other.has_value_) {
    if (has_value_) new (&storage_) T(std::move(*other.ptr()));
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;
  ~Result() {
    if (has_value_) ptr()->~T();
  }

  bool is_ok() const { return has_value_; }
  explicit operator bool() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & { return *ptr(); }
  const T& value() const& { return *ptr(); }
  T&& value() && { return std::move(*ptr()); }
  T* operator->() { return ptr(); }
  const T* operator->() const { return ptr(); }
  T& operator*() { return *ptr(); }

 private:
  T* ptr() { return reinterpret_cast<T*>(&storage_); }
  const T* ptr() const { return reinterpret_cast<const T*>(&storage_); }

  Status status_;
  bool has_value_ = false;
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace preflight

// Returns a Status from the enclosing function when the condition fails.
#define PF_CHECK(condition, code, ...)                                        \
  do {                                                                        \
    if (!(condition)) return ::preflight::Status::error(code, __VA_ARGS__);   \
  } while (0)

// Propagates a failed Status (or a failed Result's status).
#define PF_RETURN_IF_ERROR(expression)                       \
  do {                                                       \
    const ::preflight::Status pf_status_ = (expression);     \
    if (!pf_status_.is_ok()) return pf_status_;              \
  } while (0)
