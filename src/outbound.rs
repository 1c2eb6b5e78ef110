//! The HTTP client for calls billgraph makes to outside systems (webhook
//! receivers, payment providers): rustls with the ring provider, which
//! builds in seconds where the default provider takes minutes.

use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

static CRYPTO_PROVIDER: Once = Once::new();

/// A client whose every request gives up after `timeout`.
pub fn client(timeout: Duration) -> reqwest::Client {
    builder(timeout).build().expect("the HTTP client's settings are static")
}

/// The same, reaching `host` only at `addrs` whatever DNS says later: the
/// addresses a caller has already checked.
pub fn pinned_client(timeout: Duration, host: &str, addrs: &[SocketAddr]) -> reqwest::Client {
    builder(timeout)
        .resolve_to_addrs(host, addrs)
        .build()
        .expect("the HTTP client's settings are static")
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    CRYPTO_PROVIDER.call_once(|| {
        // Fails only when another provider was installed first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Redirects would let a vetted URL lead somewhere that was not vetted.
        .redirect(reqwest::redirect::Policy::none())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_builds_with_the_installed_provider() {
        let _ = super::client(std::time::Duration::from_secs(1));
    }
}
