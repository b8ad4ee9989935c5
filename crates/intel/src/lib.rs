//! Knowledge about indicators.
