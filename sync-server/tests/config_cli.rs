//! The server's configuration as an operator gives it: a `--config` file of `FIELDKIT_…`
//! lines under the environment and the flags, and JSON log lines for a log pipeline. Runs the
//! built binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const SERVER: &str = env!("CARGO_BIN_EXE_fieldkit-server");

#[test]
fn a_config_file_sets_the_flags_defaults_and_the_environment_and_flags_win_over_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (from_file, from_env) = (dir.path().join("from-file"), dir.path().join("from-env"));
    let config = dir.path().join("fieldkit.env");
    std::fs::write(&config, format!("# the operator's file\nFIELDKIT_DATA_DIR={}\n", from_file.display()))?;
    let create = |slug: &str, env: Option<&std::path::Path>| {
        let mut command = Command::new(SERVER);
        command.args(["--config"]).arg(&config).args(["create-org", "--slug", slug, "--name", slug]);
        command.env_remove("FIELDKIT_DATA_DIR");
        if let Some(dir) = env {
            command.env("FIELDKIT_DATA_DIR", dir);
        }
        command.output()
    };
    let out = create("acme", None)?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(from_file.join("fieldkit-server.sqlite3").exists(), "the file's data folder was used");
    let out = create("beta", Some(&from_env))?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(from_env.join("fieldkit-server.sqlite3").exists(), "the environment won over the file");

    let missing =
        Command::new(SERVER).args(["--config", "/nonexistent/fieldkit.env", "create-org"]).output()?;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/fieldkit.env"));
    Ok(())
}

#[test]
fn json_logs_are_one_object_per_line() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = Command::new(SERVER)
        .args(["--log-format", "json", "--data-dir"])
        .arg(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--summaries-every-minutes", "0"])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = server.stderr.take().expect("stderr is piped");
    let first = BufReader::new(stderr).lines().next().transpose()?;
    server.kill()?;
    server.wait()?;
    let line = first.expect("the server logs when it starts serving");
    let event: serde_json::Value = serde_json::from_str(&line)?;
    assert_eq!(event["level"], "INFO", "{line}");
    assert!(event["timestamp"].is_string() && event["fields"]["message"].is_string(), "{line}");
    Ok(())
}
