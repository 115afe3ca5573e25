"""``minpy.nn``: layers, initialisers, update rules, models, data iterators and a solver
for CS231n-style networks written with ``minpy.numpy``."""
from . import init, io, layers, model, optim  # noqa: F401
from . import model_builder, solver  # noqa: F401
from .io import DataBatch, NDArrayIter  # noqa: F401
from .model import ModelBase  # noqa: F401
from .solver import Solver, make_train_step  # noqa: F401
