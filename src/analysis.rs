//! Drives the pipeline (to be built).
