//! Knowledge about indicators.

pub mod attack;
pub mod warninglists;

pub use attack::AttackCatalog;
pub use warninglists::{LoadProblem, Warninglists};
