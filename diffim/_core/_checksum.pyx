"""FITS data sums (the 32-bit word sums behind DATASUM and CHECKSUM) in one pass.

Private module; call it through `diffim.io.checksum`. A FITS data unit is a
sequence of big-endian 32-bit words and its DATASUM their ones' complement
sum. Both functions return the plain 64-bit sum of the words (no overflow
below 2^32 words); the caller folds the carries. Rows run in parallel on
``threads`` OpenMP threads (one for a small plane: waking a team costs more).
"""
from cython.parallel cimport prange
from libc.stdint cimport uint32_t, uint64_t


cdef inline uint32_t _swapped(uint32_t word) noexcept nogil:
    return ((word >> 24) | ((word >> 8) & 0xFF00u) | ((word << 8) & 0xFF0000u) | (word << 24))


def native_word_sum(const uint32_t[:, ::1] words, uint32_t flip, int threads):
    """Sum of the big-endian words a native-endian 4-byte plane is written as.

    Written big-endian, each element becomes the word of its own native value,
    XOR ``flip`` (2^31 for uint32 stored as int32 with BZERO = 2^31).
    """
    cdef Py_ssize_t n_rows = words.shape[0], n_cols = words.shape[1], r, c
    cdef uint64_t total = 0
    for r in prange(n_rows, nogil=True, schedule="static", num_threads=threads):
        for c in range(n_cols):
            total += words[r, c] ^ flip
    return total


def swap_in_place_word_sum(uint32_t[:, ::1] words, int threads):
    """Sum of the words of a plane as read from a file (big-endian bytes), swapping it
    to native byte order in the same pass."""
    cdef Py_ssize_t n_rows = words.shape[0], n_cols = words.shape[1], r, c
    cdef uint64_t total = 0
    cdef uint32_t word
    for r in prange(n_rows, nogil=True, schedule="static", num_threads=threads):
        for c in range(n_cols):
            word = _swapped(words[r, c])
            words[r, c] = word
            total += word
    return total
