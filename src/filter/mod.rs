//! filter (to be built).
