//! story (to be built).
