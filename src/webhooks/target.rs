//! Where a delivery may go. A URL is checked when an endpoint is saved and
//! again before every attempt (what a name resolves to may change): every
//! address the host resolves to must be public, and the request then goes
//! to those checked addresses only, so a DNS answer that changes between
//! the check and the connection (rebinding) cannot reach anything else.

use std::net::SocketAddr;
use std::time::Duration;

use url::{Host, Url};

use crate::domain::ValidationError;
use crate::domain::ssrf::forbidden_reason;
use crate::domain::webhook::validate_url;

/// A checked destination.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    /// The host name and the checked addresses to reach it at; None when
    /// the URL names an address, or when private targets are allowed.
    pub pinned: Option<(String, Vec<SocketAddr>)>,
}

/// Why a URL cannot be sent to now.
#[derive(Debug)]
pub enum Unreachable {
    /// The URL, or an address its host resolves to, is not allowed.
    Refused(ValidationError),
    /// The host did not resolve (now): there is nothing to check yet.
    Unresolved(ValidationError),
}

impl Unreachable {
    pub fn message(&self) -> &str {
        match self {
            Unreachable::Refused(e) | Unreachable::Unresolved(e) => &e.message,
        }
    }
}

/// The URL as it may be saved: refused when it or what its host resolves
/// to is not allowed. A host that does not resolve yet is accepted (its
/// deliveries fail until it does), so saving never depends on DNS being up;
/// every delivery checks again.
pub async fn check_for_saving(
    field: &str,
    raw: &str,
    allow_private: bool,
    timeout: Duration,
) -> Result<Url, ValidationError> {
    match resolve(field, raw, allow_private, timeout).await {
        Ok(target) => Ok(target.url),
        Err(Unreachable::Unresolved(_)) => validate_url(field, raw, allow_private),
        Err(Unreachable::Refused(e)) => Err(e),
    }
}

/// Checks `raw` (reported as `field`) and resolves its host within `timeout`.
pub async fn resolve(field: &str, raw: &str, allow_private: bool, timeout: Duration) -> Result<Target, Unreachable> {
    let url = validate_url(field, raw, allow_private).map_err(Unreachable::Refused)?;
    if allow_private {
        return Ok(Target { url, pinned: None });
    }
    let refuse = |what: String| Unreachable::Refused(ValidationError::new(field, what));
    let unresolved = |what: String| Unreachable::Unresolved(ValidationError::new(field, what));
    match url.host() {
        Some(Host::Ipv4(ip)) => check_address(field, ip.into())
            .map(|()| Target { url, pinned: None })
            .map_err(Unreachable::Refused),
        Some(Host::Ipv6(ip)) => check_address(field, ip.into())
            .map(|()| Target { url, pinned: None })
            .map_err(Unreachable::Refused),
        Some(Host::Domain(name)) => {
            let name = name.to_string();
            let port = url.port_or_known_default().unwrap_or(443);
            let mut addrs: Vec<SocketAddr> =
                match tokio::time::timeout(timeout, tokio::net::lookup_host((name.as_str(), port))).await {
                    Ok(Ok(addrs)) => addrs.collect(),
                    Ok(Err(e)) => return Err(unresolved(format!("host {name} does not resolve ({e})"))),
                    Err(_) => return Err(unresolved(format!("host {name} did not resolve in time"))),
                };
            // In a stable order: the same answer pins the same client.
            addrs.sort();
            addrs.dedup();
            if addrs.is_empty() {
                return Err(unresolved(format!("host {name} has no addresses")));
            }
            for addr in &addrs {
                if let Some(reason) = forbidden_reason(addr.ip()) {
                    return Err(refuse(format!(
                        "host {name} resolves to {reason} ({}), which webhooks may not reach",
                        addr.ip()
                    )));
                }
            }
            Ok(Target {
                url,
                pinned: Some((name, addrs)),
            })
        }
        None => Err(refuse("must name a host".to_string())),
    }
}

fn check_address(field: &str, ip: std::net::IpAddr) -> Result<(), ValidationError> {
    match forbidden_reason(ip) {
        None => Ok(()),
        Some(reason) => Err(ValidationError::new(
            field,
            format!("points to {reason} ({ip}), which webhooks may not reach"),
        )),
    }
}
