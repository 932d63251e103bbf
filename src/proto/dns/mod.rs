//! dns (to be built).
