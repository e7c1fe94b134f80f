//! Regenerates `src/sources/spark_connect/proto/spark.connect.rs`, the
//! Spark Connect protobuf messages and gRPC client lakefed checks in, from
//! the pinned `.proto` files in `proto/` (version in
//! `proto/PROTO_VERSION.txt`). Checked-in code lets a crate that depends on
//! lakefed build without `protoc`; this tool needs it.
//!
//! `cargo run -p generate-spark-connect` rewrites the file;
//! `cargo run -p generate-spark-connect -- --check` fails if it is not what
//! the `.proto` files generate (scripts/test.sh runs it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The `.proto` files of package `spark.connect`, in `proto/spark/connect/`.
const PROTOS: [&str; 10] = [
    "base",
    "catalog",
    "commands",
    "common",
    "expressions",
    "ml",
    "ml_common",
    "pipelines",
    "relations",
    "types",
];
const GENERATED: &str = "src/sources/spark_connect/proto/spark.connect.rs";

fn main() -> ExitCode {
    let check = std::env::args().skip(1).any(|arg| arg == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    match generate(&root) {
        Ok(code) => {
            let target = root.join(GENERATED);
            if check {
                let current = std::fs::read_to_string(&target).unwrap_or_default();
                if current == code {
                    return ExitCode::SUCCESS;
                }
                eprintln!(
                    "{GENERATED} is not what proto/ generates: run `cargo run -p generate-spark-connect`"
                );
                return ExitCode::FAILURE;
            }
            match std::fs::write(&target, code) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("writing {}: {err}", target.display());
                    ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            eprintln!("generating the Spark Connect code: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The generated code, made in a temporary directory.
fn generate(root: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let proto_root = root.join("proto");
    let protos: Vec<PathBuf> = PROTOS
        .iter()
        .map(|name| {
            proto_root
                .join("spark/connect")
                .join(format!("{name}.proto"))
        })
        .collect();
    let out = std::env::temp_dir().join(format!("generate-spark-connect-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    let generated = tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .bytes(".")
        .out_dir(&out)
        .compile_protos(&protos, &[proto_root])
        .map_err(|err| err.to_string())
        .and_then(|()| {
            std::fs::read_to_string(out.join("spark.connect.rs")).map_err(|err| err.to_string())
        });
    std::fs::remove_dir_all(&out)?;
    Ok(generated?)
}
