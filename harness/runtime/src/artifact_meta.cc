// Reading compiled.meta and checking an artifact against this device and runtime (see the header).
#include "artifact_meta.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <tvm/ffi/container/array.h>
#include <tvm/ffi/container/map.h>
#include <tvm/ffi/extra/json.h>
#include <tvm/ffi/string.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "runtime_info.h"

namespace hil_dlr {
namespace {

namespace json = tvm::ffi::json;
using tvm::ffi::Any;
using tvm::ffi::String;

constexpr const char* kSchema = "hil.neo-artifact/1";
constexpr int64_t kMaxMetaBytes = 1 << 20;

[[noreturn]] void Fail(const std::string& message) { throw std::runtime_error(message); }

class MetaReader {
 public:
  explicit MetaReader(std::string dir) : dir_(std::move(dir)) {}

  [[noreturn]] void Bad(const std::string& field, const std::string& want) const {
    Fail("compiled.meta in " + dir_ + " is invalid: " + field + " must be " + want +
         "; recompile the model with the harness (hil compile) to rewrite it");
  }

  json::Object Obj(const json::Object& parent, const char* key, const std::string& path,
                   bool required = true) const {
    std::optional<Any> v = parent.Get(String(key));
    if (!v.has_value() || v->type_index() == tvm::ffi::TypeIndex::kTVMFFINone) {
      if (required) Bad(path, "an object");
      return json::Object();
    }
    std::optional<json::Object> o = v->try_cast<json::Object>();
    if (!o.has_value()) Bad(path, "an object");
    return *o;
  }

  std::string Str(const json::Object& parent, const char* key, const std::string& path,
                  bool required = true, const std::string& fallback = "") const {
    std::optional<Any> v = parent.Get(String(key));
    if (!v.has_value()) {
      if (required) Bad(path, "a string");
      return fallback;
    }
    std::optional<String> s = v->as<String>();
    if (!s.has_value() || s->empty()) Bad(path, "a non-empty string");
    return std::string(*s);
  }

  std::vector<TensorSpec> Specs(const json::Object& root, const char* key) const {
    std::optional<Any> v = root.Get(String(key));
    std::optional<json::Array> arr;
    if (v.has_value()) arr = v->try_cast<json::Array>();
    if (!arr.has_value() || arr->empty()) Bad(key, "a non-empty list of {name, shape, dtype}");
    std::vector<TensorSpec> specs;
    for (size_t i = 0; i < arr->size(); ++i) {
      std::string path = std::string(key) + "[" + std::to_string(i) + "]";
      std::optional<json::Object> item = (*arr)[i].try_cast<json::Object>();
      if (!item.has_value()) Bad(path, "an object");
      TensorSpec spec;
      spec.name = Str(*item, "name", path + ".name");
      spec.dtype = Str(*item, "dtype", path + ".dtype");
      if (!ParseDType(spec.dtype, &spec.dl_dtype)) {
        Bad(path + ".dtype", "one of float16, float32, float64, int8, int16, int32, int64, uint8, "
                             "uint16, uint32, uint64, bool");
      }
      std::optional<Any> shape_any = item->Get(String("shape"));
      std::optional<json::Array> shape;
      if (shape_any.has_value()) shape = shape_any->try_cast<json::Array>();
      if (!shape.has_value() || shape->size() > 32) Bad(path + ".shape", "a list of at most 32 ints");
      for (const Any& dim : *shape) {
        std::optional<int64_t> d = dim.as<int64_t>();
        if (!d.has_value() || *d < -1) Bad(path + ".shape", "a list of ints >= 0 (or -1 for dynamic)");
        spec.shape.push_back(*d);
      }
      for (const TensorSpec& seen : specs) {
        if (seen.name == spec.name) Bad(path + ".name", "unique (\"" + spec.name + "\" repeats)");
      }
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  static bool ParseDType(const std::string& s, DLDataType* out) {
    static const struct { const char* name; uint8_t code; uint8_t bits; } kTypes[] = {
        {"float16", kDLFloat, 16}, {"float32", kDLFloat, 32}, {"float64", kDLFloat, 64},
        {"int8", kDLInt, 8},       {"int16", kDLInt, 16},     {"int32", kDLInt, 32},
        {"int64", kDLInt, 64},     {"uint8", kDLUInt, 8},     {"uint16", kDLUInt, 16},
        {"uint32", kDLUInt, 32},   {"uint64", kDLUInt, 64},   {"bool", kDLBool, 8},
    };
    for (const auto& t : kTypes) {
      if (s == t.name) {
        *out = DLDataType{t.code, t.bits, 1};
        return true;
      }
    }
    return false;
  }

 private:
  std::string dir_;
};

std::string NormalizeArch(const std::string& machine) {
  if (machine == "arm64" || machine == "aarch64") return "aarch64";
  if (machine == "amd64" || machine == "x86_64") return "x86_64";
  if (machine == "armv7l" || machine == "armv7" || machine == "armhf" || machine == "armv8l") return "armv7l";
  if (machine == "i386" || machine == "i686" || machine == "x86") return "i686";
  return machine;
}

// The ELF machine of a shared object, as (arch name, "EM_*" name); parsed from the header by hand
// because dlopen reports a foreign machine as "No such file or directory".
std::pair<std::string, std::string> ElfMachine(const std::string& so_path) {
  std::ifstream f(so_path, std::ios::binary);
  unsigned char h[20] = {0};
  if (!f.read(reinterpret_cast<char*>(h), sizeof(h)) || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' ||
      h[3] != 'F') {
    Fail(so_path + " is not an ELF shared object; the artifact is damaged, recompile or redeploy it");
  }
  bool little = h[5] == 1;
  unsigned machine = little ? (h[18] | (h[19] << 8)) : ((h[18] << 8) | h[19]);
  switch (machine) {
    case 62: return {"x86_64", "EM_X86_64"};
    case 183: return {"aarch64", "EM_AARCH64"};
    case 40: return {"armv7l", "EM_ARM"};
    case 3: return {"i686", "EM_386"};
    case 243: return {h[4] == 2 ? "riscv64" : "riscv32", "EM_RISCV"};
    default: return {"elf-machine-" + std::to_string(machine), "EM_" + std::to_string(machine)};
  }
}

std::string DeviceMachine() {
  struct utsname u;
  if (uname(&u) != 0) return kProcessArch;
  return NormalizeArch(u.machine);
}

}  // namespace

bool TensorSpec::has_dynamic_dim() const {
  for (int64_t d : shape) {
    if (d < 0) return true;
  }
  return false;
}

ArtifactMeta ReadArtifactMeta(const std::string& dir) {
  std::string path = dir + "/compiled.meta";
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    Fail("compiled.meta not found in " + dir + ": this libdlr runs artifacts from the harness compiler "
         "(compiled.so + compiled.meta); recompile the model with hil compile");
  }
  std::ostringstream buf;
  buf << f.rdbuf();
  std::string text = buf.str();
  if (static_cast<int64_t>(text.size()) > kMaxMetaBytes) Fail("compiled.meta in " + dir + " is over 1 MiB");
  String error;
  json::Value root_any = json::Parse(String(text), &error);
  if (!error.empty()) {
    Fail("compiled.meta in " + dir + " is not valid JSON (" + std::string(error) +
         "); recompile the model with hil compile");
  }
  MetaReader r(dir);
  std::optional<json::Object> root = root_any.try_cast<json::Object>();
  if (!root.has_value()) r.Bad("the document", "a JSON object");
  std::string schema = r.Str(*root, "schema", "schema");
  if (schema != kSchema) r.Bad("schema", std::string("\"") + kSchema + "\" (found \"" + schema + "\")");

  ArtifactMeta meta;
  meta.model_name = r.Str(r.Obj(*root, "model", "model", false), "name", "model.name", false, "model");
  meta.inputs = r.Specs(*root, "inputs");
  meta.outputs = r.Specs(*root, "outputs");
  json::Object target = r.Obj(*root, "target", "target");
  meta.arch = NormalizeArch(r.Str(target, "arch", "target.arch"));
  meta.neo_target = r.Str(target, "neo", "target.neo", false, "unknown Neo target");
  meta.compiler_tvm =
      r.Str(r.Obj(*root, "compiler", "compiler", false), "tvm", "compiler.tvm", false, "unknown");
  json::Object runtime = r.Obj(*root, "runtime", "runtime");
  meta.dlr_abi = r.Str(runtime, "dlr_abi", "runtime.dlr_abi");
  meta.entry = r.Str(runtime, "entry", "runtime.entry", false, "main");
  json::Object files = r.Obj(*root, "files", "files", false);
  json::Object so = r.Obj(files, "compiled.so", "files[\"compiled.so\"]", false);
  if (std::optional<Any> size = so.Get(String("size")); size.has_value()) {
    std::optional<int64_t> n = size->as<int64_t>();
    if (!n.has_value() || *n < 0) r.Bad("files[\"compiled.so\"].size", "an int >= 0");
    meta.so_size = *n;
  }
  return meta;
}

void CheckCompatible(const ArtifactMeta& meta, const std::string& so_path) {
  std::string device = DeviceMachine();
  std::string device_text = device == kProcessArch ? device : device + " running a " + kProcessArch + " runtime";
  if (meta.arch != kProcessArch) {
    Fail("model compiled for " + meta.arch + " (" + meta.neo_target + "), this device is " + device_text +
         "; compile it for this device's Neo target or deploy it to an " + meta.arch + " device");
  }
  struct stat st;
  if (stat(so_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    Fail("compiled.so not found beside compiled.meta (" + so_path + "); redeploy the whole artifact");
  }
  auto [elf_arch, em] = ElfMachine(so_path);
  if (elf_arch != kProcessArch) {
    Fail("compiled.so is an " + em + " (" + elf_arch + ") shared object, this device is " + device_text +
         " (compiled.meta says " + meta.arch + ": the artifact is inconsistent); recompile the model");
  }
  if (meta.dlr_abi != kRuntimeAbi) {
    Fail("model compiled with TVM " + meta.compiler_tvm + " / needs runtime ABI " + meta.dlr_abi +
         ", this runtime is TVM " + kTvmVersion + " (" + kRuntimeAbi + "); install the libdlr built for " +
         meta.dlr_abi + " on the device or recompile the model with TVM " + kTvmVersion);
  }
  if (meta.so_size >= 0 && meta.so_size != static_cast<int64_t>(st.st_size)) {
    Fail("compiled.so is " + std::to_string(st.st_size) + " bytes, compiled.meta records " +
         std::to_string(meta.so_size) + ": the artifact was truncated or replaced; redeploy it");
  }
}

std::string ShapeText(const int64_t* shape, size_t ndim) {
  std::string s = "(";
  for (size_t i = 0; i < ndim; ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + ")";
}

size_t ItemSize(DLDataType dtype) { return (static_cast<size_t>(dtype.bits) * dtype.lanes + 7) / 8; }

}  // namespace hil_dlr
