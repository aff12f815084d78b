"""Elementwise kernels built with AVX2+FMA: ``elementwise_kernels.pxi`` compiled with the flags
setup.py gives ``*_avx2.pyx`` files (8 float32 lanes). Imported only when ``cpu_features()`` reports
AVX2; layout, loops and numerics are documented in ``elementwise_generic.pyx``.
"""
include "elementwise_kernels.pxi"
