//! The shipped systemd units are valid: `systemd-analyze verify` (systemd's own checker)
//! reports nothing on them, with their `ExecStart` binary pointed at the one under test.
//! A missing `systemd-analyze` (Debian's `systemd` package) fails the test under
//! `CONVENE_REQUIRE_SHARED=1` (as in CI) and skips it otherwise.
mod common;

use std::process::Command;

#[test]
fn systemd_units_verify_clean() {
    let Some(tool) = common::require_tool(
        "/usr/bin/systemd-analyze".into(),
        "Debian package `systemd`",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/systemd");
    let mut units = Vec::new();
    for (file, instance) in [
        ("convene-api@.service", Some("convene-api@8081.service")),
        ("convene-worker.service", None),
    ] {
        let text = std::fs::read_to_string(format!("{src}/{file}")).unwrap();
        assert!(text.contains("/usr/local/bin/convene"), "{file}: ExecStart");
        let text = text.replace("/usr/local/bin/convene", common::BIN);
        let name = instance.unwrap_or(file);
        std::fs::write(dir.path().join(name), text).unwrap();
        units.push(dir.path().join(name));
    }
    let out = Command::new(tool)
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}
