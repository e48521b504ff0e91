/* dlr_probe MODEL_DIR: load a Neo artifact through the DLR C API and run it once, without Python.
 *
 * Linked with -Wl,--no-allow-shlib-undefined it proves that libdlr, libtvm_runtime and libtvm_ffi
 * resolve against the toolchain's C/C++ libraries; run (natively or under qemu-user) it proves the
 * cross-built runtime executes a model. Usage: dlr_probe MODEL_DIR NAME:1x3x224x224 ... (float32
 * inputs); input element i is ((i % 17) - 8) / 8.0. Prints one JSON line with the version, backend
 * and the first output's float32 values (at most 1000).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void* DLRModelHandle;
extern const char* DLRGetLastError(void);
extern int GetDLRVersion(const char** out);
extern int CreateDLRModel(DLRModelHandle* handle, const char* model_path, int dev_type, int dev_id);
extern int DeleteDLRModel(DLRModelHandle* handle);
extern int RunDLRModel(DLRModelHandle* handle);
extern int GetDLRBackend(DLRModelHandle* handle, const char** name);
extern int GetDLRNumInputs(DLRModelHandle* handle, int* num);
extern int GetDLRInputName(DLRModelHandle* handle, int index, const char** name);
extern int GetDLRInputType(DLRModelHandle* handle, int index, const char** type);
extern int SetDLRInput(DLRModelHandle* handle, const char* name, const int64_t* shape, const void* input, int dim);
extern int GetDLROutputSizeDim(DLRModelHandle* handle, int index, int64_t* size, int* dim);
extern int GetDLROutputType(DLRModelHandle* handle, int index, const char** type);
extern int GetDLROutput(DLRModelHandle* handle, int index, void* out);

static int fail(const char* step) {
  fprintf(stderr, "dlr_probe: %s: %s\n", step, DLRGetLastError());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: dlr_probe MODEL_DIR NAME:D0xD1x... [NAME:...]  (float32 inputs)\n");
    return 2;
  }
  const char* version = NULL;
  const char* backend = NULL;
  DLRModelHandle h = NULL;
  if (GetDLRVersion(&version) != 0) return fail("GetDLRVersion");
  if (CreateDLRModel(&h, argv[1], 1, 0) != 0) return fail("CreateDLRModel");
  if (GetDLRBackend(&h, &backend) != 0) return fail("GetDLRBackend");
  for (int a = 2; a < argc; ++a) {
    char name[256];
    int64_t shape[32];
    int ndim = 0;
    const char* colon = strchr(argv[a], ':');
    if (colon == NULL || (size_t)(colon - argv[a]) >= sizeof(name)) return 2;
    memcpy(name, argv[a], colon - argv[a]);
    name[colon - argv[a]] = '\0';
    int64_t count = 1;
    for (char* p = (char*)colon + 1; *p && ndim < 32; ++ndim) {
      shape[ndim] = strtoll(p, &p, 10);
      count *= shape[ndim];
      if (*p == 'x') ++p;
    }
    float* data = malloc(sizeof(float) * (size_t)count);
    if (data == NULL) return 3;
    for (int64_t i = 0; i < count; ++i) data[i] = (float)((i % 17) - 8) / 8.0f;
    int rc = SetDLRInput(&h, name, shape, data, ndim);
    free(data);
    if (rc != 0) return fail("SetDLRInput");
  }
  if (RunDLRModel(&h) != 0) return fail("RunDLRModel");
  int64_t size = 0;
  int dim = 0;
  const char* type = NULL;
  if (GetDLROutputSizeDim(&h, 0, &size, &dim) != 0) return fail("GetDLROutputSizeDim");
  if (GetDLROutputType(&h, 0, &type) != 0) return fail("GetDLROutputType");
  if (strcmp(type, "float32") != 0) {
    fprintf(stderr, "dlr_probe: output 0 is %s, only float32 is printed\n", type);
    return 2;
  }
  float* out = malloc(sizeof(float) * (size_t)(size ? size : 1));
  if (out == NULL) return 3;
  if (GetDLROutput(&h, 0, out) != 0) return fail("GetDLROutput");
  printf("{\"version\": \"%s\", \"backend\": \"%s\", \"output0\": [", version, backend);
  for (int64_t i = 0; i < size && i < 1000; ++i) printf("%s%.9g", i ? ", " : "", out[i]);
  printf("]}\n");
  free(out);
  return DeleteDLRModel(&h) == 0 ? 0 : fail("DeleteDLRModel");
}
