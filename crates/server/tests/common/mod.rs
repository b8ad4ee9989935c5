//! Helpers shared by the integration tests that need them.

use picket_server::{Role, TokenConfig};

/// A bearer token read from a file under `dir`, as `[[server.tokens]]` with `token_file` sets it up.
pub(crate) fn token_file(
    dir: &std::path::Path,
    name: &str,
    secret: &str,
    role: Role,
) -> TokenConfig {
    let p = dir.join(format!("{name}.token"));
    std::fs::write(&p, secret).unwrap();
    TokenConfig {
        name: name.into(),
        token_env: None,
        token_file: Some(p),
        role,
    }
}
