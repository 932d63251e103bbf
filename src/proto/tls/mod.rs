//! tls (to be built).
