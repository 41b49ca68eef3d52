//! Sampling a phase: the CPU of every process taking part and the peak RSS of the one
//! measured, read together, in the caller's loop or in a task of their own.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::cpu::CpuTracker;
use super::memory::RssPeak;
use super::report::CpuUse;

/// What a phase used: the CPU of every process of its [`CpuTracker`], and the most RSS
/// of the process it measures.
#[derive(Debug)]
pub struct PhaseMeter {
    cpu: CpuTracker,
    rss: RssPeak,
}

impl PhaseMeter {
    /// Meters a phase: CPU as `cpu` tracks it, RSS of `pid`.
    pub fn new(cpu: CpuTracker, pid: u32) -> Self {
        Self {
            cpu,
            rss: RssPeak::new(pid),
        }
    }

    /// Reads both now.
    pub fn sample(&mut self) {
        self.rss.sample();
        self.cpu.sample();
    }

    /// Takes a last CPU sample; the phase's CPU and the RSS seen.
    pub fn finish(self) -> (CpuUse, RssPeak) {
        (self.cpu.finish(), self.rss)
    }

    /// Samples in a task of its own, every `period` (the first at once), until
    /// [`BackgroundMeter::finish`].
    pub fn every(mut self, period: Duration) -> BackgroundMeter {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = every.tick() => self.sample(),
                    _ = stopped.wait_for(|stop| *stop) => break,
                }
            }
            self.finish()
        });
        BackgroundMeter { stop, task }
    }
}

/// A [`PhaseMeter`] sampling in a task of its own.
#[derive(Debug)]
pub struct BackgroundMeter {
    stop: watch::Sender<bool>,
    task: JoinHandle<(CpuUse, RssPeak)>,
}

impl BackgroundMeter {
    /// Stops sampling; the phase's CPU and the RSS seen.
    pub async fn finish(self) -> Result<(CpuUse, RssPeak), tokio::task::JoinError> {
        let _ = self.stop.send(true);
        self.task.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::CpuSources;

    #[tokio::test]
    async fn a_background_meter_samples_until_finished() {
        let me = std::process::id();
        let cpu = CpuSources::default().process("bench", me).start();
        let meter = PhaseMeter::new(cpu, me).every(Duration::from_millis(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (cpu, rss) = meter.finish().await.unwrap();
        assert!(rss.samples >= 2, "{rss:?}");
        assert!(rss.max_kib > 0);
        assert_eq!(cpu.seconds.len(), 1);
    }
}
