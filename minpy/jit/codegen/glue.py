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

// maximum(x, s) for a float array x and a number s, as NumPy computes it (NaN stays NaN,
// a tie keeps x), with MinPy's gradient (to x where x >= s): where MXNet differentiates,
// one pass each way instead of _maximum_scalar's and its backward's
static MXReturnValue mms_parse(const minpy_attrs&, int* nin, int* nout) {
  *nin = 1;
  *nout = 1;
  return MX_SUCCESS;
}

static MXReturnValue mms_type(const minpy_attrs&, std::vector<int>* in, std::vector<int>* out) {
  if ((*in)[0] != kFloat32 && (*in)[0] != kFloat64) {
    MX_ERROR_MSG << "_minpy_maximum_scalar: float32 or float64 only";
    return MX_FAIL;
  }
  (*out)[0] = (*in)[0];
  return MX_SUCCESS;
}

static MXReturnValue mms_shape(const minpy_attrs&, std::vector<std::vector<unsigned int>>* in,
                               std::vector<std::vector<unsigned int>>* out) {
  (*out)[0] = (*in)[0];
  return MX_SUCCESS;
}

template <typename T>
static void mms_forward_t(const T* __restrict x, T* __restrict y, int64_t n, T s) {
  #pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] >= s || x[i] != x[i]) ? x[i] : s;
}

template <typename T>
static void mms_backward_t(const T* __restrict g, const T* __restrict x, T* __restrict dx,
                           int64_t n, T s) {
  #pragma omp simd
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] >= s ? g[i] : T(0);
}

static MXReturnValue mms_forward(const minpy_attrs& a, std::vector<MXTensor>* inputs,
                                 std::vector<MXTensor>* outputs, const OpResource&) {
  const double s = std::strtod(minpy_attr(a, "scalar").c_str(), nullptr);
  MXTensor& x = (*inputs)[0];
  MXTensor& y = (*outputs)[0];
  if (x.dtype == kFloat32)
    mms_forward_t(x.data<float>(), y.data<float>(), x.size(), (float)s);
  else
    mms_forward_t(x.data<double>(), y.data<double>(), x.size(), s);
  return MX_SUCCESS;
}

// inputs: the output's gradient, x, then the forward output (MXNet's order)
static MXReturnValue mms_backward(const minpy_attrs& a, std::vector<MXTensor>* inputs,
                                  std::vector<MXTensor>* outputs, const OpResource&) {
  const double s = std::strtod(minpy_attr(a, "scalar").c_str(), nullptr);
  MXTensor& g = (*inputs)[0];
  MXTensor& x = (*inputs)[1];
  MXTensor& dx = (*outputs)[0];
  if (x.dtype == kFloat32)
    mms_backward_t(g.data<float>(), x.data<float>(), dx.data<float>(), x.size(), (float)s);
  else
    mms_backward_t(g.data<double>(), x.data<double>(), dx.data<double>(), x.size(), s);
  return MX_SUCCESS;
}

REGISTER_OP(_minpy_maximum_scalar).setParseAttrs(mms_parse).setInferType(mms_type)
    .setInferShape(mms_shape).setForward(mms_forward, "cpu").setBackward(mms_backward, "cpu");

MXReturnValue initialize(int version) { return MX_SUCCESS; }
"""
