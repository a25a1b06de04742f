//! wego: a simple, opinionated on-ramp to GitOps on Kubernetes, built on Flux v2.
//!
//! Rust holds the mechanisms (git, Kubernetes, providers, templates, diagnostics); the
//! commands themselves are Rhai scripts rendering minijinja templates, all overridable.

// Errors are the cold path and a diagnostic carries everything needed to render it; boxing
// every one would only add noise.
#![allow(clippy::result_large_err)]

pub mod build_info;
pub mod checkpoint;
mod civil;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod diagnostics;
pub mod engine;
pub mod git;
pub mod k8s;
pub mod layers;
pub mod paths;
pub mod primitives;
pub mod progress;
pub mod provider;
pub mod render;
pub mod secrets;
pub mod text;
pub mod trust;
