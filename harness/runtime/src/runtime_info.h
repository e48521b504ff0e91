// What this libdlr is: the TVM runtime it was linked against (fixed at build time from the
// apache-tvm wheel, see harness/runtime/build.py) and the CPU architecture it executes.
#ifndef HIL_DLR_RUNTIME_INFO_H_
#define HIL_DLR_RUNTIME_INFO_H_

#if !defined(HIL_TVM_VERSION) || !defined(HIL_RUNTIME_ABI)
#error "build with -DHIL_TVM_VERSION=\"0.27.0\" -DHIL_RUNTIME_ABI=\"tvm-0.27\" (harness/runtime/build.py does)"
#endif

namespace hil_dlr {

constexpr const char* kTvmVersion = HIL_TVM_VERSION;
constexpr const char* kRuntimeAbi = HIL_RUNTIME_ABI;
// The DLR C API release this library implements (for the PyPI dlr 1.10 wrapper) + its TVM.
constexpr const char* kVersionString = "1.10.0+tvm-" HIL_TVM_VERSION;

#if defined(__x86_64__)
constexpr const char* kProcessArch = "x86_64";
#elif defined(__aarch64__)
constexpr const char* kProcessArch = "aarch64";
#elif defined(__arm__)
constexpr const char* kProcessArch = "armv7l";
#elif defined(__i386__)
constexpr const char* kProcessArch = "i686";
#else
#error "unsupported CPU architecture"
#endif

}  // namespace hil_dlr

#endif  // HIL_DLR_RUNTIME_INFO_H_
