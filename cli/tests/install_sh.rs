//! `installer/install.sh`, the one-line installer, run for real under `sh` and `dash` (and
//! `bash`, which is `/bin/sh` on other distributions) into a temp `--bin-dir`, with
//! `--from-file` the real `megashop` binary or a small fake one where the binary's content
//! does not matter. Downloads are exercised through `file://` URLs, which curl fetches.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_megashop");

/// A stand-in for `megashop`: answers `--version`, and writes every other argument list to
/// the file named by `MEGASHOP_FAKE_ARGS`, one argument a line.
const FAKE_MEGASHOP: &str = "#!/bin/sh\n\
    if [ \"$1\" = --version ]; then echo 'megashop 9.9.9'; exit 0; fi\n\
    printf '%s\\n' \"$@\" > \"$MEGASHOP_FAKE_ARGS\"\n";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../installer/install.sh")
}

/// The shells to run the script with; one that is not installed is skipped.
fn shells() -> Vec<&'static str> {
    ["sh", "dash", "bash"]
        .into_iter()
        .filter(|shell| {
            let found = Command::new(shell).args(["-c", ":"]).status().is_ok_and(|s| s.success());
            if !found {
                eprintln!("skipping {shell}: not installed");
            }
            found
        })
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    assert!(out.status.success(), "sha256sum {}: {}", path.display(), text(&out.stderr));
    text(&out.stdout).split_whitespace().next().expect("sha256sum prints a digest").to_string()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

/// The last line of a failed run's stderr: the script's one error line.
fn error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure; stderr:\n{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default().to_string();
    assert!(line.starts_with("install.sh: "), "the error line names the script: {stderr}");
    line
}

fn assert_ok(out: &Output) {
    assert!(out.status.success(), "install.sh failed:\n{}{}", text(&out.stdout), text(&out.stderr));
}

/// A temp dir holding the bin dir, the script's `TMPDIR` and a Debian os-release file.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("bin")).expect("mkdir bin");
        std::fs::create_dir(dir.path().join("tmp")).expect("mkdir tmp");
        std::fs::write(dir.path().join("os-release"), "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n")
            .expect("write os-release");
        Sandbox { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bin_dir(&self) -> PathBuf {
        self.path("bin")
    }

    /// Writes an executable file into the sandbox and returns its path.
    fn executable(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write executable");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// `SHELL install.sh`, English, with a clean environment.
    fn script(&self, shell: &str) -> Command {
        let mut c = self.shell(shell);
        c.arg(script());
        c
    }

    /// `SHELL` alone (the script is piped to it), with the same environment.
    fn shell(&self, shell: &str) -> Command {
        let mut c = Command::new(shell);
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("TMPDIR", self.path("tmp"))
            .env("MEGASHOP_INSTALL_OS_RELEASE", self.path("os-release"))
            .stdin(Stdio::null());
        c
    }

    /// `--bin-dir <sandbox>/bin` plus `args`.
    fn install(&self, shell: &str, args: &[&str]) -> Output {
        self.script(shell).arg("--bin-dir").arg(self.bin_dir()).args(args).output().expect("run install.sh")
    }

    /// Neither the script's temp dir nor a staged `.megashop.*` file is left behind.
    fn assert_no_temp_files(&self) {
        let left: Vec<_> = std::fs::read_dir(self.path("tmp")).expect("read tmp").collect();
        assert!(left.is_empty(), "temp files left in TMPDIR: {left:?}");
        if let Ok(entries) = std::fs::read_dir(self.bin_dir()) {
            for entry in entries {
                let name = entry.expect("dir entry").file_name();
                assert!(!name.to_string_lossy().starts_with(".megashop"), "staged file left: {name:?}");
            }
        }
    }

    fn assert_bin_dir_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(self.bin_dir()).expect("read bin dir").collect();
        assert!(left.is_empty(), "nothing may be installed, found {left:?}");
    }
}

#[test]
fn from_file_installs_the_real_binary_with_mode_0755_and_it_runs() {
    let expected = sha256(Path::new(BIN));
    for shell in shells() {
        let sb = Sandbox::new();
        let target = sb.bin_dir().join("megashop");
        // An older binary is replaced.
        std::fs::write(&target, "old").expect("write old binary");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");

        let out = sb.install(shell, &["--from-file", BIN, "--no-install"]);
        assert_ok(&out);
        assert_eq!(sha256(&target), expected, "{shell}: the installed file is the binary");
        assert_eq!(mode(&target), 0o755, "{shell}: mode");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("installed megashop 0."), "{shell}: reports the version: {stderr}");
        assert!(!stderr.contains("running"), "{shell}: --no-install does not run megashop install: {stderr}");

        let version = Command::new(&target).arg("--version").output().expect("run installed megashop");
        assert!(version.status.success(), "{shell}: installed megashop runs");
        assert!(text(&version.stdout).starts_with("megashop "), "{shell}: {}", text(&version.stdout));
        sb.assert_no_temp_files();
    }
}

#[test]
fn from_file_with_the_right_sha256_passes() {
    // Upper case on purpose: a digest copied from anywhere is accepted.
    let digest = sha256(Path::new(BIN)).to_uppercase();
    for shell in shells() {
        let sb = Sandbox::new();
        let out = sb.install(shell, &["--from-file", BIN, "--sha256", &digest, "--no-install"]);
        assert_ok(&out);
        assert!(text(&out.stderr).contains("SHA-256 verified"), "{shell}: {}", text(&out.stderr));
        assert_eq!(mode(&sb.bin_dir().join("megashop")), 0o755, "{shell}");
        sb.assert_no_temp_files();
    }
}

#[test]
fn from_file_with_a_wrong_sha256_fails_and_installs_nothing() {
    let wrong = "ab".repeat(32);
    let actual = sha256(Path::new(BIN));
    for shell in shells() {
        let sb = Sandbox::new();
        let out = sb.install(shell, &["--from-file", BIN, "--sha256", &wrong, "--no-install"]);
        let line = error_line(&out);
        assert!(line.starts_with("install.sh: error: checksum mismatch"), "{shell}: {line}");
        assert!(line.contains(&wrong) && line.contains(&actual), "{shell}: both digests: {line}");
        sb.assert_bin_dir_empty();
        sb.assert_no_temp_files();

        // Something that is not a digest is refused before anything is read.
        let out = sb.install(shell, &["--from-file", BIN, "--sha256", "abc", "--no-install"]);
        assert!(error_line(&out).contains("64 hexadecimal digits"), "{shell}");
        sb.assert_bin_dir_empty();
    }
}

#[test]
fn an_unsupported_architecture_fails_clearly() {
    for shell in shells() {
        let sb = Sandbox::new();
        let out = sb
            .script(shell)
            .env("MEGASHOP_INSTALL_UNAME_M", "sparc64")
            .arg("--bin-dir")
            .arg(sb.bin_dir())
            .args(["--from-file", BIN, "--no-install"])
            .output()
            .expect("run install.sh");
        let line = error_line(&out);
        assert_eq!(
            line,
            "install.sh: error: unsupported architecture sparc64: Megashop is built for x86_64 (amd64) and aarch64 (arm64)",
            "{shell}"
        );
        assert_eq!(text(&out.stderr).lines().count(), 1, "{shell}: one line: {}", text(&out.stderr));
        sb.assert_bin_dir_empty();
    }
}

#[test]
fn arguments_after_double_dash_reach_megashop_install_unchanged() {
    for shell in shells() {
        let sb = Sandbox::new();
        let fake = sb.executable("megashop-fake", FAKE_MEGASHOP);
        let args_file = sb.path("args");
        let out = sb
            .script(shell)
            .env("MEGASHOP_FAKE_ARGS", &args_file)
            .arg("--bin-dir")
            .arg(sb.bin_dir())
            .arg("--from-file")
            .arg(&fake)
            // `--no-install` after `--` belongs to megashop install, not to the script.
            .args(["--", "--domain", "shop.ru", "--admin-name", "Иван Петров", "*", "--no-install"])
            .output()
            .expect("run install.sh");
        assert_ok(&out);
        let got = std::fs::read_to_string(&args_file).expect("megashop install was run");
        assert_eq!(
            got.lines().collect::<Vec<_>>(),
            ["install", "--domain", "shop.ru", "--admin-name", "Иван Петров", "*", "--no-install"],
            "{shell}"
        );
        assert!(text(&out.stderr).contains("installed megashop 9.9.9"), "{shell}: {}", text(&out.stderr));
        sb.assert_no_temp_files();
    }
}

#[test]
fn piped_to_sh_the_real_megashop_install_gets_the_arguments() {
    // `curl ... | sh -s -- FLAGS -- --help`: the script comes on stdin.
    let direct = Command::new(BIN)
        .args(["install", "--help"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run megashop install --help");
    let source = std::fs::read(script()).expect("read install.sh");
    for shell in shells() {
        let sb = Sandbox::new();
        let mut child = sb
            .shell(shell)
            .args(["-s", "--"])
            .arg("--bin-dir")
            .arg(sb.bin_dir())
            .args(["--from-file", BIN, "--", "--help"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn install.sh");
        child.stdin.take().expect("stdin").write_all(&source).expect("pipe the script");
        let out = child.wait_with_output().expect("wait for install.sh");
        if direct.status.success() {
            assert_ok(&out);
            assert_eq!(text(&out.stdout), text(&direct.stdout), "{shell}: the output of `megashop install --help`");
        } else {
            // `megashop install` is not in this build yet: the script still ran it, and
            // reports its failure.
            let first = text(&direct.stderr).lines().next().unwrap_or_default().to_string();
            assert!(text(&out.stderr).contains(&first), "{shell}: {}", text(&out.stderr));
            let line = error_line(&out);
            let code = direct.status.code().unwrap_or_default();
            assert!(line.contains(&format!("megashop install failed (exit status {code})")), "{shell}: {line}");
        }
        assert_eq!(mode(&sb.bin_dir().join("megashop")), 0o755, "{shell}");
        sb.assert_no_temp_files();
    }
}

#[test]
fn a_bin_dir_that_is_not_writable_suggests_sudo() {
    let running_as_root = std::fs::metadata("/proc/self").expect("stat /proc/self").uid() == 0;
    let source = std::fs::read(script()).expect("read install.sh");
    for shell in shells() {
        let sb = Sandbox::new();
        std::fs::set_permissions(sb.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut cmd = sb.shell(shell);
        // Root may write anywhere: run the script as `nobody`, for which the root-owned bin
        // dir is read-only. The script comes on stdin, as with `curl ... | sh`.
        if running_as_root {
            cmd.uid(65534).gid(65534).current_dir("/").env("TMPDIR", "/tmp");
        } else {
            std::fs::set_permissions(sb.bin_dir(), std::fs::Permissions::from_mode(0o555)).expect("chmod");
        }
        let mut child = cmd
            .args(["-s", "--", "--bin-dir"])
            .arg(sb.bin_dir())
            .args(["--from-file", BIN, "--no-install"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn install.sh");
        child.stdin.take().expect("stdin").write_all(&source).expect("pipe the script");
        let out = child.wait_with_output().expect("wait for install.sh");
        let line = error_line(&out);
        assert_eq!(
            line,
            format!(
                "install.sh: error: cannot write to {}: run as root (with sudo), or choose a directory you can write to with --bin-dir",
                sb.bin_dir().display()
            ),
            "{shell}"
        );
        std::fs::set_permissions(sb.bin_dir(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        sb.assert_bin_dir_empty();
    }
}

#[test]
fn russian_locale_gives_russian_messages() {
    for shell in shells() {
        let sb = Sandbox::new();
        let out = sb
            .script(shell)
            .env("LANG", "ru_RU.UTF-8")
            .env("MEGASHOP_INSTALL_UNAME_M", "sparc64")
            .args(["--from-file", BIN, "--no-install"])
            .output()
            .expect("run install.sh");
        assert_eq!(
            error_line(&out),
            "install.sh: ошибка: архитектура sparc64 не поддерживается: Megashop собирается для x86_64 (amd64) и aarch64 (arm64)",
            "{shell}"
        );

        let out = sb.script(shell).env("LANG", "ru_RU.UTF-8").arg("--help").output().expect("run install.sh");
        assert_ok(&out);
        assert!(text(&out.stdout).contains("Использование:"), "{shell}: {}", text(&out.stdout));

        // LC_ALL wins over LANG, as everywhere else.
        let out = sb
            .script(shell)
            .env("LANG", "ru_RU.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .env("MEGASHOP_INSTALL_UNAME_M", "sparc64")
            .output()
            .expect("run install.sh");
        assert!(error_line(&out).starts_with("install.sh: error: unsupported architecture"), "{shell}");
    }
}

#[test]
fn help_lists_the_flags_and_an_unknown_flag_fails() {
    for shell in shells() {
        let sb = Sandbox::new();
        let out = sb.script(shell).arg("--help").output().expect("run install.sh");
        assert_ok(&out);
        let help = text(&out.stdout);
        for flag in [
            "--from-file",
            "--url",
            "--base-url",
            "--sha256",
            "--insecure-skip-checksum",
            "--bin-dir",
            "--no-install",
            "Everything after `--`",
        ] {
            assert!(help.contains(flag), "{shell}: --help mentions {flag}:\n{help}");
        }

        let out = sb.install(shell, &["--from-file", BIN, "--domian", "shop.ru"]);
        assert_eq!(
            error_line(&out),
            "install.sh: error: unknown option --domian; arguments for `megashop install` go after `--` (see --help)",
            "{shell}"
        );
        sb.assert_bin_dir_empty();
    }
}

#[test]
fn a_binary_that_does_not_run_replaces_nothing_and_help_stands_in_for_version() {
    for shell in shells() {
        let sb = Sandbox::new();
        let broken = sb.executable("broken", "#!/bin/sh\nexit 1\n");
        let target = sb.bin_dir().join("megashop");
        std::fs::write(&target, "old").expect("write old binary");
        let out = sb.install(shell, &["--from-file", broken.to_str().expect("utf-8 path")]);
        assert!(error_line(&out).contains("does not run on this system"), "{shell}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "old", "{shell}: old binary kept");
        sb.assert_no_temp_files();

        // Without --version, a working --help is enough.
        let no_version = sb.executable("no-version", "#!/bin/sh\n[ \"$1\" = --help ]\n");
        let out = sb.install(shell, &["--from-file", no_version.to_str().expect("utf-8 path"), "--no-install"]);
        assert_ok(&out);
        assert_eq!(sha256(&target), sha256(&no_version), "{shell}: replaced");
    }
}

#[test]
fn other_distributions_get_a_warning_and_a_missing_bin_dir_is_created() {
    for shell in shells() {
        let sb = Sandbox::new();
        let fake = sb.executable("megashop-fake", FAKE_MEGASHOP);
        std::fs::write(sb.path("fedora"), "NAME=\"Fedora Linux\"\nID=fedora\nPRETTY_NAME='Fedora Linux 40'\n")
            .expect("write os-release");
        let bin_dir = sb.path("opt/megashop/bin");
        let out = sb
            .script(shell)
            .env("MEGASHOP_INSTALL_OS_RELEASE", sb.path("fedora"))
            .arg("--bin-dir")
            .arg(&bin_dir)
            .arg("--from-file")
            .arg(&fake)
            .arg("--no-install")
            .output()
            .expect("run install.sh");
        assert_ok(&out);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("install.sh: warning: Fedora Linux 40 is not Debian or Ubuntu"), "{shell}: {stderr}");
        assert_eq!(mode(&bin_dir.join("megashop")), 0o755, "{shell}");

        // Debian derivatives say so in ID_LIKE: no warning.
        std::fs::write(sb.path("mint"), "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n").expect("write os-release");
        let out = sb
            .script(shell)
            .env("MEGASHOP_INSTALL_OS_RELEASE", sb.path("mint"))
            .arg("--bin-dir")
            .arg(&bin_dir)
            .arg("--from-file")
            .arg(&fake)
            .arg("--no-install")
            .output()
            .expect("run install.sh");
        assert_ok(&out);
        assert!(!text(&out.stderr).contains("warning"), "{shell}: {}", text(&out.stderr));
    }
}

#[test]
fn downloads_are_verified_against_the_sha256_file_next_to_them() {
    if !Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("skipping: curl is not installed (file:// downloads need it)");
        return;
    }
    for shell in shells() {
        let sb = Sandbox::new();
        let releases = sb.path("releases");
        std::fs::create_dir(&releases).expect("mkdir releases");
        // arm64 is named aarch64 in release file names.
        let binary = releases.join("megashop-aarch64-linux");
        std::fs::write(&binary, FAKE_MEGASHOP).expect("write release");
        let digest = sha256(&binary);
        let sums = releases.join("megashop-aarch64-linux.sha256");
        std::fs::write(&sums, format!("{digest}  megashop-aarch64-linux\n")).expect("write .sha256");
        let base_url = format!("file://{}", releases.display());
        let download = |extra: &[&str]| {
            sb.script(shell)
                .env("MEGASHOP_INSTALL_UNAME_M", "arm64")
                .arg("--bin-dir")
                .arg(sb.bin_dir())
                .args(["--base-url", &base_url, "--no-install"])
                .args(extra)
                .output()
                .expect("run install.sh")
        };

        let out = download(&[]);
        assert_ok(&out);
        assert!(text(&out.stderr).contains(&format!("SHA-256 verified: {digest}")), "{shell}: {}", text(&out.stderr));
        assert_eq!(mode(&sb.bin_dir().join("megashop")), 0o755, "{shell}");
        std::fs::remove_file(sb.bin_dir().join("megashop")).expect("rm");

        // A .sha256 file that does not match: nothing installed.
        std::fs::write(&sums, format!("{}  megashop-aarch64-linux\n", "0".repeat(64))).expect("write .sha256");
        let out = download(&[]);
        assert!(error_line(&out).contains("checksum mismatch"), "{shell}");
        sb.assert_bin_dir_empty();
        sb.assert_no_temp_files();

        // No .sha256 file and no --sha256: refused, unless explicitly skipped.
        std::fs::remove_file(&sums).expect("rm .sha256");
        let out = download(&[]);
        assert!(error_line(&out).contains("pass --sha256 HEX"), "{shell}");
        sb.assert_bin_dir_empty();
        let out = download(&["--sha256", &digest]);
        assert_ok(&out);
        std::fs::remove_file(sb.bin_dir().join("megashop")).expect("rm");
        let out = download(&["--insecure-skip-checksum"]);
        assert_ok(&out);
        assert!(text(&out.stderr).contains("warning: --insecure-skip-checksum"), "{shell}");
        sb.assert_no_temp_files();
    }
}

#[test]
fn shellcheck_finds_nothing() {
    let out = match Command::new("shellcheck").args(["-s", "sh"]).arg(script()).output() {
        Ok(out) => out,
        Err(_) => {
            eprintln!("skipping: shellcheck is not installed (apt-get install shellcheck)");
            return;
        }
    };
    assert!(out.status.success(), "shellcheck -s sh installer/install.sh:\n{}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}
