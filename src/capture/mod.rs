//! capture (to be built).
