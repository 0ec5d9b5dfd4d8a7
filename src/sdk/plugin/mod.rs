//! go-plugin transport: handshake, AutoMTLS, serving, debug mode. TODO(helper).
