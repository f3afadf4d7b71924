//! Which addresses the reader may connect to: the SSRF policy and the operator's allowlist.
//!
//! The rule: only globally reachable unicast addresses, unless the operator allowlisted the
//! host. The tables follow the IANA special-purpose registries; for IPv6 everything outside
//! global unicast (`2000::/3`) is refused, so a range we forgot to list fails closed.
//!
//! Addresses that carry an IPv4 address inside them are judged by that IPv4 address when the
//! network really delivers to it: IPv4-mapped `::ffff:a.b.c.d` (a dual-stack socket connects
//! to a.b.c.d), NAT64 `64:ff9b::/96` and 6to4 `2002::/16`. Forms with no legitimate use on the
//! web are refused outright: IPv4-compatible `::a.b.c.d` (deprecated by RFC 4291), Teredo
//! `2001::/32` (its client address is obfuscated, so it cannot be judged) and the rest of
//! `2001::/23`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::FetchError;

/// Why an address (or a name) may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Unspecified,
    Loopback,
    Private,
    /// Carrier-grade NAT, 100.64.0.0/10.
    SharedAddressSpace,
    LinkLocal,
    /// 169.254.169.254, the cloud instance metadata service: the classic SSRF target.
    CloudMetadata,
    UniqueLocal,
    Multicast,
    Broadcast,
    Documentation,
    Benchmarking,
    Reserved,
    /// Deprecated `::a.b.c.d`.
    Ipv4Compatible,
    /// Teredo, 2001::/32.
    Teredo,
    /// `localhost` and `*.localhost`, which always mean this machine (RFC 6761).
    Localhost,
    /// An IPv6 address whose embedded IPv4 address is refused.
    Embedded(Ipv4Addr, Box<Refusal>),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Unspecified => "an unspecified address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::SharedAddressSpace => "a carrier-grade NAT address",
            Self::LinkLocal => "a link-local address",
            Self::CloudMetadata => "the cloud metadata address",
            Self::UniqueLocal => "a unique-local address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
            Self::Ipv4Compatible => "a deprecated IPv4-compatible address",
            Self::Teredo => "a Teredo address",
            Self::Localhost => "a localhost name",
            Self::Embedded(v4, inner) => return write!(f, "an address embedding {v4}, {inner}"),
        };
        f.write_str(what)
    }
}

impl Refusal {
    /// Refusals the allowlist cannot lift: nothing serves HTTP there on purpose, and
    /// `0.0.0.0` reaches this machine on Linux whatever the operator meant.
    fn is_absolute(&self) -> bool {
        match self {
            Self::Unspecified | Self::Multicast | Self::Broadcast => true,
            Self::Embedded(_, inner) => inner.is_absolute(),
            _ => false,
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// IPv4 special-purpose ranges, most specific first.
const V4_TABLE: &[(Ipv4Net, Refusal)] = &[
    (v4(169, 254, 169, 254, 32), Refusal::CloudMetadata),
    (v4(255, 255, 255, 255, 32), Refusal::Broadcast),
    (v4(0, 0, 0, 0, 32), Refusal::Unspecified),
    // "This network": Linux treats 0.x.y.z much like 0.0.0.0.
    (v4(0, 0, 0, 0, 8), Refusal::Reserved),
    (v4(10, 0, 0, 0, 8), Refusal::Private),
    (v4(100, 64, 0, 0, 10), Refusal::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), Refusal::Loopback),
    (v4(169, 254, 0, 0, 16), Refusal::LinkLocal),
    (v4(172, 16, 0, 0, 12), Refusal::Private),
    (v4(192, 0, 0, 0, 24), Refusal::Reserved),
    (v4(192, 0, 2, 0, 24), Refusal::Documentation),
    // The deprecated 6to4 relay anycast.
    (v4(192, 88, 99, 0, 24), Refusal::Reserved),
    (v4(192, 168, 0, 0, 16), Refusal::Private),
    (v4(198, 18, 0, 0, 15), Refusal::Benchmarking),
    (v4(198, 51, 100, 0, 24), Refusal::Documentation),
    (v4(203, 0, 113, 0, 24), Refusal::Documentation),
    (v4(224, 0, 0, 0, 4), Refusal::Multicast),
    (v4(240, 0, 0, 0, 4), Refusal::Reserved),
];

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IPv6 ranges inside `2000::/3` that are not public, most specific first.
const V6_GLOBAL_TABLE: &[(Ipv6Net, Refusal)] = &[
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), Refusal::Teredo),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), Refusal::Reserved),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), Refusal::Documentation),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), Refusal::Documentation),
];

/// IPv6 ranges outside `2000::/3` that get a more telling name than "reserved".
const V6_OTHER_TABLE: &[(Ipv6Net, Refusal)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 96), Refusal::Ipv4Compatible),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Refusal::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Refusal::LinkLocal),
    // Site-local, deprecated but still routed inside some networks.
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Refusal::Private),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Refusal::Multicast),
];

const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);
const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Why `ip` must not be fetched, or `None` for a globally reachable unicast address.
pub fn classify(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refusal> {
    V4_TABLE.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| why.clone())
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refusal> {
    if ip.is_unspecified() {
        return Some(Refusal::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Refusal::Loopback);
    }
    let embedded = if let Some(mapped) = ip.to_ipv4_mapped() {
        Some(mapped)
    } else if NAT64.contains(&ip) {
        Some(Ipv4Addr::from(ip.to_bits() as u32))
    } else if SIX_TO_FOUR.contains(&ip) {
        Some(Ipv4Addr::from((ip.to_bits() >> 80) as u32))
    } else {
        None
    };
    if let Some(inner) = embedded {
        return classify_v4(inner).map(|why| Refusal::Embedded(inner, Box::new(why)));
    }
    if GLOBAL_UNICAST.contains(&ip) {
        V6_GLOBAL_TABLE.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| why.clone())
    } else {
        let named = V6_OTHER_TABLE.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| why.clone());
        Some(named.unwrap_or(Refusal::Reserved))
    }
}

/// `localhost`, `*.localhost`, with or without the trailing dot: always this machine (RFC 6761),
/// whatever DNS says, so refused by name before any lookup.
pub fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// The operator's allowlist (`BROWSER_ALLOWED_HOSTS`): hosts that may be reached even though
/// they are, or resolve to, private addresses.
///
/// Entries are exact hostnames (`wiki.corp.example`), suffix patterns (`*.example.internal`
/// matches every subdomain, not the apex), single addresses (`10.1.2.3`) and CIDRs
/// (`10.1.0.0/16`). A name entry trusts whatever that name resolves to; a CIDR entry trusts
/// the addresses in it, whatever name led there.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    names: Vec<String>,
    suffixes: Vec<String>,
    nets: Vec<IpNet>,
}

impl AllowList {
    /// Parses the entries; blank ones are skipped so an empty setting means "nothing".
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, FetchError> {
        let mut list = Self::default();
        for raw in entries {
            let entry = raw.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let bad = |why: &str| FetchError::InvalidSetting(format!("allowed host {entry:?}: {why}"));
            if entry.contains('/') {
                let net: IpNet = entry.parse().map_err(|_| bad("not a CIDR"))?;
                list.nets.push(net.trunc());
            } else if let Some(suffix) = entry.strip_prefix("*.") {
                match url::Host::parse(suffix.trim_end_matches('.')) {
                    Ok(url::Host::Domain(domain)) => list.suffixes.push(format!(".{domain}")),
                    _ => return Err(bad("a pattern must be *. followed by a domain name")),
                }
            } else {
                // The URL parser normalises the entry exactly as it will normalise the URL's host
                // (case, IDNA, IPv4 shorthands), so the comparison cannot be fooled by spelling.
                match url::Host::parse(entry.trim_end_matches('.')).map_err(|e| bad(&e.to_string()))? {
                    url::Host::Domain(domain) => list.names.push(domain),
                    url::Host::Ipv4(ip) => list.nets.push(IpNet::from(IpAddr::V4(ip))),
                    url::Host::Ipv6(ip) => list.nets.push(IpNet::from(IpAddr::V6(ip))),
                }
            }
        }
        Ok(list)
    }

    /// Whether a hostname (as the URL parser normalised it) is allowlisted by name.
    pub fn allows_name(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.names.iter().any(|name| name == host)
            || self.suffixes.iter().any(|suffix| host.len() > suffix.len() && host.ends_with(suffix.as_str()))
    }

    /// Whether an address lies in an allowlisted range. IPv4-mapped addresses are matched as
    /// the IPv4 address they reach.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

/// The SSRF policy: the address rules plus the operator's allowlist.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow: AllowList,
}

impl Policy {
    pub fn new(allow: AllowList) -> Self {
        Self { allow }
    }

    /// Checks a URL whose host is an IP literal.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), FetchError> {
        self.permits(false, ip).map_err(|reason| FetchError::AddressNotAllowed { host: None, addr: Some(ip), reason })
    }

    /// Checks a hostname before resolving it: `localhost` names are refused unless allowlisted.
    pub fn check_name(&self, host: &str) -> Result<(), FetchError> {
        if is_localhost_name(host) && !self.allow.allows_name(host) {
            return Err(FetchError::AddressNotAllowed {
                host: Some(host.to_owned()),
                addr: None,
                reason: Refusal::Localhost,
            });
        }
        Ok(())
    }

    /// Checks every address a name resolved to. One refused address refuses the whole name:
    /// filtering it out instead would still let an attacker's DNS steer some connections.
    pub fn check_resolved(&self, host: &str, addrs: &[IpAddr]) -> Result<(), FetchError> {
        self.check_name(host)?;
        let name_allowed = self.allow.allows_name(host);
        for &ip in addrs {
            self.permits(name_allowed, ip).map_err(|reason| FetchError::AddressNotAllowed {
                host: Some(host.to_owned()),
                addr: Some(ip),
                reason,
            })?;
        }
        Ok(())
    }

    fn permits(&self, name_allowed: bool, ip: IpAddr) -> Result<(), Refusal> {
        match classify(ip) {
            None => Ok(()),
            Some(reason) if reason.is_absolute() => Err(reason),
            Some(_) if name_allowed || self.allow.allows_ip(ip) => Ok(()),
            Some(reason) => Err(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(ip: &str) -> Option<Refusal> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"] {
            assert_eq!(refusal(ip), None, "{ip}");
        }
        // NAT64 and 6to4 carrying a public address are judged by it.
        assert_eq!(refusal("64:ff9b::808:808"), None);
        assert_eq!(refusal("2002:808:808::1"), None);
        assert_eq!(refusal("::ffff:8.8.8.8"), None);
    }

    #[test]
    fn special_addresses_are_refused() {
        use Refusal::*;
        let table: &[(&str, Refusal)] = &[
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("::1", Loopback),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("0.1.2.3", Reserved),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.254", SharedAddressSpace),
            ("169.254.1.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("fe80::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fec0::1", Private),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("255.255.255.255", Broadcast),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.1", Benchmarking),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("240.0.0.1", Reserved),
            ("2001:db8::1", Documentation),
            ("::7f00:1", Ipv4Compatible),
            ("::808:808", Ipv4Compatible),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Teredo),
            ("2001:2::1", Reserved),
            ("100::1", Reserved),
            ("5f00::1", Reserved),
            ("64:ff9b:1::1", Reserved),
        ];
        for (ip, want) in table {
            assert_eq!(refusal(ip).as_ref(), Some(want), "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_judged() {
        let loopback = Refusal::Embedded(Ipv4Addr::LOCALHOST, Box::new(Refusal::Loopback));
        assert_eq!(refusal("::ffff:127.0.0.1"), Some(loopback.clone()));
        assert_eq!(refusal("64:ff9b::7f00:1"), Some(loopback.clone()));
        assert_eq!(refusal("2002:7f00:1::"), Some(loopback));
        let private = Refusal::Embedded(Ipv4Addr::new(10, 0, 0, 1), Box::new(Refusal::Private));
        assert_eq!(refusal("64:ff9b::10.0.0.1"), Some(private.clone()));
        assert_eq!(refusal("2002:a00:1::1"), Some(private));
        assert_eq!(
            refusal("::ffff:169.254.169.254").map(|r| r.to_string()).as_deref(),
            Some("an address embedding 169.254.169.254, the cloud metadata address")
        );
    }

    #[test]
    fn localhost_names() {
        for host in ["localhost", "LOCALHOST", "localhost.", "foo.localhost", "a.b.localhost."] {
            assert!(is_localhost_name(host), "{host}");
        }
        for host in ["localhost.example", "mylocalhost", "example.com"] {
            assert!(!is_localhost_name(host), "{host}");
        }
    }

    #[test]
    fn allowlist_entries() {
        let list = AllowList::parse(&[
            "wiki.corp.example",
            "*.example.internal",
            "10.1.0.0/16",
            "127.0.0.1",
            " ",
            "Intra.Test.",
        ])
        .unwrap();
        assert!(list.allows_name("wiki.corp.example"));
        assert!(list.allows_name("wiki.corp.example."));
        assert!(list.allows_name("intra.test"));
        assert!(list.allows_name("a.example.internal"));
        assert!(list.allows_name("a.b.example.internal"));
        assert!(!list.allows_name("example.internal"));
        assert!(!list.allows_name("evilexample.internal"));
        assert!(!list.allows_name("wiki.corp.example.evil.test"));
        assert!(list.allows_ip("10.1.200.3".parse().unwrap()));
        assert!(!list.allows_ip("10.2.0.1".parse().unwrap()));
        assert!(list.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(list.allows_ip("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!list.allows_ip("127.0.0.2".parse().unwrap()));

        for bad in ["10.0.0.0/99", "*.", "exa mple.com", "not/a/cidr"] {
            let err = AllowList::parse(&[bad]).unwrap_err();
            assert_eq!(err.code(), "invalid_setting", "{bad}");
        }
    }

    #[test]
    fn allowlist_lifts_private_but_not_absolute_refusals() {
        let policy = Policy::new(AllowList::parse(&["intra.test", "127.0.0.1/32"]).unwrap());
        assert!(policy.check_ip("127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check_ip("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check_ip("127.0.0.2".parse().unwrap()).is_err());
        assert!(policy.check_resolved("intra.test", &["10.9.9.9".parse().unwrap()]).is_ok());
        let err = policy.check_resolved("intra.test", &["0.0.0.0".parse().unwrap()]).unwrap_err();
        assert_eq!(err.to_string(), "intra.test resolves to 0.0.0.0, an unspecified address");
        assert!(policy.check_name("localhost").is_err());
    }

    #[test]
    fn one_private_answer_refuses_the_name() {
        // A rebinding answer: a public address and a loopback one.
        let policy = Policy::default();
        let addrs = ["93.184.215.14".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        let err = policy.check_resolved("rebind.test", &addrs).unwrap_err();
        assert_eq!(err.code(), "address_not_allowed");
        assert_eq!(err.to_string(), "rebind.test resolves to 127.0.0.1, a loopback address");
        assert!(policy.check_resolved("example.test", &addrs[..1]).is_ok());
    }
}
