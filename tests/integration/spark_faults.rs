//! Broken connections between lakefed and a real Spark server: a TCP proxy
//! on loopback cuts the result stream in the middle. Once, the client must
//! reattach and return every row exactly once; for good (the server gone),
//! it must fail with a clear error, never hang.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use futures::TryStreamExt;
use lakefed::sources::spark_connect::ClientOptions;
use lakefed::unstable::{ExecuteMetrics, SparkConnectClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::spark_env::{self, NS};

/// What the proxy does once `cut_after` bytes went from server to client.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Close that connection; later connections pass.
    CutOnce,
    /// Close every connection and refuse new ones: the server is gone.
    ServerGone,
}

/// A TCP proxy in front of the Spark server that injects one fault.
struct Proxy {
    addr: SocketAddr,
}

impl Proxy {
    async fn start(target: SocketAddr, cut_after: u64, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (kill, killed) = watch::channel(false);
        let kill = Arc::new(kill);
        let forwarded = Arc::new(AtomicU64::new(0));
        let fired = Arc::new(AtomicBool::new(false));
        tokio::spawn(async move {
            let mut gone = killed.clone();
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = gone.wait_for(|gone| *gone) => return,
                };
                let Ok((client, _)) = accepted else { return };
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let link = Link {
                    cut_after,
                    fault,
                    forwarded: forwarded.clone(),
                    fired: fired.clone(),
                    kill: kill.clone(),
                    killed: killed.clone(),
                };
                tokio::spawn(link.run(client, server));
            }
        });
        Self { addr }
    }

    fn url(&self) -> String {
        format!("sc://{}", self.addr)
    }
}

/// One proxied connection.
struct Link {
    cut_after: u64,
    fault: Fault,
    forwarded: Arc<AtomicU64>,
    fired: Arc<AtomicBool>,
    kill: Arc<watch::Sender<bool>>,
    killed: watch::Receiver<bool>,
}

impl Link {
    async fn run(self, client: TcpStream, server: TcpStream) {
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let mut killed = self.killed.clone();
        let upstream = async {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n @ 1..) = client_read.read(&mut buf).await {
                if server_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        let downstream = async {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n @ 1..) = server_read.read(&mut buf).await {
                let total = self.forwarded.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                if total > self.cut_after && !self.fired.swap(true, Ordering::SeqCst) {
                    if self.fault == Fault::ServerGone {
                        let _ = self.kill.send(true);
                    }
                    return;
                }
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        // The first side to finish (or the kill switch) closes both.
        tokio::select! {
            _ = upstream => {}
            _ = downstream => {}
            _ = killed.wait_for(|gone| *gone) => {}
        }
    }
}

fn spark_addr() -> SocketAddr {
    let url = spark_env::url();
    let hostport = url.trim_start_matches("sc://").split('/').next().unwrap();
    hostport.parse().unwrap()
}

const ROWS: i64 = 5_000_000;

fn query() -> String {
    format!("SELECT id FROM {NS}.big WHERE id < {ROWS}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_stream_is_resumed_without_losing_or_repeating_rows() {
    spark_env::fixtures().await;
    // 5 million ids are 40 MB of Arrow; cut after 8 MB.
    let proxy = Proxy::start(spark_addr(), 8 << 20, Fault::CutOnce).await;
    let client =
        SparkConnectClient::new(&proxy.url().parse().unwrap(), ClientOptions::default()).unwrap();
    let metrics = ExecuteMetrics::default();
    let batches: Vec<_> = client
        .execute(&query(), metrics.clone())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let (mut rows, mut sum) = (0, 0);
    for batch in &batches {
        let ids = batch.column(0).as_primitive::<Int64Type>();
        rows += ids.len() as i64;
        sum += ids.values().iter().sum::<i64>();
    }
    assert_eq!(rows, ROWS);
    assert_eq!(sum, ROWS * (ROWS - 1) / 2);
    assert!(metrics.reattaches.value() >= 1, "the stream was never cut");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_gone_mid_stream_is_a_clear_error_not_a_hang() {
    spark_env::fixtures().await;
    let proxy = Proxy::start(spark_addr(), 8 << 20, Fault::ServerGone).await;
    let mut options = ClientOptions::default();
    options.max_retries = 3;
    let client = SparkConnectClient::new(&proxy.url().parse().unwrap(), options).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        client
            .execute(&query(), ExecuteMetrics::default())
            .await?
            .try_fold(0, |rows, batch| async move { Ok(rows + batch.num_rows()) })
            .await
    })
    .await
    .expect("no hang");
    let err = outcome.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "cannot reach Spark Connect server {}",
            proxy.url()
        )) && err.contains("the result stream broke and could not be resumed"),
        "{err}"
    );
}
