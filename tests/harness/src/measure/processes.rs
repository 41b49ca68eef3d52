//! Processes as /proc shows them: who is whose child, what each is running, and the CPU
//! time the kernel has counted for it. Every /proc reading of the benchmarks goes
//! through here, so `stat`'s fields are parsed in one place.

/// The fields of `/proc/<pid>/stat` (or of a thread's, `/proc/<pid>/task/<tid>/stat`)
/// that the benchmarks read. Times are in clock ticks ([`super::clock_ticks`] a second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The command name (field 2, without its parentheses; a thread's own name).
    pub name: String,
    /// The parent's pid (field 4).
    pub parent: u32,
    /// CPU time it used itself: utime + stime (fields 14 and 15).
    pub own_ticks: u64,
    /// CPU time of the children it has waited for: cutime + cstime (fields 16 and 17).
    /// An exited child's time moves here once it is reaped.
    pub reaped_children_ticks: u64,
}

impl Stat {
    /// `/proc/<path>/stat`, with `path` a pid, `self`, or `<pid>/task/<tid>`; `None` if
    /// the process is gone (or was never there).
    pub fn read(path: &str) -> Option<Self> {
        Self::parse(&std::fs::read_to_string(format!("/proc/{path}/stat")).ok()?)
    }

    /// Parses a `stat` line. The name may hold spaces and parentheses, so the fields
    /// are counted from the last `)`.
    fn parse(stat: &str) -> Option<Self> {
        let (head, rest) = stat.rsplit_once(')')?;
        let name = head.split_once('(')?.1.to_owned();
        // `rest` starts at field 3 (the state).
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        Some(Self {
            name,
            parent: u32::try_from(field(4)?).ok()?,
            own_ticks: field(14)? + field(15)?,
            reaped_children_ticks: field(16)? + field(17)?,
        })
    }
}

/// Every process on the machine now (the numeric entries of /proc).
pub fn pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The direct children of `pid` now (a PostgreSQL postmaster's backends and WAL
/// senders).
pub fn children_of(pid: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|candidate| Stat::read(&candidate.to_string()).is_some_and(|s| s.parent == pid))
        .collect()
}

/// The command line of `pid`, its arguments joined by spaces ("" if it is gone). A
/// PostgreSQL backend's says what it is (`postgres: walsender ...`, `autovacuum`).
pub fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (tokio (rt) 1) S 17 4242 4242 0 -1 4194560 1 0 0 0 \
                    120 30 7 3 20 0 9 0 100 1000 50";
        assert_eq!(
            Stat::parse(line),
            Some(Stat {
                name: "tokio (rt) 1".into(),
                parent: 17,
                own_ticks: 150,
                reaped_children_ticks: 10,
            })
        );
        assert_eq!(Stat::parse("4242 (cut short) S 1 2"), None);
    }

    #[test]
    fn this_process_is_found_with_its_parent_and_children() {
        let me = std::process::id();
        let stat = Stat::read("self").expect("our own stat");
        assert_eq!(Stat::read(&me.to_string()), Some(stat.clone()));
        assert!(children_of(stat.parent).contains(&me));
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(children_of(me).contains(&child.id()));
        assert!(cmdline(child.id()).starts_with("sleep 5"));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
