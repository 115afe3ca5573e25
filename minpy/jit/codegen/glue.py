"""The one MXNet extension operator every generated kernel runs through.

``_minpy_kernel`` is built once per machine (compiling MXNet's ``lib_api`` takes
seconds) and registered once per process. Its attributes carry the address of a
generated kernel (a plain C function in its own small library, compiled in a
fraction of a second), its input and output counts, output dtypes and shapes.
"""
from __future__ import annotations

SOURCE = r"""
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>
#include "mxnet/lib_api.h"
using namespace mxnet::ext;

typedef void (*minpy_kernel_t)(const void* const*, void* const*, const int*);
typedef std::unordered_map<std::string, std::string> minpy_attrs;

static const std::string& minpy_attr(const minpy_attrs& a, const char* key) {
  static const std::string none;
  auto it = a.find(key);
  return it == a.end() ? none : it->second;
}

static MXReturnValue minpy_parse(const minpy_attrs& a, int* nin, int* nout) {
  *nin = std::atoi(minpy_attr(a, "nin").c_str());
  *nout = std::atoi(minpy_attr(a, "nout").c_str());
  return MX_SUCCESS;
}

static MXReturnValue minpy_type(const minpy_attrs& a, std::vector<int>*, std::vector<int>* out) {
  const char* p = minpy_attr(a, "types").c_str();
  for (size_t j = 0; j < out->size(); ++j) {
    char* end;
    (*out)[j] = (int)std::strtol(p, &end, 10);
    p = *end ? end + 1 : end;
  }
  return MX_SUCCESS;
}

static MXReturnValue minpy_shape(const minpy_attrs& a, std::vector<std::vector<unsigned int>>*,
                                 std::vector<std::vector<unsigned int>>* out) {
  const char* p = minpy_attr(a, "shapes").c_str();       // "64x64;1;4x5"
  for (size_t j = 0; j < out->size(); ++j) {
    std::vector<unsigned int> dims;
    while (*p && *p != ';') {
      char* end;
      dims.push_back((unsigned int)std::strtoul(p, &end, 10));
      p = (*end == 'x') ? end + 1 : end;
    }
    if (*p == ';') ++p;
    (*out)[j] = dims;
  }
  return MX_SUCCESS;
}

static MXReturnValue minpy_forward(const minpy_attrs& a, std::vector<MXTensor>* inputs,
                                   std::vector<MXTensor>* outputs, const OpResource&) {
  minpy_kernel_t fn = reinterpret_cast<minpy_kernel_t>(
      (uintptr_t)std::strtoull(minpy_attr(a, "fn").c_str(), nullptr, 10));
  static thread_local std::vector<const void*> ins;
  static thread_local std::vector<void*> outs;
  static thread_local std::vector<int> types;
  ins.resize(inputs->size());
  types.resize(inputs->size());
  outs.resize(outputs->size());
  for (size_t j = 0; j < inputs->size(); ++j) {
    ins[j] = (*inputs)[j].data_ptr;
    types[j] = (int)(*inputs)[j].dtype;
  }
  for (size_t j = 0; j < outputs->size(); ++j) outs[j] = (*outputs)[j].data_ptr;
  fn(ins.data(), outs.data(), types.data());
  return MX_SUCCESS;
}

REGISTER_OP(_minpy_kernel).setParseAttrs(minpy_parse).setInferType(minpy_type)
    .setInferShape(minpy_shape).setForward(minpy_forward, "cpu");

MXReturnValue initialize(int version) { return MX_SUCCESS; }
"""
