//! `rdpdoctor completions SHELL` and `rdpdoctor manpage`: generated from the same clap
//! definitions that parse the arguments, so help, completions and the man page never disagree.

use clap::CommandFactory;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    pub shell: clap_complete::Shell,
}

pub fn completions<C: CommandFactory>(args: &CompletionsArgs) -> u8 {
    let mut cmd = C::command();
    // Into memory first: clap_complete panics when it cannot write.
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "rdpdoctor", &mut buf);
    crate::out(&String::from_utf8_lossy(&buf));
    0
}

pub fn manpage<C: CommandFactory>() -> u8 {
    let cmd = C::command();
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
        return crate::usage_error(format!("cannot render the man page: {e}"));
    }
    crate::out(&String::from_utf8_lossy(&out));
    0
}
