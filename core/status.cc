#include "core/status.h"

namespace preflight {

const char* error_name(Error error) {
  switch (error) {
    case Error::kOk: return "ok";
    case Error::kInvalidArgument: return "invalid argument";
    case Error::kNotFound: return "not found";
    case Error::kIoError: return "i/o error";
    case Error::kInvalidModel: return "invalid model";
    case Error::kUnsupported: return "unsupported";
    case Error::kResourceLimit: return "resource limit";
    case Error::kOutOfMemory: return "out of memory";
    case Error::kInternal: return "internal error";
  }
  return "unknown error";
}

Status Status::with_context(const char* format, ...) const {
  if (is_ok()) return *this;
  Status status;
  status.code_ = code_;
  va_list args;
  va_start(args, format);
  int written = std::vsnprintf(status.message_, kMessageCapacity, format, args);
  va_end(args);
  if (written < 0) written = 0;
  size_t used = static_cast<size_t>(written) < kMessageCapacity ? static_cast<size_t>(written)
                                                                 : kMessageCapacity - 1;
  std::snprintf(status.message_ + used, kMessageCapacity - used, "%s", message_);
  return status;
}

}  // namespace preflight
