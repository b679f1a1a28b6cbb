//! Accord: a self-hostable chat server that speaks Discord's REST API and Gateway protocol.
pub mod auth;
pub mod config;
pub mod error;
pub mod i18n;
pub mod id;
pub mod model;
pub mod permissions;
pub mod store;
pub mod validate;
