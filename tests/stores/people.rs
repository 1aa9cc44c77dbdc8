//! The people store contract (filled in by the store work of issue #17).
