// compiled.meta: what the harness compiler wrote beside compiled.so, read before anything is loaded.
//
// A Neo artifact's compiled.so records neither the TVM release nor the CPU it was built for, so the
// runtime checks the metadata (and the .so's ELF header) first and turns "cannot open shared object"
// or a loader crash into a diagnosis a user can act on.
#ifndef HIL_DLR_ARTIFACT_META_H_
#define HIL_DLR_ARTIFACT_META_H_

#include <dlpack/dlpack.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hil_dlr {

// One model input or output. A dimension of -1 is dynamic (any size).
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
  DLDataType dl_dtype;

  bool has_dynamic_dim() const;
};

struct ArtifactMeta {
  std::string model_name;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::string neo_target;  // e.g. "rasp4b"
  std::string arch;        // e.g. "aarch64"
  std::string compiler_tvm;
  std::string dlr_abi;  // e.g. "tvm-0.27"
  std::string entry;    // Relax function to call, e.g. "main"
  int64_t so_size = -1;  // files["compiled.so"].size, -1 when absent
};

// Reads and validates <dir>/compiled.meta. Throws std::runtime_error with a one-line diagnosis.
ArtifactMeta ReadArtifactMeta(const std::string& dir);

// Checks the artifact against this device and this runtime before compiled.so is loaded:
// meta arch vs uname machine, the .so's ELF machine vs this process, runtime ABI, file size.
// Throws std::runtime_error with a diagnosis and advice.
void CheckCompatible(const ArtifactMeta& meta, const std::string& so_path);

// "(1,3,224,224)" - the form used in every shape message.
std::string ShapeText(const int64_t* shape, size_t ndim);

// Bytes per element of a DLDataType (bool is one byte).
size_t ItemSize(DLDataType dtype);

}  // namespace hil_dlr

#endif  // HIL_DLR_ARTIFACT_META_H_
