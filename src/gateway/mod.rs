//! The Discord Gateway v10 protocol, independent of any socket.
//!
//! These modules are the pieces the WebSocket server and the session actor are built from:
//! opcodes and close codes, intents and which events they gate, decoding client frames and
//! encoding server frames (a dispatched event is serialized once and shared by every
//! recipient), zlib-stream compression, and the session state machine with its resume buffer.
//! Keeping them free of I/O makes every protocol rule testable with plain unit tests.

pub mod close;
pub mod compress;
pub mod intents;
pub mod opcode;
pub mod payload;
pub mod state;

// The server side: accepting sockets and running sessions.
pub mod connection;
pub mod discard;
pub mod fragments;
pub mod server;
pub mod session;
