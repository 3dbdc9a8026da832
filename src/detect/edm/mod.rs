//! Exact data matching (placeholder).
