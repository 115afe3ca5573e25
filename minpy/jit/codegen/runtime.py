"""One C call per run of a directly called kernel.

A graph that became one generated kernel (``direct.DirectGraph``) needs, per call, the
address of every input (after any pending write to it), fresh output arrays, the
kernel call and, in a two-phase graph, MXNet's forward and backward pass before it
and a copy of the updated parameters after it. Through ctypes that is three to four
foreign calls per array, about 1.5 us each: 40 us of a 550 us training step. This
small library does the same sequence through MXNet's C API in one call. It is built
once per machine (no MXNet headers: a fraction of a second) and kept in the kernel
cache like the kernels.
"""
from __future__ import annotations

import ctypes
import threading

from mxnet.base import _LIB

from . import toolchain

SOURCE = r"""
#include <cstdint>
#include <cstring>

typedef int (*create_t)(const uint32_t*, uint32_t, int, int, int, int, void**);
typedef int (*getdata_t)(void*, void**);
typedef int (*handle_t)(void*);
typedef int (*forward_t)(void*, int);
typedef int (*backward_t)(void*, uint32_t, void**, int);
typedef void (*kernel_t)(const void* const*, void* const*, const int*);

static create_t mx_create;
static getdata_t mx_getdata;
static handle_t mx_wait_read, mx_wait_write, mx_free;
static forward_t mx_forward;
static backward_t mx_backward;

extern "C" void minpy_rt_init(void* create, void* getdata, void* wait_read, void* wait_write,
                              void* free_, void* forward, void* backward) {
  mx_create = (create_t)create;
  mx_getdata = (getdata_t)getdata;
  mx_wait_read = (handle_t)wait_read;
  mx_wait_write = (handle_t)wait_write;
  mx_free = (handle_t)free_;
  mx_forward = (forward_t)forward;
  mx_backward = (backward_t)backward;
}

// Everything about a call that stays fixed, built once per compiled graph; the caller
// fills handles[] (an NDArray per input, or null where ins[] already holds an address:
// a scalar's cell, a constant) before each call.
struct MinpyCall {
  kernel_t fn;
  int32_t n_in, n_out;
  void** handles;             // n_in
  const void** ins;           // n_in
  const int32_t* types;       // n_in
  const uint32_t* shapes;     // the output shapes, concatenated
  const uint32_t* ndims;      // n_out
  const int32_t* dtypes;      // n_out (MXNet's codes)
  int32_t dev_type, dev_id;
  void** out_handles;         // n_out: the fresh outputs (the caller owns them)
  void** outs;                // n_out
  void* exe;                  // an executor to run forward and backward first, or null
  void* copy_dst;             // an array some outputs are also copied into, or null
  int32_t n_copy;
  const int32_t* copy_src;    // the output
  const int64_t* copy_off;    // bytes into copy_dst
  const int64_t* copy_bytes;
};

extern "C" int minpy_rt_call(MinpyCall* c) {
  if (c->exe) {
    if (mx_forward(c->exe, 1) != 0) return -1;
    if (mx_backward(c->exe, 0, nullptr, 1) != 0) return -1;
  }
  for (int32_t j = 0; j < c->n_in; ++j) {
    void* h = c->handles[j];
    if (!h) continue;
    void* p;
    if (mx_wait_read(h) != 0 || mx_getdata(h, &p) != 0) return -1;
    c->ins[j] = p;
  }
  const uint32_t* shape = c->shapes;
  for (int32_t j = 0; j < c->n_out; ++j) {
    void* h = nullptr;
    void* p = nullptr;
    if (mx_create(shape, c->ndims[j], c->dev_type, c->dev_id, 0, c->dtypes[j], &h) != 0 ||
        mx_getdata(h, &p) != 0) {
      if (h) mx_free(h);
      for (int32_t i = 0; i < j; ++i) mx_free(c->out_handles[i]);
      return -1;
    }
    c->out_handles[j] = h;
    c->outs[j] = p;
    shape += c->ndims[j];
  }
  c->fn(c->ins, c->outs, c->types);
  if (c->copy_dst) {
    void* base;
    if (mx_wait_write(c->copy_dst) != 0 || mx_getdata(c->copy_dst, &base) != 0) {
      for (int32_t i = 0; i < c->n_out; ++i) mx_free(c->out_handles[i]);
      return -1;
    }
    for (int32_t i = 0; i < c->n_copy; ++i)
      std::memcpy((char*)base + c->copy_off[i], c->outs[c->copy_src[i]], c->copy_bytes[i]);
  }
  return 0;
}
"""

_P = ctypes.c_void_p


class MinpyCall(ctypes.Structure):
    _fields_ = [("fn", _P), ("n_in", ctypes.c_int32), ("n_out", ctypes.c_int32),
                ("handles", _P), ("ins", _P), ("types", _P), ("shapes", _P), ("ndims", _P),
                ("dtypes", _P), ("dev_type", ctypes.c_int32), ("dev_id", ctypes.c_int32),
                ("out_handles", _P), ("outs", _P), ("exe", _P), ("copy_dst", _P),
                ("n_copy", ctypes.c_int32), ("copy_src", _P), ("copy_off", _P),
                ("copy_bytes", _P)]


_lock = threading.Lock()
_call = None


def call_function():
    """``minpy_rt_call`` (built, loaded and pointed at MXNet's C API on first use);
    raises ``toolchain.CompileError`` where it cannot be built."""
    global _call
    with _lock:
        if _call is None:
            path = toolchain.build_runtime(SOURCE)
            lib = ctypes.CDLL(path)
            addr = [ctypes.cast(getattr(_LIB, name), _P) for name in (
                "MXNDArrayCreateEx", "MXNDArrayGetData", "MXNDArrayWaitToRead",
                "MXNDArrayWaitToWrite", "MXNDArrayFree", "MXExecutorForward",
                "MXExecutorBackwardEx")]
            lib.minpy_rt_init.argtypes = [_P] * len(addr)
            lib.minpy_rt_init.restype = None
            lib.minpy_rt_init(*addr)
            fn = lib.minpy_rt_call
            fn.argtypes = [_P]
            fn.restype = ctypes.c_int
            _call = fn
        return _call
