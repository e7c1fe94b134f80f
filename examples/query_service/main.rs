//! A small HTTP service that embeds lakefed: one session with the sources
//! of a `lakefed.toml`, shared by every request.
//!
//! ```text
//! cargo run --example query_service -- lakefed.toml 127.0.0.1:8080
//! curl -d 'SELECT count(*) AS n FROM spark.default.orders' 'http://127.0.0.1:8080/query?timeout_ms=5000'
//! curl http://127.0.0.1:8080/metrics
//! ```
//!
//! Ctrl-C stops the service; before it exits, the interrupts of queries it
//! stopped reach their servers (`SessionContextExt::shutdown`).

mod service;

use std::time::Duration;

use lakefed::{Config, SessionContextExt};

/// How long a query may run unless the request asks for less.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config = args.next().unwrap_or_else(|| "lakefed.toml".to_string());
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());

    let ctx = lakefed::new_session_context();
    ctx.register_config(&Config::from_file(&config)?).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("serving the sources of {config} on http://{listen}");
    axum::serve(listener, service::router(ctx.clone(), QUERY_TIMEOUT))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    ctx.shutdown().await;
    Ok(())
}
