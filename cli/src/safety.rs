//! Keeping root's edit root's own, modelled on OpenSSH's `StrictModes`.
//!
//! The CLI is often run as root (`sudo rocket-maintenance on --unit app`) on a file and in
//! directories that the service's user may be able to write. So:
//!
//! - it never follows a symlink it did not resolve itself: the path is resolved once, then every
//!   file is opened, locked, changed and replaced through descriptors (`O_NOFOLLOW`, `fchmod`,
//!   `fchown`, a rename within one directory descriptor);
//! - the bytes it validates are the bytes it writes (validated in memory, never re-read);
//! - the written file keeps its owner and its permission bits only (`mode & 0o777`);
//! - run as root, it refuses a config whose file or any directory on the way is writable by a
//!   user other than root (a root-owned directory with the sticky bit, like `/tmp`, is safe: no
//!   one else can rename or remove root's entries in it);
//! - paths read from a live state that another user wrote are used only when that user can read
//!   the file but cannot write it or its directory ([`service_may_use`]).

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{open, openat, renameat, OFlag};
use nix::sys::stat::{fchmod, fstat, FileStat, Mode, SFlag};
use nix::unistd::{fchown, unlinkat, Gid, Uid, UnlinkatFlags};

use crate::Error;

/// The largest config file the CLI edits.
const MAX_CONFIG_BYTES: i64 = 1024 * 1024;

/// Whether this process runs as root (effective uid 0).
pub fn running_as_root() -> bool {
    Uid::effective().is_root()
}

fn is_dir(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}

fn is_regular(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
}

/// Why `st` (of `path`) could be changed by a user other than root, if it could.
fn writable_by_others(st: &FileStat, path: &Path) -> Option<String> {
    let mode = st.st_mode & 0o7777;
    let sticky_root_dir = is_dir(st) && st.st_uid == 0 && mode & 0o1000 != 0;
    if st.st_uid != 0 {
        return Some(format!(
            "{} is owned by uid {}, not root",
            path.display(),
            st.st_uid
        ));
    }
    if sticky_root_dir {
        return None;
    }
    if mode & 0o002 != 0 {
        return Some(format!("{} is writable by everyone", path.display()));
    }
    if mode & 0o020 != 0 && st.st_gid != 0 {
        return Some(format!(
            "{} is writable by group {}",
            path.display(),
            st.st_gid
        ));
    }
    None
}

/// A config file, opened safely: its directory and the file itself as descriptors.
#[derive(Debug)]
pub struct OpenedConfig {
    /// The file's real path (symlinks resolved by the CLI itself).
    pub real: PathBuf,
    dir: OwnedFd,
    name: OsString,
    /// The file's status when opened (owner, group, mode).
    pub stat: FileStat,
    /// The file's contents when opened.
    pub text: String,
}

fn refused(path: &Path, reason: impl Into<String>) -> Error {
    Error::Refused {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl OpenedConfig {
    /// Resolves `path` once, checks it (as root: [`check_root_owned`]), opens its directory and
    /// then the file through that directory without following a symlink, and reads it.
    pub fn open(path: &Path) -> Result<OpenedConfig, Error> {
        let real = std::fs::canonicalize(path).map_err(|e| {
            refused(
                path,
                format!("{e}; pass --config PATH (the service's config file)"),
            )
        })?;
        if running_as_root() {
            // The path as given (its directories and the ones holding its symlinks) and the
            // path it resolves to: nobody but root may be able to change either.
            check_root_owned(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))?;
            check_root_owned(&real)?;
        }
        let parent = real.parent().unwrap_or(Path::new("/"));
        let name = real
            .file_name()
            .map(|n| n.to_os_string())
            .ok_or_else(|| refused(&real, "is not a file"))?;
        let dir = open(
            parent,
            OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_RDONLY,
            Mode::empty(),
        )
        .map_err(|e| Error::errno(format!("opening {}", parent.display()), e))?;
        // O_NONBLOCK: a FIFO put in the file's place must not hang the CLI.
        let fd = openat(
            &dir,
            name.as_os_str(),
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| match e {
            nix::errno::Errno::ELOOP => refused(&real, "became a symlink while it was opened"),
            e => Error::errno(format!("opening {}", real.display()), e),
        })?;
        let stat =
            fstat(&fd).map_err(|e| Error::errno(format!("reading {}", real.display()), e))?;
        if !is_regular(&stat) {
            return Err(refused(&real, "is not a regular file"));
        }
        if stat.st_size > MAX_CONFIG_BYTES {
            return Err(refused(
                &real,
                "is larger than 1 MiB; is it the right file?",
            ));
        }
        let mut bytes = Vec::new();
        File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading {}", real.display()), e))?;
        // Never echo a file that is not text: it may not be a config at all.
        let text = String::from_utf8(bytes).map_err(|_| {
            refused(
                &real,
                "is not UTF-8 text, so it is not a Rocket.toml; pass --config PATH",
            )
        })?;
        Ok(OpenedConfig {
            real,
            dir,
            name,
            stat,
            text,
        })
    }

    /// Takes the edit lock: a sibling `.<name>.lock` (a rename replaces a locked inode, so the
    /// file itself cannot be the lock), created without following a symlink, waited for at most
    /// `timeout`.
    pub fn lock(&self, timeout: Duration) -> Result<File, Error> {
        let mut lock_name = OsString::from(".");
        lock_name.push(&self.name);
        lock_name.push(".lock");
        let lock_path = self.real.with_file_name(&lock_name);
        let fd = openat(
            &self.dir,
            lock_name.as_os_str(),
            OFlag::O_CREAT | OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| match e {
            nix::errno::Errno::ELOOP => refused(
                &self.real,
                format!("the lock {} is a symlink; remove it", lock_path.display()),
            ),
            e => Error::errno(format!("opening the lock {}", lock_path.display()), e),
        })?;
        let file = File::from(fd);
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        path: lock_path,
                        timeout,
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io(format!("locking {}", lock_path.display()), e))
                }
            }
        }
    }

    /// Whether users other than the owner and group can read the file.
    pub fn world_readable(&self) -> bool {
        self.stat.st_mode & 0o004 != 0
    }

    /// Replaces the file with `bytes` atomically: a new file in the same directory (through the
    /// directory's descriptor), given the old file's owner and permission bits (never setuid,
    /// setgid or sticky), synced, then renamed over the old name.
    pub fn replace(&self, bytes: &[u8]) -> Result<(), Error> {
        let suffix = rocket_maintenance::control::generate_secret()
            .map_err(|e| Error::io("making a temporary name", e))?;
        let tmp_name = format!(".rocket-maintenance-{}.toml", &suffix[..16]);
        let fd = openat(
            &self.dir,
            tmp_name.as_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| {
            Error::errno(
                format!("creating a temporary file beside {}", self.real.display()),
                e,
            )
        })?;
        let result = (|| {
            let mut file = File::from(fd);
            file.write_all(bytes)
                .map_err(|e| Error::io(format!("writing beside {}", self.real.display()), e))?;
            let owner_kept = fchown(
                &file,
                Some(Uid::from_raw(self.stat.st_uid)),
                Some(Gid::from_raw(self.stat.st_gid)),
            );
            if let Err(e) = owner_kept {
                // Not root: a file of our own keeps its owner, and its group only if we are a
                // member of it. Anything else is refused, or the service might no longer read it.
                let ours = self.stat.st_uid == Uid::effective().as_raw();
                let group_kept =
                    ours && fchown(&file, None, Some(Gid::from_raw(self.stat.st_gid))).is_ok();
                if e != nix::errno::Errno::EPERM || !group_kept {
                    return Err(refused(
                        &self.real,
                        format!(
                            "its owner and group ({}:{}) cannot be kept by this user ({e}); run \
                             the CLI as root or as a member of group {}",
                            self.stat.st_uid, self.stat.st_gid, self.stat.st_gid
                        ),
                    ));
                }
            }
            fchmod(&file, Mode::from_bits_truncate(self.stat.st_mode & 0o777)).map_err(|e| {
                Error::errno(format!("keeping the mode of {}", self.real.display()), e)
            })?;
            file.sync_all()
                .map_err(|e| Error::io(format!("writing beside {}", self.real.display()), e))?;
            renameat(
                &self.dir,
                tmp_name.as_str(),
                &self.dir,
                self.name.as_os_str(),
            )
            .map_err(|e| Error::errno(format!("replacing {}", self.real.display()), e))
        })();
        if result.is_err() {
            let _ = unlinkat(&self.dir, tmp_name.as_str(), UnlinkatFlags::NoRemoveDir);
        } else {
            let _ = nix::unistd::fsync(&self.dir);
        }
        result
    }
}

/// As root: refuses `real` when the file or any directory on the way to it can be changed by a
/// user other than root, naming the path and the fix. A symlink on the way is judged by the
/// directory that holds it (its target is checked when the caller checks the resolved path).
pub fn check_root_owned(real: &Path) -> Result<(), Error> {
    let mut at = PathBuf::new();
    let components: Vec<_> = real.components().collect();
    for (i, component) in components.iter().enumerate() {
        at.push(component);
        let st = nix::sys::stat::lstat(&at)
            .map_err(|e| Error::errno(format!("checking {}", at.display()), e))?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
            // Who can change a symlink is who can write its directory (checked just before);
            // where it leads is checked as the resolved path.
            continue;
        }
        if i + 1 < components.len() && !is_dir(&st) {
            return Err(refused(
                real,
                format!("{} is not a directory", at.display()),
            ));
        }
        if let Some(why) = writable_by_others(&st, &at) {
            return Err(refused(
                real,
                format!(
                    "{why}, so another user could change what root edits; make it root's and \
                     not group- or world-writable (e.g. `chown root:APPGROUP FILE; chmod 640 \
                     FILE` and `chmod 755` on its directories), or run the CLI as the file's owner"
                ),
            ));
        }
    }
    Ok(())
}

/// The groups of user `uid`: from the process `pid` where `/proc` shows them, else from the
/// user database.
pub fn groups_of(uid: u32, pid: Option<u32>) -> Vec<u32> {
    if let Some(status) =
        pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
    {
        let mut gids = Vec::new();
        for line in status.lines() {
            if let Some(rest) = line
                .strip_prefix("Gid:")
                .or_else(|| line.strip_prefix("Groups:"))
            {
                gids.extend(
                    rest.split_whitespace()
                        .filter_map(|g| g.parse::<u32>().ok()),
                );
            }
        }
        if !gids.is_empty() {
            return gids;
        }
    }
    let Ok(Some(user)) = nix::unistd::User::from_uid(Uid::from_raw(uid)) else {
        return Vec::new();
    };
    let name = std::ffi::CString::new(user.name.as_bytes()).unwrap_or_default();
    let mut gids: Vec<u32> = nix::unistd::getgrouplist(&name, user.gid)
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default();
    gids.push(user.gid.as_raw());
    gids
}

/// Whether a path named by a live state that user `uid` (with groups `gids`) wrote may be used:
/// that user can read it (so it is that service's) but cannot write it, nor the directory it is
/// in. `Err` says why not.
pub fn service_may_use(path: &Path, uid: u32, gids: &[u32]) -> Result<(), String> {
    let meta = |p: &Path| nix::sys::stat::stat(p).map_err(|e| format!("{}: {e}", p.display()));
    let may = |st: &FileStat, bits: u32| {
        let mode = st.st_mode;
        (st.st_uid == uid && mode & (bits << 6) != 0)
            || (gids.contains(&st.st_gid) && mode & (bits << 3) != 0)
            || mode & bits != 0
    };
    let st = meta(path)?;
    if st.st_uid == uid || may(&st, 0o2) {
        return Err(format!(
            "{} can be changed by uid {uid}, which wrote the live state",
            path.display()
        ));
    }
    // Every directory on the way, of the path as written and as resolved: one the service's user
    // can change would let it swap what the path names.
    let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for p in [path, real.as_path()] {
        for dir in p.ancestors().skip(1) {
            let Ok(dst) = nix::sys::stat::lstat(dir) else {
                continue;
            };
            let sticky_root = dst.st_mode & 0o1000 != 0 && dst.st_uid == 0;
            if dst.st_uid == uid || (may(&dst, 0o2) && !sticky_root) {
                return Err(format!(
                    "the directory {} on its way can be changed by uid {uid}, which wrote the \
                     live state",
                    dir.display()
                ));
            }
        }
    }
    if !may(&st, 0o4) {
        return Err(format!(
            "uid {uid}, which wrote the live state, cannot read {}, so it is not that service's",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sticky_root_directory_is_safe_and_a_writable_one_is_not() {
        let st = nix::sys::stat::stat("/tmp").unwrap();
        assert_eq!(writable_by_others(&st, Path::new("/tmp")), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        let st = nix::sys::stat::stat(dir.path()).unwrap();
        if st.st_uid == 0 {
            assert!(writable_by_others(&st, dir.path()).is_some());
        }
    }
}
