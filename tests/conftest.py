"""Shared pytest fixtures (keep these small and generic)."""
import os

# a tuning profile on this machine (python -m minpy.jit.tune) must not change what
# the tests see; test_tune.py points MINPY_JIT_PROFILE at its own files
os.environ["MINPY_JIT_PROFILE"] = "none"

import pytest  # noqa: E402

import minpy  # noqa: E402


@pytest.fixture
def set_policy():
    """``set_policy(name)`` switches the global dispatch policy for one test."""
    old = minpy.get_global_policy()

    def _set(policy):
        minpy.set_global_policy(policy)

    yield _set
    minpy.set_global_policy(old)


@pytest.fixture(params=["eager", "lazy"])
def minpy_mode(request):
    """Run a test eagerly and again in lazy mode (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("minpy_mode")``)."""
    if request.param == "eager":
        yield "eager"
        return
    with minpy.lazy():
        yield "lazy"
        minpy.flush()


@pytest.fixture
def clean_jit_state():
    """Eager mode, zeroed counters and the default knobs of minpy.jit around a test."""
    minpy.set_lazy(False)
    minpy.jit.reset_stats()
    saved = dict(vars(minpy.jit.config))
    yield
    minpy.set_lazy(False)
    vars(minpy.jit.config).update(saved)
