//! Response playbooks: declarative, versioned TOML files.
//!
//! A playbook has a **trigger** (conditions on the incident's verdict, priority, confidence,
//! observables, ATT&CK techniques and tactics, alert sources, and an optional expression) and
//! **steps**: `enrich`, `condition` (`if`/`then`/`else`), `action`, `notify`, `approval` (actions after
//! it wait for a human), `parallel` (branches) and `for_each` (over a list from the incident).
//! Parameters are minijinja templates over the incident.
//!
//! Pure: [`load`] parses and checks a file's text, reporting every problem with its line and column;
//! [`Playbook::matches`] and [`Playbook::plan`] turn an incident into the proposals the playbook makes.
//! Nothing runs here: every proposal goes through the policy engine like any other.

mod check;
mod model;
mod plan;
mod template;

pub use check::{INVESTIGATION_MODES, Located, load};
pub use model::{Playbook, Step, StepKind, Trigger};
pub use plan::{PlanError, Planned};
