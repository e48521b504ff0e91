// One loaded Neo artifact: the Relax VM over compiled.so, its inputs and its last outputs.
#ifndef HIL_DLR_MODEL_H_
#define HIL_DLR_MODEL_H_

#include <tvm/ffi/extra/module.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/function.h>

#include <string>
#include <vector>

#include "artifact_meta.h"

namespace hil_dlr {

class Model {
 public:
  // Reads compiled.meta, checks the artifact against this device and runtime, then loads
  // compiled.so into a Relax VM on CPU `dev_id`. Throws std::runtime_error with a diagnosis.
  Model(const std::string& model_path, int dev_type, int dev_id);

  const ArtifactMeta& meta() const { return meta_; }
  // "relayvm" makes the dlr wrapper re-read output shapes after every run: only needed when
  // compiled.meta declares a dynamic output dimension.
  const char* backend() const { return dynamic_outputs_ ? "relayvm" : "tvm"; }

  const TensorSpec& Input(int index) const;
  const TensorSpec& Output(int index) const;

  void SetInput(const char* name, const int64_t* shape, const void* data, int ndim);
  void GetInput(const char* name, void* out) const;
  void Run();
  // Shape of output `index`: from the last run, or from compiled.meta before the first one.
  std::vector<int64_t> OutputShape(int index) const;
  void GetOutput(int index, void* out) const;

 private:
  int InputIndex(const char* name) const;

  std::string dir_;
  ArtifactMeta meta_;
  bool dynamic_outputs_ = false;
  tvm::ffi::Module vm_;
  tvm::ffi::Function entry_;
  std::vector<tvm::ffi::Tensor> inputs_;   // undefined until SetInput
  std::vector<tvm::ffi::Tensor> outputs_;  // empty until Run
};

}  // namespace hil_dlr

#endif  // HIL_DLR_MODEL_H_
