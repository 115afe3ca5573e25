"""An MXNet operator that fails on demand, while a graph runs (tests of failures that
only MXNet meets: a custom operator raising, an index out of range)."""
import mxnet as mx

REFUSE = [False]
OP_TYPE = "minpy_test_refusing"


class _Refusing(mx.operator.CustomOp):
    """Doubles its input, or raises while ``REFUSE[0]``."""

    def forward(self, is_train, req, in_data, out_data, aux):
        if REFUSE[0]:
            raise ValueError("refused by the test operator")
        self.assign(out_data[0], req[0], in_data[0] * 2)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * 2)


@mx.operator.register(OP_TYPE)
class _RefusingProp(mx.operator.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=True)

    def list_arguments(self):
        return ["data"]

    def list_outputs(self):
        return ["output"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _Refusing()


def refusing(name: str = "x"):
    """The operator applied to variable ``name``, as a symbol."""
    return mx.sym.Custom(mx.sym.Variable(name), op_type=OP_TYPE)
