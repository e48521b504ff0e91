// Loading compiled.so into a Relax VM and moving tensors in and out of it (see the header).
#include "model.h"

#include <dlpack/dlpack.h>
#include <sys/stat.h>
#include <tvm/ffi/container/array.h>
#include <tvm/ffi/error.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "runtime_info.h"

namespace hil_dlr {
namespace {

using tvm::ffi::Any;
using tvm::ffi::AnyView;

constexpr int kDevCpu = 1;            // DLR's dev_type for "cpu" (kDLCPU)
constexpr int kPooledAllocator = 2;   // tvm.runtime.vm.VirtualMachine.POOLED_ALLOCATOR

[[noreturn]] void Fail(const std::string& message) { throw std::runtime_error(message); }

std::string DirOf(const std::string& model_path) {
  struct stat st;
  if (stat(model_path.c_str(), &st) != 0) Fail("model path " + model_path + " does not exist");
  if (S_ISDIR(st.st_mode)) return model_path;
  size_t slash = model_path.rfind('/');
  return slash == std::string::npos ? "." : model_path.substr(0, slash);
}

ArtifactMeta CheckedMeta(const std::string& dir, int dev_type) {
  if (dev_type != kDevCpu) {
    Fail("device type " + std::to_string(dev_type) +
         " is not supported: this libdlr runs models on the CPU only (dev_type \"cpu\")");
  }
  ArtifactMeta meta = ReadArtifactMeta(dir);
  CheckCompatible(meta, dir + "/compiled.so");
  return meta;
}

tvm::ffi::Function VmFunction(const tvm::ffi::Module& vm, const std::string& name) {
  tvm::ffi::Optional<tvm::ffi::Function> f = vm->GetFunction(name);
  if (!f.has_value()) Fail("the Relax VM has no function \"" + name + "\"");
  return *f;
}

// compiled.so -> Relax VM executable -> VM on CPU dev_id, as tvm.runtime.vm.VirtualMachine does.
tvm::ffi::Module LoadVm(const std::string& so_path, int dev_id) {
  try {
    tvm::ffi::Module lib = tvm::ffi::Module::LoadFromFile(so_path);
    tvm::ffi::Optional<tvm::ffi::Function> load = lib->GetFunction("vm_load_executable");
    if (!load.has_value()) {
      Fail("compiled.so is not a Relax VM executable (no vm_load_executable); it was not built by "
           "tvm.compile of a Relax module, recompile it with hil compile");
    }
    tvm::ffi::Module vm = (*load)().cast<tvm::ffi::Module>();
    VmFunction(vm, "vm_initialization")(kDevCpu, dev_id, kPooledAllocator);
    return vm;
  } catch (const tvm::ffi::Error& e) {
    Fail("loading compiled.so into the TVM " + std::string(kTvmVersion) + " runtime failed: " +
         e.kind() + ": " + e.message());
  }
}

tvm::ffi::Function EntryOf(const tvm::ffi::Module& vm, const ArtifactMeta& meta) {
  tvm::ffi::Function entry = VmFunction(vm, meta.entry);
  int64_t arity = VmFunction(vm, "get_function_arity")(meta.entry).cast<int64_t>();
  if (arity != static_cast<int64_t>(meta.inputs.size())) {
    Fail("compiled.so's " + meta.entry + " takes " + std::to_string(arity) + " inputs, compiled.meta lists " +
         std::to_string(meta.inputs.size()) + ": the artifact is inconsistent, recompile the model");
  }
  return entry;
}

bool DynamicOutputs(const ArtifactMeta& meta) {
  for (const TensorSpec& o : meta.outputs) {
    if (o.has_dynamic_dim()) return true;
  }
  return false;
}

// Host memory for input tensors, aligned as TVM's own allocator does (kAllocAlignment).
struct CpuAlloc {
  static constexpr size_t kAlign = 64;
  void AllocData(DLTensor* t) {
    size_t bytes = static_cast<size_t>(tvm::ffi::ShapeView(t->shape, t->ndim).Product()) * ItemSize(t->dtype);
    t->data = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign + kAlign);
    if (t->data == nullptr) throw std::bad_alloc();
  }
  void FreeData(DLTensor* t) { std::free(t->data); }
};

size_t NumBytes(const tvm::ffi::Tensor& t) { return static_cast<size_t>(t.numel()) * ItemSize(t.dtype()); }

const char* HostData(const tvm::ffi::Tensor& t) {
  const DLTensor* dl = t.GetDLTensorPtr();
  if (dl->device.device_type != kDLCPU || !t.IsContiguous()) Fail("tensor is not a contiguous host tensor");
  return static_cast<const char*>(dl->data) + dl->byte_offset;
}

}  // namespace

Model::Model(const std::string& model_path, int dev_type, int dev_id)
    : dir_(DirOf(model_path)),
      meta_(CheckedMeta(dir_, dev_type)),
      dynamic_outputs_(DynamicOutputs(meta_)),
      vm_(LoadVm(dir_ + "/compiled.so", dev_id)),
      entry_(EntryOf(vm_, meta_)),
      inputs_(meta_.inputs.size()) {}

const TensorSpec& Model::Input(int index) const {
  if (index < 0 || index >= static_cast<int>(meta_.inputs.size())) {
    Fail("input index " + std::to_string(index) + " out of range: the model has " +
         std::to_string(meta_.inputs.size()) + " input(s)");
  }
  return meta_.inputs[index];
}

const TensorSpec& Model::Output(int index) const {
  if (index < 0 || index >= static_cast<int>(meta_.outputs.size())) {
    Fail("output index " + std::to_string(index) + " out of range: the model has " +
         std::to_string(meta_.outputs.size()) + " output(s)");
  }
  return meta_.outputs[index];
}

int Model::InputIndex(const char* name) const {
  std::string known;
  for (size_t i = 0; i < meta_.inputs.size(); ++i) {
    if (meta_.inputs[i].name == name) return static_cast<int>(i);
    known += (i ? ", \"" : "\"") + meta_.inputs[i].name + "\"";
  }
  Fail(std::string("unknown input \"") + name + "\"; the model's inputs are " + known);
}

void Model::SetInput(const char* name, const int64_t* shape, const void* data, int ndim) {
  int index = InputIndex(name);
  const TensorSpec& spec = meta_.inputs[index];
  bool match = ndim == static_cast<int>(spec.shape.size());
  for (int i = 0; match && i < ndim; ++i) {
    match = shape[i] >= 0 && (spec.shape[i] < 0 || spec.shape[i] == shape[i]);
  }
  if (!match) {
    Fail("input \"" + spec.name + "\" has shape " + ShapeText(shape, ndim < 0 ? 0 : ndim) + ", model expects " +
         ShapeText(spec.shape.data(), spec.shape.size()) +
         " (the InputConfiguration the model was compiled with)");
  }
  std::vector<int64_t> dims(shape, shape + ndim);
  tvm::ffi::Tensor& t = inputs_[index];
  if (!t.defined() || std::vector<int64_t>(t.shape().begin(), t.shape().end()) != dims) {
    t = tvm::ffi::Tensor::FromNDAlloc(CpuAlloc(), tvm::ffi::ShapeView(dims.data(), dims.size()), spec.dl_dtype,
                                      DLDevice{kDLCPU, 0});
  }
  std::memcpy(const_cast<char*>(HostData(t)), data, NumBytes(t));
}

void Model::GetInput(const char* name, void* out) const {
  int index = InputIndex(name);
  const tvm::ffi::Tensor& t = inputs_[index];
  if (!t.defined()) Fail("input \"" + meta_.inputs[index].name + "\" has not been set");
  std::memcpy(out, HostData(t), NumBytes(t));
}

void Model::Run() {
  std::vector<AnyView> args;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (!inputs_[i].defined()) {
      Fail("input \"" + meta_.inputs[i].name + "\" was not set; call SetDLRInput for every input first");
    }
    args.emplace_back(inputs_[i]);
  }
  Any result;
  try {
    entry_.CallPacked(args.data(), static_cast<int32_t>(args.size()), &result);
  } catch (const tvm::ffi::Error& e) {
    Fail("running " + meta_.entry + " failed: " + e.kind() + ": " + e.message());
  }
  std::vector<tvm::ffi::Tensor> outputs;
  if (auto single = result.as<tvm::ffi::Tensor>()) {
    outputs.emplace_back(*single);
  } else if (auto tuple = result.as<tvm::ffi::Array<Any>>()) {
    for (const Any& item : *tuple) {
      auto t = item.as<tvm::ffi::Tensor>();
      if (!t.has_value()) Fail(meta_.entry + " returned a nested " + item.GetTypeKey() + ", expected tensors");
      outputs.emplace_back(*t);
    }
  } else {
    Fail(meta_.entry + " returned " + result.GetTypeKey() + ", expected a tensor or a tuple of tensors");
  }
  if (outputs.size() != meta_.outputs.size()) {
    Fail(meta_.entry + " returned " + std::to_string(outputs.size()) + " output(s), compiled.meta lists " +
         std::to_string(meta_.outputs.size()) + ": the artifact is inconsistent, recompile the model");
  }
  outputs_ = std::move(outputs);
}

std::vector<int64_t> Model::OutputShape(int index) const {
  const TensorSpec& spec = Output(index);
  if (outputs_.empty()) {
    if (spec.has_dynamic_dim()) Fail("output \"" + spec.name + "\" has a dynamic shape: run the model first");
    return spec.shape;
  }
  auto shape = outputs_[index].shape();
  return std::vector<int64_t>(shape.begin(), shape.end());
}

void Model::GetOutput(int index, void* out) const {
  const TensorSpec& spec = Output(index);
  if (outputs_.empty()) Fail("no output yet: call RunDLRModel before GetDLROutput");
  const tvm::ffi::Tensor& t = outputs_[index];
  if (t.dtype().code != spec.dl_dtype.code || t.dtype().bits != spec.dl_dtype.bits) {
    Fail("output \"" + spec.name + "\" is " + std::string(tvm::ffi::DLDataTypeToString(t.dtype())) +
         ", compiled.meta says " + spec.dtype + ": the artifact is inconsistent, recompile the model");
  }
  std::memcpy(out, HostData(t), NumBytes(t));
}

}  // namespace hil_dlr
