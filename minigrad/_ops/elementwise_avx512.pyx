"""Elementwise kernels built with AVX-512 F/VL/BW/DQ: ``elementwise_kernels.pxi`` compiled with the
flags setup.py gives ``*_avx512.pyx`` files (16 float32 lanes). Imported only when ``cpu_features()``
reports AVX-512; layout, loops and numerics are documented in ``elementwise_generic.pyx``.
"""
include "elementwise_kernels.pxi"
