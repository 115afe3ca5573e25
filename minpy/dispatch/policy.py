"""Policies choose, per call, whether a function runs on MXNet or NumPy.

The global policy (``minpy.set_global_policy``) applies everywhere except
inside a function decorated with ``minpy.wrap_policy``, whose policy applies
to the calls that function makes (per thread, nesting allowed).
"""
from __future__ import annotations

import functools
import threading
from typing import Callable, Union


class PrimitivePolicyError(NotImplementedError, ValueError):
    """The policy allows no implementation of a function (MinPy 0.3's name)."""


class Policy:
    """Base class: ``choose`` returns ``"mxnet"`` or ``"numpy"``."""

    name = "policy"

    def choose(self, op, operands, attrs) -> str:
        raise NotImplementedError

    def failed(self, op, operands, attrs) -> bool:
        """Called when the MXNet path raised; True means retry on NumPy."""
        return False

    def fallback(self, name: str) -> None:
        """Called before an unregistered NumPy function runs (``numpy.<name>``);
        raise to forbid it."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __enter__(self) -> "Policy":
        """``with policy:`` runs the block under this policy (as ``wrap_policy`` runs a
        function), whatever the global one is (MinPy 0.3's transparent-fallback notebook)."""
        _push(self)
        return self

    def __exit__(self, *exc) -> None:
        _pop()

    def show_op_stat(self) -> None:
        """MinPy 0.3's ``np.policy.show_op_stat()``: print the calls per function and back end."""
        from .._compat_values import show_op_stat
        show_op_stat()


class PreferMXNetPolicy(Policy):
    """MXNet where MinPy has a lowering, NumPy otherwise (the default)."""

    name = "prefer_mxnet"

    def choose(self, op, operands, attrs) -> str:
        return "mxnet" if op.mx is not None else "numpy"


class OnlyNumPyPolicy(Policy):
    """Everything runs in NumPy on host copies (useful to compare results)."""

    name = "only_numpy"

    def choose(self, op, operands, attrs) -> str:
        return "numpy"


class OnlyMXNetPolicy(Policy):
    """A function without an MXNet lowering raises instead of falling back."""

    name = "only_mxnet"

    def choose(self, op, operands, attrs) -> str:
        if op.mx is None:
            raise PrimitivePolicyError(
                f"minpy.numpy.{op.name} has no MXNet implementation "
                f"and the policy is only_mxnet")
        return "mxnet"

    def fallback(self, name: str) -> None:
        raise PrimitivePolicyError(
            f"minpy.numpy.{name} has no MXNet implementation (it is a NumPy fallback) "
            f"and the policy is only_mxnet")


def _kinds(operands) -> tuple:
    from ..array import Array
    return tuple(o.dtype.name if isinstance(o, Array) else type(o).__name__ for o in operands)


class AutoBlacklistPolicy(Policy):
    """Tries MXNet; an argument kind that failed there goes to NumPy from then on."""

    name = "auto_blacklist"

    def __init__(self, gen_rule: bool = True, append_rule: bool = True, loc=None) -> None:
        # MinPy 0.3's arguments are accepted; rules are learnt in memory, never saved to files
        self.gen_rule, self.append_rule, self.loc = gen_rule, append_rule, loc
        self.blacklist: set = set()

    def choose(self, op, operands, attrs) -> str:
        if op.mx is None or (op.name, _kinds(operands), attrs) in self.blacklist:
            return "numpy"
        return "mxnet"

    def failed(self, op, operands, attrs) -> bool:
        if op.np is None:
            return False
        self.blacklist.add((op.name, _kinds(operands), attrs))
        return True


_NAMED = {c.name: c for c in (PreferMXNetPolicy, OnlyNumPyPolicy, OnlyMXNetPolicy, AutoBlacklistPolicy)}

_global: Policy = PreferMXNetPolicy()
_local = threading.local()


def _resolve(policy: Union[str, Policy], where: str = "minpy.set_global_policy") -> Policy:
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, type) and issubclass(policy, Policy):
        return policy()
    if isinstance(policy, str):
        if policy in _NAMED:
            return _NAMED[policy]()
        raise ValueError(f"{where}: unknown policy {policy!r}; "
                         f"choose one of {sorted(_NAMED)} or pass a Policy")
    raise TypeError(f"{where}: expected a policy name or a Policy, got {type(policy).__name__}")


def create(policy: Union[str, Policy]) -> Policy:
    """A policy from its name (or a Policy, returned as it is): MinPy 0.3's ``create``."""
    return _resolve(policy, "minpy.dispatch.policy.create")


def set_global_policy(policy: Union[str, Policy]) -> None:
    """Set the policy used everywhere outside ``wrap_policy`` functions.

    ``policy`` is one of ``"prefer_mxnet"`` (the default), ``"only_numpy"``,
    ``"only_mxnet"``, ``"auto_blacklist"``, or a :class:`Policy` instance.
    """
    global _global
    _global = _resolve(policy)


def get_global_policy() -> Policy:
    """The global :class:`Policy` instance."""
    return _global


def current_policy() -> Policy:
    if not pushed:
        return _global
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else _global


# Policies pushed by ``with policy:`` and ``wrap_policy`` and not yet popped, in all
# threads together: while it is 0 (nearly always) every call takes the global policy
# without looking at its thread's stack. A thread counts its own push before the push
# and its pop after the pop, so it never reads 0 while its own stack holds a policy.
pushed = 0
_pushed_lock = threading.Lock()


def _push(pol: Policy) -> None:
    global pushed
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    with _pushed_lock:
        pushed += 1
    stack.append(pol)


def _pop() -> None:
    global pushed
    _local.stack.pop()
    with _pushed_lock:
        pushed -= 1


def wrap_policy(policy: Union[str, Policy]) -> Callable:
    """Decorator: run one function under ``policy`` whatever the global one is."""
    pol = _resolve(policy, "minpy.wrap_policy")

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            _push(pol)
            try:
                return fn(*args, **kwargs)
            finally:
                _pop()
        return wrapper
    return deco
