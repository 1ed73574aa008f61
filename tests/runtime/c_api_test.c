/* The C API, used from C with nothing but preflight.h. Arguments: model.pfb input.npy expected.npy
 * (the expected logits were written by `preflight run`, the C++ path). Prints "N passed, N failed". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preflight.h"

static int passed = 0, failed = 0;

#define EXPECT(condition)                                                 \
  do {                                                                    \
    if (condition) {                                                      \
      ++passed;                                                           \
    } else {                                                              \
      ++failed;                                                           \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #condition); \
    }                                                                     \
  } while (0)

/* Reads the float32 data of a NumPy .npy file (version 1.0 header). */
static float* read_npy_floats(const char* path, size_t* count) {
  FILE* file = fopen(path, "rb");
  if (!file) return NULL;
  unsigned char preamble[10];
  if (fread(preamble, 1, 10, file) != 10 || memcmp(preamble, "\x93NUMPY", 6) != 0) {
    fclose(file);
    return NULL;
  }
  const long header = preamble[8] | (preamble[9] << 8);
  fseek(file, 0, SEEK_END);
  const long size = ftell(file);
  fseek(file, 10 + header, SEEK_SET);
  *count = (size_t)(size - 10 - header) / sizeof(float);
  float* data = malloc(*count * sizeof(float));
  if (data && fread(data, sizeof(float), *count, file) != *count) {
    free(data);
    data = NULL;
  }
  fclose(file);
  return data;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: c_api_test model.pfb input.npy expected.npy\n");
    return 2;
  }
  char error[256];
  pf_session* session = NULL;

  EXPECT(pf_session_open_file("/nonexistent.pfb", &session, error, sizeof error) == PF_NOT_FOUND);
  EXPECT(session == NULL);
  EXPECT(strstr(error, "/nonexistent.pfb") != NULL);

  EXPECT(pf_session_open_file(argv[1], &session, error, sizeof error) == PF_OK);
  if (!session) {
    fprintf(stderr, "cannot open %s: %s\n", argv[1], error);
    return 1;
  }
  EXPECT(pf_session_num_inputs(session, "infer") == 1);
  EXPECT(pf_session_num_outputs(session, "infer") == 1);
  EXPECT(pf_session_num_inputs(session, "train_step") == -1);

  pf_tensor in_info, out_info;
  EXPECT(pf_session_input_info(session, "infer", 0, &in_info) == PF_OK);
  EXPECT(pf_session_output_info(session, "infer", 0, &out_info) == PF_OK);
  EXPECT(in_info.dtype == PF_F32 && in_info.rank == 4 && in_info.dims[0] == 8 && in_info.dims[1] == 8);
  EXPECT(out_info.rank == 2 && out_info.dims[0] == 8 && out_info.dims[1] == 10);
  EXPECT(pf_session_input_info(session, "infer", 3, &in_info) == PF_INVALID_ARGUMENT);

  size_t input_count = 0, expected_count = 0;
  float* input = read_npy_floats(argv[2], &input_count);
  float* expected = read_npy_floats(argv[3], &expected_count);
  EXPECT(input != NULL && input_count == 8 * 64);
  EXPECT(expected != NULL && expected_count == 80);
  if (!input || !expected) return 1;

  float logits[80];
  pf_tensor in = in_info, out = out_info;
  in.data = input;
  out.data = logits;
  EXPECT(pf_session_run(session, "infer", &in, 1, &out, 1) == PF_OK);
  int same = 1;
  for (int i = 0; i < 80; ++i) same = same && logits[i] == expected[i];
  EXPECT(same); /* C and C++ callers get the same bits */

  /* A wrong shape is refused, with the message on the session. */
  pf_tensor bad = in;
  bad.dims[0] = 3;
  EXPECT(pf_session_run(session, "infer", &bad, 1, &out, 1) == PF_INVALID_ARGUMENT);
  EXPECT(strstr(pf_session_last_error(session), "expected f32[8,8,8,1], got f32[3,8,8,1]") != NULL);
  EXPECT(pf_session_run(session, "nope", &in, 1, &out, 1) == PF_NOT_FOUND);
  EXPECT(pf_session_run(session, "infer", &in, 1, &out, 1) == PF_OK);
  EXPECT(strcmp(pf_session_last_error(session), "ok") == 0);

  pf_session_close(session);
  free(input);
  free(expected);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
