# Shared with every kernel module: `from minigrad._ops.cpu cimport num_threads`.
cdef int num_threads() noexcept nogil
cdef int threads_for(double work, double first, double grain) noexcept nogil
cdef int threads_capped(double work, double first, double grain, int cap) noexcept nogil
