//! What the headless-Chromium tests share: the workspace root, the tools they need (Node.js,
//! the npm packages of `tests/browser`, Debian's Chromium), running one of their scripts to
//! its end with a time limit, and reading a screenshot's size.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a browser script may take.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

/// What a script said: whether it exited with success, its stdout and its stderr.
pub struct ScriptRun {
    /// Whether it exited with success (a killed script did not).
    pub ok: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// The workspace's root folder.
#[must_use]
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_owned()
}

/// The Chromium binary, after checking every tool a browser test needs; fails with what to
/// run when one is missing.
pub fn require_tools(root: &Path) -> anyhow::Result<PathBuf> {
    let setup =
        "run ./scripts/setup (it installs Debian's chromium and runs `npm ci --prefix tests/browser`)";
    let node = Command::new("node").arg("--version").output();
    anyhow::ensure!(node.is_ok_and(|o| o.status.success()), "Node.js is missing: {setup}");
    anyhow::ensure!(
        root.join("tests/browser/node_modules/playwright-core/package.json").is_file(),
        "tests/browser/node_modules is missing: {setup}"
    );
    let chromium =
        std::env::var_os("CHROMIUM_PATH").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    anyhow::ensure!(chromium.is_file(), "{} is missing: {setup}", chromium.display());
    Ok(chromium)
}

/// Runs `tests/browser/<script>` with `args` (and `env` set) to its end, killed after
/// [`BROWSER_TIMEOUT`]. Blocking: call it from `spawn_blocking` in async tests.
pub fn run_script(
    root: &Path,
    chromium: &Path,
    script: &str,
    args: &[String],
    env: &[(&str, String)],
) -> anyhow::Result<ScriptRun> {
    let mut child = Command::new("node")
        .arg(root.join("tests/browser").join(script))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("CHROMIUM_PATH", chromium)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > BROWSER_TIMEOUT {
            child.kill()?;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output()?;
    Ok(ScriptRun {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Width and height from a PNG file's header, after checking its signature.
pub fn png_size(path: &Path) -> anyhow::Result<(u32, u32)> {
    let bytes = std::fs::read(path)?;
    anyhow::ensure!(
        bytes.len() > 33 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    anyhow::ensure!(&bytes[12..16] == b"IHDR", "{} has no IHDR first", path.display());
    let word = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Ok((word(16), word(20)))
}
