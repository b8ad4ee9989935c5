//! IP address parsing and classification.
//!
//! IPv4 is read strictly as four dotted decimal octets (`0`–`255`). **Leading zeros are accepted and
//! read as decimal** (`192.168.001.010` is `192.168.1.10`): several loggers zero-pad octets, and the
//! BSD `inet_aton` octal reading (`010` = 8) would surprise analysts more than it would ever be right
//! in an alert. Octets are capped at three digits, so `0001.2.3.4` is not an address. The canonical
//! form drops the zeros. Short forms (`10.1`, `0x7f.1`, a bare integer) are never addresses.
//!
//! IPv6 is parsed by the standard library and written back with its `Display` (RFC 5952 compressed,
//! lowercase). IPv4-mapped addresses (`::ffff:1.2.3.4`) are reported as the IPv4 address they carry.
//!
//! Labels ([`labels_v4`], [`labels_v6`]) name the special-purpose registries an address falls in; a
//! public address has none. Nothing is dropped for being private or reserved: the label says it.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Parses `s` (digits and dots only) as a dotted-quad IPv4 address. See the module docs for the
/// leading-zero rule.
pub(crate) fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut n = 0usize;
    let mut val: u32 = 0;
    let mut digits = 0usize;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 3 {
                    return None;
                }
                val = val * 10 + u32::from(c - b'0');
            }
            b'.' => {
                if digits == 0 || n >= 3 || val > 255 {
                    return None;
                }
                octets[n] = val as u8;
                n += 1;
                val = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if digits == 0 || n != 3 || val > 255 {
        return None;
    }
    octets[3] = val as u8;
    Some(Ipv4Addr::from(octets))
}

fn in4(ip: u32, net: [u8; 4], len: u32) -> bool {
    let net = u32::from_be_bytes(net);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    ip & mask == net & mask
}

/// Special-purpose classes of an IPv4 address (RFC 6890 and friends).
pub fn labels_v4(ip: Ipv4Addr) -> Vec<String> {
    let x = u32::from(ip);
    let mut l: Vec<&'static str> = Vec::new();
    if x == 0 {
        l.push("unspecified");
    } else if in4(x, [0, 0, 0, 0], 8) {
        l.push("reserved"); // "this network"
    }
    if in4(x, [10, 0, 0, 0], 8) || in4(x, [172, 16, 0, 0], 12) || in4(x, [192, 168, 0, 0], 16) {
        l.push("private");
    }
    if in4(x, [127, 0, 0, 0], 8) {
        l.push("loopback");
    }
    if in4(x, [169, 254, 0, 0], 16) {
        l.push("link_local");
    }
    if in4(x, [100, 64, 0, 0], 10) {
        l.push("shared");
    }
    if in4(x, [198, 18, 0, 0], 15) {
        l.push("benchmarking");
    }
    if in4(x, [192, 0, 2, 0], 24) || in4(x, [198, 51, 100, 0], 24) || in4(x, [203, 0, 113, 0], 24) {
        l.push("documentation");
    }
    if in4(x, [224, 0, 0, 0], 4) {
        l.push("multicast");
    }
    if x == u32::MAX {
        l.push("broadcast");
    } else if in4(x, [240, 0, 0, 0], 4)
        || in4(x, [192, 0, 0, 0], 24)
        || in4(x, [192, 88, 99, 0], 24)
    {
        // Future use, IETF protocol assignments, deprecated 6to4 relay anycast.
        l.push("reserved");
    }
    l.into_iter().map(str::to_owned).collect()
}

fn in6(ip: u128, net: [u16; 8], len: u32) -> bool {
    let net = u128::from(Ipv6Addr::from(net));
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    ip & mask == net & mask
}

/// Special-purpose classes of an IPv6 address (RFC 6890, 4193, 3849, 5180, 9637).
pub fn labels_v6(ip: Ipv6Addr) -> Vec<String> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return labels_v4(v4);
    }
    let x = u128::from(ip);
    let mut l: Vec<&'static str> = Vec::new();
    if x == 0 {
        l.push("unspecified");
    }
    if x == 1 {
        l.push("loopback");
    }
    if in6(x, [0xfc00, 0, 0, 0, 0, 0, 0, 0], 7) {
        l.push("private");
    }
    if in6(x, [0xfe80, 0, 0, 0, 0, 0, 0, 0], 10) {
        l.push("link_local");
    }
    if in6(x, [0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48) {
        l.push("benchmarking");
    }
    if in6(x, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32) || in6(x, [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20) {
        l.push("documentation");
    }
    if in6(x, [0xff00, 0, 0, 0, 0, 0, 0, 0], 8) {
        l.push("multicast");
    }
    // Discard-only, deprecated site-local, IETF protocol assignments (minus the ranges above).
    if in6(x, [0x0100, 0, 0, 0, 0, 0, 0, 0], 64)
        || in6(x, [0xfec0, 0, 0, 0, 0, 0, 0, 0], 10)
        || (in6(x, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23)
            && !in6(x, [0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48))
    {
        l.push("reserved");
    }
    l.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Vec<String> {
        labels_v4(s.parse().unwrap())
    }
    fn v6(s: &str) -> Vec<String> {
        labels_v6(s.parse().unwrap())
    }

    #[test]
    fn ipv4_parsing_is_strict_about_shape_and_lenient_about_zero_padding() {
        assert_eq!(parse_ipv4("1.2.3.4"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(
            parse_ipv4("192.168.001.010"),
            Some(Ipv4Addr::new(192, 168, 1, 10))
        );
        assert_eq!(parse_ipv4("255.255.255.255"), Some(Ipv4Addr::BROADCAST));
        for bad in [
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "0001.2.3.4",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4a",
        ] {
            assert_eq!(parse_ipv4(bad), None, "{bad}");
        }
    }

    #[test]
    fn ipv4_labels() {
        assert!(v4("8.8.8.8").is_empty());
        assert_eq!(v4("10.1.2.3"), ["private"]);
        assert_eq!(v4("172.31.255.255"), ["private"]);
        assert!(v4("172.32.0.1").is_empty());
        assert_eq!(v4("127.0.0.1"), ["loopback"]);
        assert_eq!(v4("169.254.1.1"), ["link_local"]);
        assert_eq!(v4("100.64.0.1"), ["shared"]);
        assert_eq!(v4("198.19.255.1"), ["benchmarking"]);
        assert_eq!(v4("203.0.113.9"), ["documentation"]);
        assert_eq!(v4("239.255.255.250"), ["multicast"]);
        assert_eq!(v4("255.255.255.255"), ["broadcast"]);
        assert_eq!(v4("0.0.0.0"), ["unspecified"]);
        assert_eq!(v4("0.1.2.3"), ["reserved"]);
        assert_eq!(v4("240.0.0.1"), ["reserved"]);
    }

    #[test]
    fn ipv6_labels() {
        assert!(v6("2606:4700:4700::1111").is_empty());
        assert_eq!(v6("::1"), ["loopback"]);
        assert_eq!(v6("::"), ["unspecified"]);
        assert_eq!(v6("fd12:3456::1"), ["private"]);
        assert_eq!(v6("fe80::1"), ["link_local"]);
        assert_eq!(v6("2001:db8::1"), ["documentation"]);
        assert_eq!(v6("2001:2::1"), ["benchmarking"]);
        assert_eq!(v6("ff02::1"), ["multicast"]);
        assert_eq!(v6("fec0::1"), ["reserved"]);
        assert_eq!(v6("::ffff:10.0.0.1"), ["private"]);
    }
}
