//! The Insight command line: `serve`, `worker`, `migrate`, `demo`, `emulator`, `bench`, `secret-key`.

mod bench;
mod demo;
mod mail_viewer;
mod output;
mod serve;
mod worker;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system's malloc: under load glibc's malloc and
/// free (with their consolidation) took about 15 % of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "insight", version, about = "Insight: surveys with a first-class link to Salesforce")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (configured by environment; see --help)
    Serve(serve::ServeArgs),
    /// The delivery worker alone (scale-out beside `serve`)
    Worker(worker::WorkerArgs),
    /// Apply database migrations and exit
    Migrate(serve::MigrateArgs),
    /// Everything on one machine with no set-up: SQLite in a data folder and a
    /// demo account with a sample project
    Demo(demo::DemoArgs),
    /// The local Salesforce emulator on its own (the same as the `sfemu` binary)
    Emulator(sfemu::CliArgs),
    /// Benchmarks
    Bench(bench::BenchArgs),
    /// Print a fresh random key for INSIGHT_SECRET_KEY
    SecretKey,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::serve(args).await,
            Command::Worker(args) => worker::worker(args).await,
            Command::Migrate(args) => serve::migrate(args).await,
            Command::Demo(args) => demo::demo(args).await,
            Command::Emulator(args) => sfemu::run_cli(args).await,
            Command::Bench(args) => bench::bench(args).await,
            Command::SecretKey => {
                serve::secret_key();
                Ok(())
            }
        }
    })
}
