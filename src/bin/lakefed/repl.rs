//! `lakefed repl`: an interactive SQL shell. Statements end with `;` and may
//! span lines; history is kept in `~/.lakefed_history`.

use std::path::PathBuf;

use datafusion::prelude::SessionContext;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::output::{Format, run_query};

/// Runs the shell until `\q`, `exit`, Ctrl-D or end of input.
pub async fn run(ctx: &SessionContext) -> Result<(), Box<dyn std::error::Error>> {
    let mut editor = DefaultEditor::new()?;
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    println!(
        "lakefed {} — end statements with ';', \\q to quit",
        env!("CARGO_PKG_VERSION")
    );
    let mut statement = String::new();
    loop {
        let prompt = if statement.is_empty() {
            "lakefed> "
        } else {
            "     ..> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if statement.is_empty() && matches!(trimmed, "\\q" | "exit" | "quit") {
                    break;
                }
                statement.push_str(&line);
                statement.push('\n');
                if trimmed.ends_with(';') {
                    let sql = std::mem::take(&mut statement);
                    let _ = editor.add_history_entry(sql.trim());
                    execute(ctx, &sql).await;
                }
            }
            Err(ReadlineError::Interrupted) => statement.clear(),
            Err(ReadlineError::Eof) => break,
            Err(err) => return Err(err.into()),
        }
    }
    if let Some(path) = &history {
        editor.save_history(path)?;
    }
    Ok(())
}

async fn execute(ctx: &SessionContext, sql: &str) {
    let result = match ctx.sql(sql).await {
        Ok(df) => run_query(df, Format::Table, None).await.map(|_| ()),
        Err(err) => Err(err),
    };
    if let Err(err) = result {
        eprintln!("error: {err}");
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".lakefed_history"))
}
