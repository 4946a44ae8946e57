//! Shared by the integration tests: rockets with settings merged in, counted handlers, and the
//! paths of the demo and CLI binaries.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rocket::figment::Figment;
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket, Route};
use rocket_maintenance::Maintenance;

/// Rocket's defaults (no `Rocket.toml`, no environment) with `toml`, a document of top-level
/// keys such as `[maintenance]`, merged in.
pub fn figment(toml: &str) -> Figment {
    use rocket::figment::providers::{Format, Toml};
    Figment::from(rocket::Config::default())
        .merge(("log_level", "off"))
        .merge(Toml::string(toml))
}

/// A rocket with `routes` at `/`, `force_off` routes, and the fairing reading `toml`.
pub fn rocket_with(toml: &str, routes: Vec<Route>, force_off: Vec<Route>) -> Rocket<Build> {
    let f = figment(toml);
    let fairing_figment = f.clone();
    rocket::custom(f)
        .mount("/", routes)
        .attach(Maintenance::custom(move || fairing_figment.clone()).force_off("/", force_off))
}

pub async fn client(rocket: Rocket<Build>) -> Client {
    Client::tracked(rocket).await.expect("valid rocket")
}

/// A counter for handler calls.
pub struct Calls(AtomicUsize);

impl Calls {
    pub const fn new() -> Self {
        Calls(AtomicUsize::new(0))
    }
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// `target/debug` (or whichever profile the tests were built with).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds the demo and the CLI once per test process, with this build's features and profile,
/// so that a test file run alone (`cargo test --test faults`) finds them. Within `cargo test`
/// they are already built, and this is a quick no-op.
fn build_binaries() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.current_dir(repo()).args([
            "build",
            "--quiet",
            "--example",
            "demo",
            "--bin",
            "rocket-maintenance",
        ]);
        if cfg!(feature = "fleet") {
            cmd.args(["--features", "fleet"]);
        }
        if target_dir().ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build");
        assert!(
            status.success(),
            "cargo build of the demo and the CLI failed"
        );
    });
}

/// The demo binary, built for this test run.
pub fn demo_bin() -> PathBuf {
    build_binaries();
    target_dir().join("examples/demo")
}

/// The `rocket-maintenance` binary (package `rocket-maintenance-cli`), built for this test run.
pub fn cli_bin() -> PathBuf {
    build_binaries();
    target_dir().join("rocket-maintenance")
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real demo process on a loopback port, with its own config, runtime directory and (when
/// asked) a real `UnixDatagram` as `NOTIFY_SOCKET`.
pub struct Demo {
    pub child: std::process::Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub notify: Option<std::os::unix::net::UnixDatagram>,
    pub stdout_lines: std::sync::mpsc::Receiver<String>,
    /// What the process printed up to its launch line.
    pub launch_output: Vec<String>,
}

/// The demo's config as shipped, with `maintenance` lines replaced by `maintenance_toml`.
pub fn demo_config(maintenance_toml: &str) -> String {
    format!(
        "[default]\naddress = \"127.0.0.1\"\nport = 0\ntemplate_dir = \"templates\"\n\n[default.maintenance]\n{maintenance_toml}\n"
    )
}

impl Demo {
    /// Starts the demo with `config` as its `Rocket.toml` (templates copied beside it).
    pub fn start(config: &str, with_notify: bool, env: &[(&str, &str)]) -> Demo {
        Demo::start_hupping(config, with_notify, env, false)
    }

    /// Like `start`; with `hup_early`, sends `SIGHUP`s as soon as Rocket prints its
    /// configuration (the fairing exists, ignite has begun, liftoff has not happened).
    pub fn start_hupping(
        config: &str,
        with_notify: bool,
        env: &[(&str, &str)],
        hup_early: bool,
    ) -> Demo {
        Demo::launch(config, with_notify, env, hup_early, None)
    }

    /// Like `start`, with the demo running as user `uid` (the tests run as root): its files
    /// are made readable to that user, its runtime directory is that user's.
    pub fn start_as(config: &str, uid: u32) -> Demo {
        Demo::launch(config, true, &[], false, Some(uid))
    }

    fn launch(
        config: &str,
        with_notify: bool,
        env: &[(&str, &str)],
        hup_early: bool,
        uid: Option<u32>,
    ) -> Demo {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("templates");
        std::fs::create_dir_all(&templates).unwrap();
        for entry in std::fs::read_dir(repo().join("templates")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), templates.join(entry.file_name())).unwrap();
        }
        std::fs::write(dir.path().join("Rocket.toml"), config).unwrap();
        let runtime = dir.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let notify = with_notify.then(|| {
            std::os::unix::net::UnixDatagram::bind(dir.path().join("notify.sock")).unwrap()
        });
        let mut cmd = std::process::Command::new(demo_bin());
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ROCKET_CONFIG", dir.path().join("Rocket.toml"))
            .env("ROCKET_CLI_COLORS", "false")
            .env("RUNTIME_DIRECTORY", &runtime)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if with_notify {
            cmd.env("NOTIFY_SOCKET", dir.path().join("notify.sock"));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(uid) = uid {
            use std::os::unix::fs::PermissionsExt;
            use std::os::unix::process::CommandExt;
            let open = |p: &std::path::Path, mode| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
            };
            open(dir.path(), 0o755);
            open(&templates, 0o755);
            open(&dir.path().join("Rocket.toml"), 0o644);
            std::os::unix::fs::chown(&runtime, Some(uid), Some(uid)).unwrap();
            if with_notify {
                open(&dir.path().join("notify.sock"), 0o777);
            }
            cmd.uid(uid).gid(uid);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    let _ = tx.send(line);
                }
            });
        }
        let mut demo = Demo {
            child,
            port: 0,
            dir,
            notify,
            stdout_lines: rx,
            launch_output: Vec::new(),
        };
        demo.port = demo.wait_for_launch(hup_early);
        demo
    }

    /// Waits for Rocket's launch line and returns the port.
    fn wait_for_launch(&mut self, mut hup_early: bool) -> u16 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline {
            if let Ok(line) = self
                .stdout_lines
                .recv_timeout(std::time::Duration::from_millis(100))
            {
                if hup_early && line.contains("Configured for") {
                    hup_early = false;
                    for _ in 0..5 {
                        self.signal(nix::sys::signal::Signal::SIGHUP);
                    }
                }
                if let Some(rest) = line.split("launched from http://127.0.0.1:").nth(1) {
                    self.launch_output = seen;
                    return rest.trim().parse().unwrap();
                }
                seen.push(line);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("demo exited with {status}:\n{}", seen.join("\n"));
            }
        }
        panic!("demo did not launch:\n{}", seen.join("\n"));
    }

    /// All output lines so far.
    pub fn output(&self) -> Vec<String> {
        self.stdout_lines.try_iter().collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("Rocket.toml")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), signal).unwrap();
    }

    /// The next datagram on the notify socket.
    pub fn next_notification(&self, timeout: std::time::Duration) -> Option<String> {
        let sock = self.notify.as_ref().expect("started with a notify socket");
        sock.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0u8; 4096];
        sock.recv(&mut buf)
            .ok()
            .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// A request over a fresh loopback connection: (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<(u16, String)> {
        http(self.port, method, path, headers)
    }
}

/// One HTTP/1.1 request over a fresh loopback connection: (status, headers + body as text).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(req.as_bytes())?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    Ok((status, text))
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `redis-server` for the fleet tests, on a unix socket and (when asked) a loopback
/// port, with nothing persisted.
pub struct Redis {
    pub child: std::process::Child,
    pub dir: tempfile::TempDir,
    pub port: Option<u16>,
}

impl Redis {
    pub fn start(tcp: bool) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        Redis::start_in(dir, tcp.then(free_port))
    }

    /// Starts on the same socket (and port) again, empty: a store restarted without persistence.
    pub fn restart(&mut self) {
        self.stop();
        let fresh = Redis::spawn(self.dir.path(), self.port);
        self.child = fresh;
        self.wait_ready();
    }

    fn start_in(dir: tempfile::TempDir, port: Option<u16>) -> Redis {
        let child = Redis::spawn(dir.path(), port);
        let r = Redis { child, dir, port };
        r.wait_ready();
        r
    }

    fn spawn(dir: &std::path::Path, port: Option<u16>) -> std::process::Child {
        let sock = dir.join("redis.sock");
        let _ = std::fs::remove_file(&sock);
        std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.unwrap_or(0).to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--unixsocket",
                sock.to_str().unwrap(),
                "--unixsocketperm",
                "700",
            ])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                dir.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server; .ci/run installs it)")
    }

    fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server does not answer"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!(
            "redis+unix://{}",
            self.dir.path().join("redis.sock").display()
        )
    }

    /// `redis-cli` over the socket; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .arg("-s")
            .arg(self.dir.path().join("redis.sock"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Demo {
    /// The demo's live state, as its file says now.
    pub fn live(&self) -> serde_json::Value {
        let path = self
            .dir
            .path()
            .join("run")
            .join(format!("{}.json", self.pid()));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// Waits (at most `timeout`) until `check` holds for the live state; returns the last one.
    pub fn wait_live(
        &self,
        timeout: std::time::Duration,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let live = self.live();
            if check(&live) || std::time::Instant::now() >= deadline {
                return live;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Runs the CLI in `cwd` with `env` (and no `ROCKET_CONFIG`/`ROCKET_PROFILE` of the test's
/// own).
#[allow(dead_code)]
pub fn cli_output(
    args: &[&str],
    cwd: &std::path::Path,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(cli_bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("ROCKET_CONFIG")
        .env_remove("ROCKET_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// What a command printed: stdout, then stderr.
#[allow(dead_code)]
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// [`cli_output`]: whether it succeeded, and what it printed.
#[allow(dead_code)]
pub fn run_cli(args: &[&str], cwd: &std::path::Path, env: &[(&str, &str)]) -> (bool, String) {
    let out = cli_output(args, cwd, env);
    (out.status.success(), output_text(&out))
}

/// `args` (a command first) aimed at namespace `namespace` of the fleet store at `url`.
#[allow(dead_code)]
pub fn fleet_args<'a>(url: &'a str, namespace: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![args[0], "--store", url, "--namespace", namespace];
    all.extend_from_slice(&args[1..]);
    all
}

/// Waits until `/proc/<pid>/environ` of a just-spawned child shows its environment: `spawn`
/// returns as soon as the child's new image replaces the old, before the kernel has set where
/// its environment lies, and the CLI reads a service's environment to find its live state.
#[allow(dead_code)]
pub fn wait_for_environment(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::read(format!("/proc/{pid}/environ")).map_or(true, |env| env.is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} shows no environment"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A live state as a service writes it, for process `pid`, naming `config_path`, with `status`.
#[allow(dead_code)]
pub fn live_state(
    pid: u32,
    config_path: Option<&std::path::Path>,
    status: &str,
) -> serde_json::Value {
    serde_json::json!({
        "pid": pid, "generation": 1, "on": false, "read_only": false, "why": null,
        "since": null, "message": "", "config_path": config_path, "profile": "default",
        "template_dir": "/tmp", "status": status, "last_error": null, "reloads": []
    })
}

/// The figment of a service whose whole `Rocket.toml` is `path` (read again at each call, so at
/// each reload), quiet.
#[allow(dead_code)]
pub fn file_figment(
    path: &std::path::Path,
) -> impl Fn() -> Figment + Send + Sync + Clone + 'static {
    let path = path.to_path_buf();
    move || {
        use rocket::figment::providers::{Format, Toml};
        Figment::from(rocket::Config::default())
            .merge(("log_level", "off"))
            .merge(Toml::file_exact(&path).nested())
    }
}

/// The handle of the maintenance fairing attached to `client`'s Rocket.
#[allow(dead_code)]
pub fn handle(client: &Client) -> rocket_maintenance::MaintenanceHandle {
    client
        .rocket()
        .state::<rocket_maintenance::MaintenanceHandle>()
        .expect("the maintenance fairing is attached")
        .clone()
}

/// Serves `routes` with the maintenance fairing in this test process (which is then the service
/// the CLI signals with `--pid`), its settings read from `config` (a whole `Rocket.toml`, read
/// again at each reload), on `port`; returns once it answers.
#[allow(dead_code)]
pub fn serve_in_process(config: &std::path::Path, port: u16, routes: Vec<Route>) {
    let figment = file_figment(config);
    let rocket = rocket::custom(figment())
        .mount("/", routes)
        .attach(Maintenance::custom(figment));
    std::thread::spawn(move || {
        rocket::execute(async move {
            let _ = rocket.launch().await;
        })
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while http(port, "GET", "/", &[]).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `POST /slow`: a write that takes 2.5 s, for the drain.
#[rocket::post("/slow")]
pub async fn slow() -> &'static str {
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    "written"
}

/// The drain, against a service that serves `POST /slow` on `port`, driven by `cli`:
/// 1. while a slow write runs, `on` with `--drain --timeout 800ms` fails saying `still_running`;
///    a new write is then held back, and the one admitted before still completes;
/// 2. after `off`, while another slow write runs, `on --drain --timeout 10s` returns only once
///    the write has ended, saying `drained`.
#[allow(dead_code)]
pub fn drain_waits_for_writes(
    port: u16,
    cli: impl Fn(&[&str]) -> (bool, String),
    on: &[&str],
    off: &[&str],
    still_running: &str,
    drained: &str,
) {
    let with = |timeout: &'static str| {
        let mut args = on.to_vec();
        args.extend(["--drain", "--timeout", timeout]);
        args
    };
    let ((ok, out), _, status) = while_a_slow_write_runs(port, || {
        let answer = cli(&with("800ms"));
        assert_eq!(http(port, "POST", "/slow", &[]).unwrap().0, 503);
        answer
    });
    assert!(!ok && out.contains(still_running), "{out}");
    assert_eq!(status, 200, "the write admitted before completes");

    let (ok, out) = cli(off);
    assert!(ok, "{out}");
    let ((ok, out), waited, status) = while_a_slow_write_runs(port, || cli(&with("10s")));
    assert!(ok && out.contains(drained), "{out}");
    assert!(
        waited >= std::time::Duration::from_millis(1500),
        "returned before the write ended: {waited:?} ({out})"
    );
    assert_eq!(status, 200);
}

/// Runs `during` while a slow write (`POST /slow` on `port`) is in flight (started 300 ms
/// before); returns what `during` returned, how long it took, and the write's status.
fn while_a_slow_write_runs<T>(
    port: u16,
    during: impl FnOnce() -> T,
) -> (T, std::time::Duration, u16) {
    let write = std::thread::spawn(move || http(port, "POST", "/slow", &[]));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let result = during();
    let took = started.elapsed();
    let (status, _) = write.join().unwrap().expect("the slow write was answered");
    (result, took, status)
}
