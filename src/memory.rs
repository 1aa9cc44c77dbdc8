//! The allocator, asked to give back what it holds for nothing.

/// mimalloc keeps the pages freed on a thread for that thread's next
/// allocations; after a burst of garbage (start-up, a large import) this
/// hands the calling thread's empty pages back to the system. Harmless when
/// mimalloc is not the global allocator (tests): it then frees nothing.
pub fn release_freed_pages() {
    // SAFETY: `mi_collect` takes no pointers; it only frees pages and
    // segments that hold no live allocation.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
