# Shared with every kernel module: `from minigrad._ops.cpu cimport num_threads`.
cdef int num_threads() noexcept nogil
