//! The provider under test as a process: `CMD` run through `sh -c` in a process group of its own
//! with `OFREP_ENDPOINT` set (ADR-0007; `{url}` in CMD is the same URL), its output kept as a
//! bounded tail for error messages, and stopped with SIGTERM to the whole group, then SIGKILL
//! after a grace.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// Lines of the provider's output kept for error messages.
const TAIL_LINES: usize = 12;
/// Characters kept of one output line.
const LINE_CHARS: usize = 300;
/// How long a provider has to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long the output of a provider that exited is read on: a process it left behind may
/// hold its pipes open.
const DRAIN: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
#[error("cannot start the provider `{command}` through sh: {source}")]
pub struct SpawnError {
    command: String,
    source: std::io::Error,
}

pub struct ProviderProcess {
    child: Child,
    /// The process group: the shell's pid, as the shell leads its own group.
    group: Option<i32>,
    tail: Arc<Mutex<VecDeque<String>>>,
    /// The tasks reading its stdout and stderr into `tail`.
    readers: Vec<JoinHandle<()>>,
}

impl ProviderProcess {
    pub fn spawn(command: &str, endpoint: &str) -> Result<Self, SpawnError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command.replace("{url}", endpoint))
            .env("OFREP_ENDPOINT", endpoint)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SpawnError {
                command: command.to_owned(),
                source,
            })?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(keep_tail(stdout, Arc::clone(&tail))));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(keep_tail(stderr, Arc::clone(&tail))));
        }
        let group = child.id().and_then(|pid| i32::try_from(pid).ok());
        Ok(Self {
            child,
            group,
            tail,
            readers,
        })
    }

    /// How it exited, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Its last lines of output (stdout and stderr interleaved), oldest first.
    pub fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|tail| tail.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Its last lines of output once it has exited: what it wrote just before it exited may
    /// still be in the pipes, so they are read to their end first (for at most `DRAIN`).
    pub async fn final_tail(&mut self) -> Vec<String> {
        let readers = std::mem::take(&mut self.readers);
        let _ = tokio::time::timeout(DRAIN, futures_util::future::join_all(readers)).await;
        self.tail()
    }

    /// SIGTERM to the group, then SIGKILL to the group if the shell has not exited after the
    /// grace. The group is signalled even when the shell is gone: what it started may live on.
    pub async fn stop(mut self) {
        let Some(group) = self.group.take() else {
            let _ = self.child.kill().await;
            return;
        };
        signal_group(group, Signal::Terminate);
        let exited = tokio::time::timeout(GRACE, self.child.wait()).await;
        if exited.is_err() {
            signal_group(group, Signal::Kill);
            let _ = self.child.wait().await;
        } else {
            // The shell is gone; anything left in its group gets no second chance.
            signal_group(group, Signal::Kill);
        }
    }
}

impl Drop for ProviderProcess {
    /// A scenario dropped mid-way (Ctrl-C, a panic) still takes its provider with it.
    fn drop(&mut self) {
        if let Some(group) = self.group.take() {
            signal_group(group, Signal::Kill);
        }
    }
}

enum Signal {
    Terminate,
    Kill,
}

/// Signals every process in `group`. Failing to (the group is already empty) is fine.
fn signal_group(group: i32, signal: Signal) {
    let signal = match signal {
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid names
    // the process group, which `process_group(0)` made the shell's own, so nothing outside the
    // provider's group is signalled.
    unsafe {
        libc::kill(-group, signal);
    }
}

async fn keep_tail(output: impl AsyncRead + Unpin, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(output);
    // At most this much of a line is kept; the rest of a longer one is read and dropped, so
    // output without newlines cannot grow memory.
    let mut line: Vec<u8> = Vec::new();
    // Read to the end, so the provider never blocks on a full pipe.
    while let Ok(chunk) = reader.fill_buf().await {
        if chunk.is_empty() {
            push_line(&line, &tail);
            break;
        }
        let used = chunk.len();
        for part in chunk.split_inclusive(|b| *b == b'\n') {
            let room = (LINE_CHARS * 4).saturating_sub(line.len());
            line.extend_from_slice(&part[..part.len().min(room)]);
            if part.ends_with(b"\n") {
                push_line(&line, &tail);
                line.clear();
            }
        }
        reader.consume(used);
    }
}

fn push_line(line: &[u8], tail: &Mutex<VecDeque<String>>) {
    let text: String = String::from_utf8_lossy(line)
        .trim_end()
        .chars()
        .take(LINE_CHARS)
        .collect();
    if text.is_empty() {
        return;
    }
    if let Ok(mut tail) = tail.lock() {
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a provider wrote just before it exited is in its tail however soon the exit is
    /// seen: the pipes are read to their end first.
    #[tokio::test]
    async fn the_last_words_of_a_provider_that_exited_at_once_are_kept() {
        for _ in 0..10 {
            let mut process =
                ProviderProcess::spawn("echo 'no config here' >&2; exit 3", "http://127.0.0.1:9")
                    .unwrap();
            let mut polls = 0;
            while process.exited().is_none() {
                polls += 1;
                assert!(polls < 5000, "sh did not exit in 5 s");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(process.final_tail().await, ["no config here"]);
            process.stop().await;
        }
    }
}
