/// mimalloc: a request allocates thousands of small objects (resolver
/// futures, values, strings); glibc's malloc spent a quarter of the
/// server's CPU on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use uuid::Uuid;

use billgraph::commands::{self, RevokeBy};
use billgraph::config::Config;

/// billgraph: a usage-based billing GraphQL API server.
///
/// Settings come from environment variables (see the README); without
/// DATABASE_URL a private PostgreSQL cluster runs under BILLGRAPH_DATA_DIR.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Invoice every subscription period ended by --until (default now),
    /// finalize drafts past their grace period, and exit.
    Bill {
        /// RFC 3339, e.g. 2026-12-01T00:00:00Z; not in the future.
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key for a tenant (creating the tenant when needed); the key is printed once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a key, given the key itself or its id.
    Revoke {
        #[arg(long, conflicts_with = "id", required_unless_present = "id")]
        key: Option<String>,
        #[arg(long)]
        id: Option<Uuid>,
    },
    /// List a tenant's live keys (ids and prefixes only).
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Schema) = cli.command {
        print!("{}", billgraph::graphql::sdl());
        return Ok(());
    }
    let config = Config::from_env()?;
    billgraph::telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(config).await,
        Command::Migrate => commands::migrate(config).await,
        Command::Bill { until } => commands::bill(config, until).await,
        Command::Schema => unreachable!("handled above"),
        Command::ApiKey(ApiKeyCommand::Create { tenant, label }) => {
            commands::create_api_key(config, &tenant, label.as_deref()).await
        }
        Command::ApiKey(ApiKeyCommand::Revoke { key, id }) => {
            let by = match (key, id) {
                (Some(key), _) => RevokeBy::Key(key),
                (None, Some(id)) => RevokeBy::Id(id),
                (None, None) => anyhow::bail!("give --key or --id"),
            };
            commands::revoke_api_key(config, by).await
        }
        Command::ApiKey(ApiKeyCommand::List { tenant }) => commands::list_api_keys(config, &tenant).await,
    }
}
