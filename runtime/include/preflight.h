/* preflight C API: load a .pfb model and run its methods from C (or any language with a C FFI).
 *
 * Ownership: pf_session_open_* returns a session the caller frees with pf_session_close.
 * pf_session_open_bytes borrows the bytes: they must stay alive and unchanged until the session is
 * closed, and start at a 16-byte aligned address. Every call that can fail returns a pf_status;
 * on failure the message is in pf_session_last_error (or in the error buffer of the open calls),
 * naming the method, argument or node and the expected vs actual value. Nothing here throws.
 * A session runs one call at a time. */
#ifndef PREFLIGHT_H_
#define PREFLIGHT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  PF_OK = 0,
  PF_INVALID_ARGUMENT = 10,
  PF_NOT_FOUND = 11,
  PF_IO_ERROR = 12,
  PF_INVALID_MODEL = 20,
  PF_UNSUPPORTED = 21,
  PF_RESOURCE_LIMIT = 30,
  PF_OUT_OF_MEMORY = 31,
  PF_INTERNAL = 40
} pf_status;

/* Values equal the schema's DType enum. */
typedef enum { PF_F32 = 0, PF_I32 = 1, PF_I64 = 2, PF_U8 = 3, PF_BOOL = 4 } pf_dtype;

#define PF_MAX_RANK 6

typedef struct {
  pf_dtype dtype;
  int rank;
  int64_t dims[PF_MAX_RANK];
  void* data; /* caller memory: read for inputs, written for outputs */
} pf_tensor;

typedef struct pf_session pf_session;

/* Opens a model file (mapped read-only, verified, every method prepared). On failure *session is
 * NULL and the message is written to error (error_capacity bytes, may be 0). */
pf_status pf_session_open_file(const char* path, pf_session** session, char* error, size_t error_capacity);
pf_status pf_session_open_bytes(const void* bytes, size_t size, pf_session** session, char* error,
                                size_t error_capacity);
void pf_session_close(pf_session* session);

/* The signature of a method: counts, and the description of each argument (data left NULL).
 * Returns -1 from the count functions for a method the model does not have. */
int pf_session_num_inputs(const pf_session* session, const char* method);
int pf_session_num_outputs(const pf_session* session, const char* method);
pf_status pf_session_input_info(pf_session* session, const char* method, int index, pf_tensor* info);
pf_status pf_session_output_info(pf_session* session, const char* method, int index, pf_tensor* info);

/* Runs a method: inputs and outputs must match its signature in dtype and shape. */
pf_status pf_session_run(pf_session* session, const char* method, const pf_tensor* inputs, int num_inputs,
                         pf_tensor* outputs, int num_outputs);

/* The message of the last failed call on this session ("ok" when none failed). */
const char* pf_session_last_error(const pf_session* session);

#ifdef __cplusplus
}
#endif

#endif /* PREFLIGHT_H_ */
