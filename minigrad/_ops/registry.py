"""Every kernel, declared once: its name, its family (the compiled module it lives in, and that
module's ISA builds) and how its arguments are validated.

From this table ``_ops/__init__.py`` generates the doors (``_ops.<name>``), loads the compiled
modules and picks their ISA build; the numpy twin is ``reference.<name>``; the differential fuzz, the
crash cases, ``minigrad.profile``'s kernel timing and ``minigrad.show_config`` enumerate it.

Families and their builds. A family with one build is ``_ops/<family>.pyx``, compiled for baseline
x86-64. A family with ISA builds is ``_ops/<family>_<isa>.pyx`` for each ISA listed: small files
that set the tile sizes and ``include`` the shared kernel source (``gemm_kernel.pxi``,
``batchnorm_kernels.pxi``); setup.py gives each the vector flags of its suffix, and only builds the
CPU can run are ever imported.

A kernel's arguments are either all float arrays, declared as ``args=(Float(...), ...)`` (the door,
its crash cases and its fuzz are then generated), or validated by ``checks.<name>``. ``ulps`` is the
contract of the compiled kernel with its twin: 0 = the same bits, else at most that many units in
the last place (transcendental functions: numpy's own SIMD exp and the C library's differ by an ulp).
``inplace`` kernels update their array arguments; the compiled ones need them C-contiguous, so a
strided array goes to the twin.
"""
import dataclasses

from . import checks
from .checks import Float

# The ISA levels, worst to best (cpu.pyx:cpu_features reports the ones this CPU runs).
ISAS = ("generic", "avx2", "avx512")

FAMILIES = {
    "elementwise": ("generic", "avx2", "avx512"),
    "gemm": ("generic", "avx2", "avx512"),
    "im2col": ("generic",),
    "pooling": ("generic",),
    "batchnorm": ("generic", "avx2"),
    "optim": ("generic",),
}


@dataclasses.dataclass(frozen=True)
class Kernel:
    name: str
    family: str
    args: tuple = ()        # Float specs; empty: validated by checks.<name>
    ulps: int = 0           # compiled vs twin: 0 = bitwise equal, else within this many ulps;
                            # None: a bound of its own, stated in its tests
    inplace: bool = False   # updates its arrays in place (strided ones go to the twin)

    @property
    def check(self):
        """The validator of a kernel without Float specs: door arguments → kernel arguments."""
        return getattr(checks, self.name)

    @property
    def isas(self):
        return FAMILIES[self.family]


def unary(family, name, ulps=0, saved="x"):
    """``<name>_forward(x)`` and ``<name>_backward(grad_out, <saved>)``: an elementwise op and its
    gradient, which reads the input x or, where that is cheaper, the output y."""
    return [Kernel(f"{name}_forward", family, (Float("x"),), ulps),
            Kernel(f"{name}_backward", family, (Float("grad_out", like=saved), Float(saved)), ulps)]


KERNELS = {k.name: k for k in [
    *unary("elementwise", "relu"),
    *unary("elementwise", "gelu", ulps=None),  # erf: bounded by the formula's terms (tests/_ops/conftest.py)
    # the kernels' own exp (vecmath.pxi: ≤ 2.5 ulp from exact) vs the twins' float64 value rounded
    # once: at most 2 (sigmoid) and 3 (tanh) ulps apart over 2.5e6 draws per dtype and ISA build on Zen 4
    *unary("elementwise", "sigmoid", ulps=4, saved="y"),
    *unary("elementwise", "tanh", ulps=4, saved="y"),
    Kernel("gemm", "gemm"),
    Kernel("matmul", "gemm"),
    Kernel("im2col", "im2col"),
    Kernel("col2im", "im2col"),
    Kernel("conv2d_forward", "gemm"),  # implicit GEMM: in the GEMM's modules (conv_kernel.pxi)
    Kernel("conv2d_backward_weight", "gemm"),
    Kernel("conv2d_backward_input", "gemm"),
    # Winograd F(2×2, 3×3) (winograd_kernel.pxi): within its own bound of the twin (tests/_ops/test_conv.py)
    Kernel("conv2d_winograd", "gemm", ulps=None),
    Kernel("conv2d_winograd_backward_weight", "gemm", ulps=None),
    Kernel("max_pool2d_forward", "pooling"),
    Kernel("max_pool2d_backward", "pooling"),
    Kernel("avg_pool2d_forward", "pooling"),
    Kernel("avg_pool2d_backward", "pooling"),
    Kernel("batch_norm_forward_train", "batchnorm"),
    Kernel("batch_norm_forward_eval", "batchnorm"),
    Kernel("batch_norm_backward", "batchnorm"),
    Kernel("sgd_step", "optim", inplace=True),
    Kernel("adam_step", "optim", inplace=True),
]}
