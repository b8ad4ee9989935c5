//! Knowledge about indicators.

pub mod warninglists;

pub use warninglists::{LoadProblem, Warninglists};
