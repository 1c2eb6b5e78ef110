//! Which addresses webhook deliveries may reach: the public internet only,
//! so a tenant cannot point billgraph at the machines behind it (its
//! database, cloud metadata, the local network).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is no destination for a webhook; None when it is public.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some("a cloud metadata address")
    } else if a == 0 {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (CGNAT) address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if a >= 240 {
        Some("a reserved address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    // IPv4 carried inside IPv6 reaches the same IPv4 host: judge that host.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96).
    if segments[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        return forbidden_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(segments[6], segments[7]));
    }
    // 6to4 (2002::/16) embeds the IPv4 address in its next 32 bits.
    if segments[0] == 0x2002 {
        return forbidden_v4(embedded_v4(segments[1], segments[2]));
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some("a cloud metadata address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_with_their_reason() {
        let cases: &[(&str, Option<&str>)] = &[
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("2606:4700:4700::1111", None),
            ("127.0.0.1", Some("a loopback address")),
            ("127.8.9.10", Some("a loopback address")),
            ("10.0.0.5", Some("a private address")),
            ("172.16.0.1", Some("a private address")),
            ("172.31.255.255", Some("a private address")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("a private address")),
            ("169.254.169.254", Some("a cloud metadata address")),
            ("169.254.1.1", Some("a link-local address")),
            ("0.0.0.0", Some("an unspecified address")),
            ("100.64.0.1", Some("a shared (CGNAT) address")),
            ("100.127.255.255", Some("a shared (CGNAT) address")),
            ("100.128.0.1", None),
            ("224.0.0.1", Some("a multicast address")),
            ("255.255.255.255", Some("the broadcast address")),
            ("::1", Some("a loopback address")),
            ("::", Some("an unspecified address")),
            ("fc00::1", Some("a private (unique local) address")),
            ("fd12:3456::1", Some("a private (unique local) address")),
            ("fd00:ec2::254", Some("a cloud metadata address")),
            ("fe80::1", Some("a link-local address")),
            ("ff02::1", Some("a multicast address")),
            ("::ffff:127.0.0.1", Some("a loopback address")),
            ("::ffff:169.254.169.254", Some("a cloud metadata address")),
            ("::ffff:10.1.2.3", Some("a private address")),
            ("::ffff:8.8.8.8", None),
            ("::10.1.2.3", Some("a private address")),
            ("64:ff9b::a00:1", Some("a private address")),
            ("2002:7f00:1::", Some("a loopback address")),
        ];
        for (ip, want) in cases {
            assert_eq!(forbidden_reason(ip.parse().unwrap()), *want, "{ip}");
        }
    }
}
