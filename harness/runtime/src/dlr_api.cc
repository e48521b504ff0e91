// The DLR 1.10 C API, as the PyPI dlr wrapper (dlr/dlr_model.py) calls it through ctypes.
//
// Every function returns 0 on success and -1 on failure; the message of the failure is kept per
// thread for DLRGetLastError, which the wrapper raises as DLRError. The wrapper decodes that
// message as ASCII, so anything else is replaced by '?'.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "model.h"
#include "runtime_info.h"

#define DLR_API extern "C" __attribute__((visibility("default")))

typedef void* DLRModelHandle;

namespace {

thread_local std::string last_error;

void SetError(const std::string& message) {
  last_error = message;
  for (char& c : last_error) {
    if (static_cast<unsigned char>(c) > 0x7e || (c < 0x20 && c != '\n')) c = '?';
  }
}

// Runs `body` and turns every exception into -1 plus a message: no C++ exception crosses the C ABI.
template <typename Body>
int Guard(const char* api, Body body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    SetError(e.what());
  } catch (...) {
    SetError(std::string(api) + ": unknown error");
  }
  return -1;
}

hil_dlr::Model& ModelOf(const DLRModelHandle* handle) {
  if (handle == nullptr || *handle == nullptr) throw std::runtime_error("invalid DLR model handle");
  return *static_cast<hil_dlr::Model*>(*handle);
}

void Require(const void* out, const char* what) {
  if (out == nullptr) throw std::runtime_error(std::string(what) + " must not be NULL");
}

}  // namespace

DLR_API const char* DLRGetLastError() { return last_error.c_str(); }

DLR_API int GetDLRVersion(const char** out) {
  return Guard("GetDLRVersion", [&] {
    Require(out, "out");
    *out = hil_dlr::kVersionString;
  });
}

DLR_API int CreateDLRModel(DLRModelHandle* handle, const char* model_path, int dev_type, int dev_id) {
  return Guard("CreateDLRModel", [&] {
    Require(handle, "handle");
    Require(model_path, "model_path");
    *handle = new hil_dlr::Model(model_path, dev_type, dev_id);
  });
}

// Deleting a handle CreateDLRModel never filled is a no-op: the wrapper's __del__ does that after
// a failed CreateDLRModel, and must not bury the real diagnosis under a second error.
DLR_API int DeleteDLRModel(DLRModelHandle* handle) {
  return Guard("DeleteDLRModel", [&] {
    Require(handle, "handle");
    delete static_cast<hil_dlr::Model*>(*handle);
    *handle = nullptr;
  });
}

DLR_API int RunDLRModel(DLRModelHandle* handle) {
  return Guard("RunDLRModel", [&] { ModelOf(handle).Run(); });
}

DLR_API int GetDLRBackend(DLRModelHandle* handle, const char** name) {
  return Guard("GetDLRBackend", [&] {
    Require(name, "name");
    *name = ModelOf(handle).backend();
  });
}

DLR_API int GetDLRNumInputs(DLRModelHandle* handle, int* num) {
  return Guard("GetDLRNumInputs", [&] {
    Require(num, "num");
    *num = static_cast<int>(ModelOf(handle).meta().inputs.size());
  });
}

DLR_API int GetDLRNumOutputs(DLRModelHandle* handle, int* num) {
  return Guard("GetDLRNumOutputs", [&] {
    Require(num, "num");
    *num = static_cast<int>(ModelOf(handle).meta().outputs.size());
  });
}

// Relax artifacts bind their weights into compiled.so: there are no separately settable weights.
DLR_API int GetDLRNumWeights(DLRModelHandle* handle, int* num) {
  return Guard("GetDLRNumWeights", [&] {
    ModelOf(handle);
    Require(num, "num");
    *num = 0;
  });
}

DLR_API int GetDLRWeightName(DLRModelHandle* handle, int index, const char** name) {
  return Guard("GetDLRWeightName", [&] {
    ModelOf(handle);
    throw std::runtime_error("weight index " + std::to_string(index) +
                             " out of range: the model has 0 weights (they are compiled into compiled.so)");
  });
}

DLR_API int GetDLRInputName(DLRModelHandle* handle, int index, const char** name) {
  return Guard("GetDLRInputName", [&] {
    Require(name, "name");
    *name = ModelOf(handle).Input(index).name.c_str();
  });
}

DLR_API int GetDLRInputType(DLRModelHandle* handle, int index, const char** type) {
  return Guard("GetDLRInputType", [&] {
    Require(type, "type");
    *type = ModelOf(handle).Input(index).dtype.c_str();
  });
}

DLR_API int GetDLROutputName(DLRModelHandle* handle, int index, const char** name) {
  return Guard("GetDLROutputName", [&] {
    Require(name, "name");
    *name = ModelOf(handle).Output(index).name.c_str();
  });
}

DLR_API int GetDLROutputType(DLRModelHandle* handle, int index, const char** type) {
  return Guard("GetDLROutputType", [&] {
    Require(type, "type");
    *type = ModelOf(handle).Output(index).dtype.c_str();
  });
}

DLR_API int GetDLRHasMetadata(DLRModelHandle* handle, bool* has_metadata) {
  return Guard("GetDLRHasMetadata", [&] {
    ModelOf(handle);
    Require(has_metadata, "has_metadata");
    *has_metadata = true;
  });
}

DLR_API int SetDLRInput(DLRModelHandle* handle, const char* name, const int64_t* shape, const void* input,
                        int dim) {
  return Guard("SetDLRInput", [&] {
    Require(name, "name");
    Require(input, "input");
    if (dim < 0 || dim > 32 || (dim > 0 && shape == nullptr)) {
      throw std::runtime_error("input \"" + std::string(name) + "\": invalid number of dimensions " +
                               std::to_string(dim));
    }
    ModelOf(handle).SetInput(name, shape, input, dim);
  });
}

DLR_API int GetDLRInput(DLRModelHandle* handle, const char* name, void* input) {
  return Guard("GetDLRInput", [&] {
    Require(name, "name");
    Require(input, "input");
    ModelOf(handle).GetInput(name, input);
  });
}

DLR_API int GetDLROutputSizeDim(DLRModelHandle* handle, int index, int64_t* size, int* dim) {
  return Guard("GetDLROutputSizeDim", [&] {
    Require(size, "size");
    Require(dim, "dim");
    std::vector<int64_t> shape = ModelOf(handle).OutputShape(index);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    *size = n;
    *dim = static_cast<int>(shape.size());
  });
}

DLR_API int GetDLROutputShape(DLRModelHandle* handle, int index, int64_t* shape) {
  return Guard("GetDLROutputShape", [&] {
    Require(shape, "shape");
    std::vector<int64_t> s = ModelOf(handle).OutputShape(index);
    std::copy(s.begin(), s.end(), shape);
  });
}

DLR_API int GetDLROutput(DLRModelHandle* handle, int index, void* out) {
  return Guard("GetDLROutput", [&] {
    Require(out, "out");
    ModelOf(handle).GetOutput(index, out);
  });
}
