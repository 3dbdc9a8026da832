//! Giving memory back to the system after a peak: asks mimalloc (the binary's allocator, set in
//! `main`) to return freed pages now instead of keeping them for later, so one burst of large
//! messages does not leave the process at its peak size once the traffic has stopped.

/// Messages at least this large are followed by [`release`] (smaller ones are served from memory
/// the allocator keeps anyway, and collecting after each would cost more than it gives back).
pub const RELEASE_AFTER: usize = 1024 * 1024;

/// Returns the calling thread's freed memory, and what the allocator holds for all threads and is
/// free, to the operating system. A no-op where mimalloc is not the global allocator (it then only
/// tidies mimalloc's own, empty, heaps).
pub fn release() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
