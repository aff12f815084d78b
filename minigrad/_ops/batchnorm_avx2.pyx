"""Batch normalization kernels built with AVX2+FMA: ``batchnorm_kernels.pxi`` compiled with the
flags setup.py gives ``*_avx2.pyx`` files. Imported only when ``cpu_features()`` reports AVX2;
layout, loops and numerics are documented in ``batchnorm_generic.pyx``.
"""
include "batchnorm_kernels.pxi"
