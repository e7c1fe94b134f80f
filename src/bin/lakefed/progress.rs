//! A progress line (rows and bytes so far) on stderr while a query runs,
//! shown only when stdout is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use datafusion::arrow::record_batch::RecordBatch;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

/// Progress of one query; does nothing when output is piped.
pub struct Progress {
    bar: Option<ProgressBar>,
    rows: u64,
    bytes: u64,
}

impl Progress {
    /// Starts showing progress if stdout is a terminal.
    pub fn start() -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let progress = Self {
            bar,
            rows: 0,
            bytes: 0,
        };
        progress.show();
        progress
    }

    /// Counts a batch that arrived.
    pub fn add(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as u64;
        self.bytes += batch.get_array_memory_size() as u64;
        self.show();
    }

    /// Runs `f` with the progress line hidden, so output is not garbled.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the progress line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn show(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} rows, {}", self.rows, HumanBytes(self.bytes)));
        }
    }
}
