//! Passwords: from an environment variable or a prompt without echo, never from argv.

use std::io::IsTerminal;
use zeroize::Zeroizing;

/// The environment variable `--user` reads the password from.
pub const PASSWORD_ENV: &str = "RDPDOCTOR_PASSWORD";

/// The password for `user` of `flag`: the environment variable `env`, else a prompt without echo
/// on the terminal.
pub(crate) fn password_from(
    env: &str,
    flag: &str,
    user: &str,
) -> Result<Zeroizing<String>, String> {
    if let Some(p) = std::env::var_os(env) {
        return p
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| format!("{env} is not valid UTF-8"));
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "{flag} {user} needs a password: set {env}, or run in a terminal to be prompted"
        ));
    }
    rpassword::prompt_password(format!("Password for {user}: "))
        .map(Zeroizing::new)
        .map_err(|e| format!("cannot read the password: {e}"))
}
