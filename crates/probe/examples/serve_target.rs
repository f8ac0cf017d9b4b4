//! Serve the rewrite stand-in over a data repo branch, for rehearsing `probe` by hand:
//!
//! ```text
//! cargo run -p probe --example serve_target -- data.git published 127.0.0.1:8090
//! probe --target=http://127.0.0.1:8090 --data-repo=data.git --sample=10
//! # with an ingress serving `probe legacy-urls --emit-redirects=legacy.conf` in front:
//! cargo run -p probe --example serve_target -- data.git published 127.0.0.1:8090 legacy.conf
//! ```

use fixtures::target::{TargetOptions, TargetServer};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo, branch, rest @ ..] = args.as_slice() else {
        eprintln!("usage: serve_target <bare data repo> <branch> [bind address] [redirect map]");
        std::process::exit(2);
    };
    let options = TargetOptions {
        bind: Some(
            rest.first()
                .cloned()
                .unwrap_or_else(|| "127.0.0.1:8090".into()),
        ),
        redirect_map: rest.get(1).map(Into::into),
        ..TargetOptions::default()
    };
    match TargetServer::start(repo, branch, options) {
        Ok(target) => {
            eprintln!("rewrite stand-in for {repo} {branch} on {}", target.url());
            target.join();
        }
        Err(e) => {
            eprintln!("serve_target: {e}");
            std::process::exit(2);
        }
    }
}
