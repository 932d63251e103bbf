//! http (to be built).
