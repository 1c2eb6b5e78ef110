//! Settings, read from the environment. Every variable is documented in the
//! README's settings table; each has a default that works for local use.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

#[derive(Debug, Clone)]
pub struct Config {
    /// External database; when absent a private cluster is started under `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Serves /metrics on this address only; None serves it on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub db_pool_size: usize,
    pub limits: Limits,
    /// How requests share the server's connections.
    pub sharing: Sharing,
    /// Ensure a "dev" tenant and print a dev API key at start-up.
    pub dev_tenant: bool,
    /// How often the usage rollup worker runs; None switches it off.
    pub rollup_interval: Option<Duration>,
    /// How often the billing worker runs; None switches it off.
    pub billing_interval: Option<Duration>,
    pub billing: BillingSettings,
    /// Days outbox events are kept (at least 30).
    pub event_retention_days: u32,
    /// How often the payment-provider worker runs; None switches it off.
    pub provider_interval: Option<Duration>,
    pub providers: ProviderSettings,
    pub log_format: LogFormat,
    /// Seals stored secrets (base64 of 32 bytes); None uses the data folder's key.
    pub secret_key: Option<String>,
    pub webhooks: WebhookSettings,
    pub documents: DocumentSettings,
}

/// How invoice documents are offered to their recipients.
#[derive(Debug, Clone)]
pub struct DocumentSettings {
    /// Where clients reach this server, without a trailing slash: hosted
    /// links start with it.
    pub public_url: String,
    /// Days a hosted link stays valid.
    pub hosted_link_days: u32,
}

/// How webhook deliveries are sent.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// Deliveries one server sends at once; 0 switches the worker off.
    pub workers: usize,
    /// Deliveries one server sends at once to the same endpoint, so a slow
    /// endpoint holds at most this many of the workers.
    pub per_endpoint: usize,
    /// How often the worker looks for due deliveries.
    pub interval: Duration,
    /// A receiver that has not answered within this time has failed.
    pub timeout: Duration,
    /// Allows endpoints on loopback, private and link-local addresses (and
    /// plain http), for receivers on the local machine or network.
    pub allow_private: bool,
}

impl WebhookSettings {
    /// How long a claimed delivery stays with its worker: beyond the
    /// request's timeout, so no other worker sends it while it may still be
    /// in flight.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(30)
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            workers: 16,
            per_endpoint: 2,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            allow_private: false,
        }
    }
}

/// How invoices are issued.
#[derive(Debug, Clone, Copy)]
pub struct BillingSettings {
    /// How long a new invoice stays a draft, so late usage still counts.
    pub invoice_grace: Duration,
    /// Days from issue to due date.
    pub net_terms_days: u32,
    /// Boundaries (periods) one billing run bills per subscription; a
    /// backlog is worked off over successive runs.
    pub max_boundaries_per_run: usize,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            invoice_grace: Duration::from_secs(3600),
            net_terms_days: 30,
            max_boundaries_per_run: 50,
        }
    }
}

/// How payments are collected through a provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Days after the first failure when a declined charge is tried again.
    pub retry_days: Vec<u32>,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        ProviderSettings {
            retry_days: vec![1, 3, 5],
        }
    }
}

/// Limits that protect the server from hostile or careless clients.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_hierarchy_depth: u32,
    pub default_page_size: usize,
    pub max_page_size: usize,
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Time a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a client may take to send a request's body.
    pub body_read_timeout: Duration,
    /// How many days before now a subscription may start.
    pub max_backdate_days: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_hierarchy_depth: 5,
            default_page_size: 20,
            max_page_size: 100,
            max_query_depth: 15,
            max_query_complexity: 20_000,
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_backdate_days: 365,
        }
    }
}

/// How requests and tenants share the connection pool. A request never
/// holds more than `connections_per_request` connections; a tenant runs at
/// most `tenant_running_requests` requests at once, queues up to
/// `tenant_queued_requests` more, and is answered RATE_LIMITED beyond that.
#[derive(Debug, Clone, Copy)]
pub struct Sharing {
    pub connections_per_request: usize,
    pub tenant_running_requests: usize,
    pub tenant_queued_requests: usize,
}

impl Sharing {
    /// Defaults that follow the pool: a request may use a quarter of it and
    /// a tenant half of it, so one busy tenant always leaves room for others.
    pub fn for_pool(pool_size: usize) -> Self {
        Sharing {
            connections_per_request: (pool_size / 4).clamp(1, 4),
            tenant_running_requests: (pool_size / 2).max(1),
            tenant_queued_requests: 64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let defaults = Limits::default();
        let database_url = get("DATABASE_URL").filter(|v| !v.trim().is_empty());
        let dev_default = database_url.is_none();
        let limits = Limits {
            max_hierarchy_depth: parse(&get, "BILLGRAPH_MAX_HIERARCHY_DEPTH", defaults.max_hierarchy_depth)?,
            default_page_size: parse(&get, "BILLGRAPH_DEFAULT_PAGE_SIZE", defaults.default_page_size)?,
            max_page_size: parse(&get, "BILLGRAPH_MAX_PAGE_SIZE", defaults.max_page_size)?,
            max_query_depth: parse(&get, "BILLGRAPH_MAX_QUERY_DEPTH", defaults.max_query_depth)?,
            max_query_complexity: parse(&get, "BILLGRAPH_MAX_QUERY_COMPLEXITY", defaults.max_query_complexity)?,
            max_body_bytes: parse(&get, "BILLGRAPH_MAX_BODY_BYTES", defaults.max_body_bytes)?,
            request_timeout: Duration::from_secs(parse(
                &get,
                "BILLGRAPH_REQUEST_TIMEOUT_SECS",
                defaults.request_timeout.as_secs(),
            )?),
            header_read_timeout: Duration::from_secs(parse(
                &get,
                "BILLGRAPH_HEADER_READ_TIMEOUT_SECS",
                defaults.header_read_timeout.as_secs(),
            )?),
            body_read_timeout: Duration::from_secs(parse(
                &get,
                "BILLGRAPH_BODY_READ_TIMEOUT_SECS",
                defaults.body_read_timeout.as_secs(),
            )?),
            max_backdate_days: parse(&get, "BILLGRAPH_MAX_BACKDATE_DAYS", defaults.max_backdate_days)?,
        };
        if limits.header_read_timeout.is_zero() || limits.body_read_timeout.is_zero() {
            bail!("BILLGRAPH_HEADER_READ_TIMEOUT_SECS and BILLGRAPH_BODY_READ_TIMEOUT_SECS must be at least 1");
        }
        let db_pool_size: usize = parse(&get, "BILLGRAPH_DB_POOL_SIZE", 16)?;
        if db_pool_size < 1 {
            bail!("BILLGRAPH_DB_POOL_SIZE must be at least 1");
        }
        let sharing_defaults = Sharing::for_pool(db_pool_size);
        let sharing = Sharing {
            connections_per_request: parse(
                &get,
                "BILLGRAPH_DB_CONNECTIONS_PER_REQUEST",
                sharing_defaults.connections_per_request,
            )?,
            tenant_running_requests: parse(
                &get,
                "BILLGRAPH_TENANT_MAX_RUNNING_REQUESTS",
                sharing_defaults.tenant_running_requests,
            )?,
            tenant_queued_requests: parse(
                &get,
                "BILLGRAPH_TENANT_MAX_QUEUED_REQUESTS",
                sharing_defaults.tenant_queued_requests,
            )?,
        };
        if sharing.connections_per_request < 1 || sharing.connections_per_request > db_pool_size {
            bail!("BILLGRAPH_DB_CONNECTIONS_PER_REQUEST must be between 1 and BILLGRAPH_DB_POOL_SIZE");
        }
        if sharing.tenant_running_requests < 1 {
            bail!("BILLGRAPH_TENANT_MAX_RUNNING_REQUESTS must be at least 1");
        }
        if limits.max_hierarchy_depth < 1 {
            bail!("BILLGRAPH_MAX_HIERARCHY_DEPTH must be at least 1");
        }
        if limits.max_page_size < 1 || limits.default_page_size < 1 || limits.default_page_size > limits.max_page_size {
            bail!("page sizes must satisfy 1 <= BILLGRAPH_DEFAULT_PAGE_SIZE <= BILLGRAPH_MAX_PAGE_SIZE");
        }
        let max_boundaries_per_run = parse(
            &get,
            "BILLGRAPH_MAX_BOUNDARIES_PER_RUN",
            BillingSettings::default().max_boundaries_per_run,
        )?;
        if max_boundaries_per_run < 1 {
            bail!("BILLGRAPH_MAX_BOUNDARIES_PER_RUN must be at least 1");
        }
        let event_retention_days: u32 = parse(
            &get,
            "BILLGRAPH_EVENT_RETENTION_DAYS",
            crate::outbox::retention::MIN_RETENTION_DAYS,
        )?;
        if event_retention_days < crate::outbox::retention::MIN_RETENTION_DAYS {
            bail!("BILLGRAPH_EVENT_RETENTION_DAYS must be at least 30");
        }
        let log_format = match get("BILLGRAPH_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("BILLGRAPH_LOG_FORMAT must be text or json, not {other:?}"),
        };
        let webhook_defaults = WebhookSettings::default();
        let webhooks = WebhookSettings {
            workers: parse(&get, "BILLGRAPH_WEBHOOK_WORKERS", webhook_defaults.workers)?,
            per_endpoint: parse(&get, "BILLGRAPH_WEBHOOK_PER_ENDPOINT", webhook_defaults.per_endpoint)?,
            interval: Duration::from_millis(parse(
                &get,
                "BILLGRAPH_WEBHOOK_INTERVAL_MS",
                webhook_defaults.interval.as_millis() as u64,
            )?),
            timeout: Duration::from_secs(parse(
                &get,
                "BILLGRAPH_WEBHOOK_TIMEOUT_SECS",
                webhook_defaults.timeout.as_secs(),
            )?),
            allow_private: parse(&get, "BILLGRAPH_WEBHOOKS_ALLOW_PRIVATE", webhook_defaults.allow_private)?,
        };
        if webhooks.per_endpoint < 1 || webhooks.interval.is_zero() || webhooks.timeout.is_zero() {
            bail!(
                "BILLGRAPH_WEBHOOK_PER_ENDPOINT, BILLGRAPH_WEBHOOK_INTERVAL_MS and BILLGRAPH_WEBHOOK_TIMEOUT_SECS must be at least 1"
            );
        }
        let listen: SocketAddr = parse(&get, "BILLGRAPH_LISTEN", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        let public_url = match get("BILLGRAPH_PUBLIC_URL").filter(|v| !v.trim().is_empty()) {
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                let parsed = url::Url::parse(&url).context("BILLGRAPH_PUBLIC_URL")?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    bail!("BILLGRAPH_PUBLIC_URL must be an http or https URL, such as https://billing.example.com");
                }
                url
            }
            None => format!("http://{listen}"),
        };
        let hosted_link_days: u32 = parse(&get, "BILLGRAPH_HOSTED_LINK_DAYS", 30)?;
        if !(1..=3650).contains(&hosted_link_days) {
            bail!("BILLGRAPH_HOSTED_LINK_DAYS must be between 1 and 3650");
        }
        Ok(Config {
            documents: DocumentSettings {
                public_url,
                hosted_link_days,
            },
            webhooks,
            secret_key: get("BILLGRAPH_SECRET_KEY").filter(|v| !v.trim().is_empty()),
            database_url,
            data_dir: get("BILLGRAPH_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".billgraph")),
            listen,
            metrics_listen: match get("BILLGRAPH_METRICS_LISTEN").filter(|v| !v.trim().is_empty()) {
                None => None,
                Some(addr) => Some(addr.parse().with_context(|| {
                    format!("BILLGRAPH_METRICS_LISTEN must be an address like 127.0.0.1:9090, not {addr:?}")
                })?),
            },
            db_pool_size,
            limits,
            sharing,
            dev_tenant: parse(&get, "BILLGRAPH_DEV_TENANT", dev_default)?,
            rollup_interval: match parse(&get, "BILLGRAPH_ROLLUP_INTERVAL_SECS", 60u64)? {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            billing_interval: match parse(&get, "BILLGRAPH_BILLING_INTERVAL_SECS", 60u64)? {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            billing: BillingSettings {
                invoice_grace: Duration::from_secs(parse(
                    &get,
                    "BILLGRAPH_INVOICE_GRACE_SECS",
                    BillingSettings::default().invoice_grace.as_secs(),
                )?),
                net_terms_days: parse(
                    &get,
                    "BILLGRAPH_NET_TERMS_DAYS",
                    BillingSettings::default().net_terms_days,
                )?,
                max_boundaries_per_run,
            },
            event_retention_days,
            provider_interval: match parse(&get, "BILLGRAPH_PROVIDER_INTERVAL_SECS", 5u64)? {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            providers: ProviderSettings {
                retry_days: match get("BILLGRAPH_STRIPE_RETRY_DAYS") {
                    Some(days) => crate::domain::provider::parse_retry_days(&days)
                        .map_err(|e| anyhow::anyhow!("BILLGRAPH_STRIPE_RETRY_DAYS: {e}"))?,
                    None => ProviderSettings::default().retry_days,
                },
            },
            log_format,
        })
    }
}

fn parse<T>(get: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> anyhow::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match get(name) {
        None => Ok(default),
        Some(raw) if raw.trim().is_empty() => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .with_context(|| format!("invalid value {raw:?} for {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_use_a_private_cluster_and_a_dev_tenant() {
        let c = config(&[]).unwrap();
        assert!(c.database_url.is_none());
        assert!(c.dev_tenant);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.limits.max_hierarchy_depth, 5);
        assert_eq!(c.limits.max_page_size, 100);
    }

    #[test]
    fn an_external_database_turns_the_dev_tenant_off_by_default() {
        let c = config(&[("DATABASE_URL", "postgres://x@localhost/db")]).unwrap();
        assert!(!c.dev_tenant);
        let c = config(&[
            ("DATABASE_URL", "postgres://x@localhost/db"),
            ("BILLGRAPH_DEV_TENANT", "true"),
        ])
        .unwrap();
        assert!(c.dev_tenant);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("BILLGRAPH_MAX_PAGE_SIZE", "lots")]).unwrap_err();
        assert!(err.to_string().contains("BILLGRAPH_MAX_PAGE_SIZE"), "{err}");
        let err = config(&[("BILLGRAPH_DEFAULT_PAGE_SIZE", "500")]).unwrap_err();
        assert!(err.to_string().contains("BILLGRAPH_DEFAULT_PAGE_SIZE"), "{err}");
        assert!(config(&[("BILLGRAPH_MAX_HIERARCHY_DEPTH", "0")]).is_err());
        assert!(config(&[("BILLGRAPH_LOG_FORMAT", "xml")]).is_err());
        let err = config(&[("BILLGRAPH_DB_CONNECTIONS_PER_REQUEST", "17")]).unwrap_err();
        assert!(
            err.to_string().contains("BILLGRAPH_DB_CONNECTIONS_PER_REQUEST"),
            "{err}"
        );
        assert!(config(&[("BILLGRAPH_TENANT_MAX_RUNNING_REQUESTS", "0")]).is_err());
        assert!(config(&[("BILLGRAPH_BODY_READ_TIMEOUT_SECS", "0")]).is_err());
        let err = config(&[("BILLGRAPH_MAX_BACKDATE_DAYS", "-1")]).unwrap_err();
        assert!(err.to_string().contains("BILLGRAPH_MAX_BACKDATE_DAYS"), "{err}");
        let err = config(&[("BILLGRAPH_MAX_BOUNDARIES_PER_RUN", "0")]).unwrap_err();
        assert!(err.to_string().contains("BILLGRAPH_MAX_BOUNDARIES_PER_RUN"), "{err}");
    }

    #[test]
    fn sharing_follows_the_pool_unless_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.sharing.connections_per_request, 4);
        assert_eq!(c.sharing.tenant_running_requests, 8);
        assert_eq!(c.sharing.tenant_queued_requests, 64);
        let c = config(&[("BILLGRAPH_DB_POOL_SIZE", "2")]).unwrap();
        assert_eq!(c.sharing.connections_per_request, 1);
        assert_eq!(c.sharing.tenant_running_requests, 1);
        let c = config(&[("BILLGRAPH_TENANT_MAX_QUEUED_REQUESTS", "0")]).unwrap();
        assert_eq!(c.sharing.tenant_queued_requests, 0);
    }

    #[test]
    fn webhook_settings_have_defaults_and_can_be_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.webhooks.workers, 16);
        assert_eq!(c.webhooks.timeout, Duration::from_secs(10));
        assert!(!c.webhooks.allow_private);
        assert!(c.webhooks.lease() > c.webhooks.timeout);
        let c = config(&[
            ("BILLGRAPH_WEBHOOK_WORKERS", "0"),
            ("BILLGRAPH_WEBHOOKS_ALLOW_PRIVATE", "true"),
            ("BILLGRAPH_WEBHOOK_TIMEOUT_SECS", "3"),
        ])
        .unwrap();
        assert_eq!(c.webhooks.workers, 0);
        assert!(c.webhooks.allow_private);
        assert_eq!(c.webhooks.timeout, Duration::from_secs(3));
        assert!(config(&[("BILLGRAPH_WEBHOOK_TIMEOUT_SECS", "0")]).is_err());
        assert!(config(&[("BILLGRAPH_WEBHOOKS_ALLOW_PRIVATE", "maybe")]).is_err());
    }

    #[test]
    fn time_and_backlog_bounds_have_defaults_and_can_be_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.limits.max_backdate_days, 365);
        assert_eq!(c.billing.max_boundaries_per_run, 50);
        let c = config(&[
            ("BILLGRAPH_MAX_BACKDATE_DAYS", "30"),
            ("BILLGRAPH_MAX_BOUNDARIES_PER_RUN", "7"),
        ])
        .unwrap();
        assert_eq!(c.limits.max_backdate_days, 30);
        assert_eq!(c.billing.max_boundaries_per_run, 7);
    }

    #[test]
    fn metrics_are_on_the_main_listener_unless_given_their_own() {
        assert_eq!(config(&[]).unwrap().metrics_listen, None);
        let c = config(&[("BILLGRAPH_METRICS_LISTEN", "127.0.0.1:9090")]).unwrap();
        assert_eq!(c.metrics_listen, Some(SocketAddr::from(([127, 0, 0, 1], 9090))));
        let err = config(&[("BILLGRAPH_METRICS_LISTEN", "9090")]).unwrap_err();
        assert!(err.to_string().contains("BILLGRAPH_METRICS_LISTEN"), "{err}");
    }

    #[test]
    fn events_are_kept_at_least_thirty_days() {
        assert_eq!(config(&[]).unwrap().event_retention_days, 30);
        let c = config(&[("BILLGRAPH_EVENT_RETENTION_DAYS", "90")]).unwrap();
        assert_eq!(c.event_retention_days, 90);
        let err = config(&[("BILLGRAPH_EVENT_RETENTION_DAYS", "29")]).unwrap_err();
        assert!(err.to_string().contains("BILLGRAPH_EVENT_RETENTION_DAYS"), "{err}");
    }
}
