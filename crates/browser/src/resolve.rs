//! Name resolution that only ever hands the HTTP client addresses the policy has checked.
//!
//! reqwest asks [`GuardedResolver`] for a host's addresses when it opens a connection, and
//! connects to exactly what it returns. So the check and the connection see the same DNS answer:
//! a rebinding server cannot answer "public" to the check and "127.0.0.1" to the connect.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolving};

use crate::error::FetchError;
use crate::policy::Policy;

/// Looks up a host's addresses. The seam lets tests play a rebinding DNS server; production
/// uses [`SystemResolver`].
pub trait Resolver: Send + Sync + 'static {
    /// All addresses of `host`; an empty list counts as a failed lookup.
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (`getaddrinfo` on tokio's blocking pool), so `/etc/hosts`,
/// search domains and the host's DNS settings apply as they do for every other program.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, 0)).await?.map(|addr| addr.ip()).collect()) })
    }
}

/// Resolves with the given resolver and refuses the whole name if any address is refused.
///
/// Failures travel through reqwest as the boxed [`FetchError`], and the fetcher digs them out
/// of the error's source chain, so the caller sees `address_not_allowed`, not a vague I/O error.
pub(crate) struct GuardedResolver {
    resolver: Arc<dyn Resolver>,
    policy: Arc<Policy>,
}

impl GuardedResolver {
    pub(crate) fn new(resolver: Arc<dyn Resolver>, policy: Arc<Policy>) -> Self {
        Self { resolver, policy }
    }

    async fn checked(&self, host: &str) -> Result<Vec<IpAddr>, FetchError> {
        self.policy.check_name(host)?;
        let addrs = self
            .resolver
            .lookup(host)
            .await
            .map_err(|e| FetchError::DnsFailed { host: host.to_owned(), detail: e.to_string() })?;
        if addrs.is_empty() {
            return Err(FetchError::DnsFailed { host: host.to_owned(), detail: "no addresses".into() });
        }
        self.policy.check_resolved(host, &addrs)?;
        tracing::debug!(host, ?addrs, "resolved and checked");
        Ok(addrs)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = Self { resolver: Arc::clone(&self.resolver), policy: Arc::clone(&self.policy) };
        Box::pin(async move {
            let addrs = this.checked(name.as_str()).await?;
            // Port 0 is replaced by the URL's port (or the scheme's default) by reqwest.
            let addrs: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use reqwest::dns::Resolve;

    use super::*;
    use crate::policy::AllowList;

    struct Fixed(HashMap<&'static str, Vec<IpAddr>>);

    impl Resolver for Fixed {
        fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
            let found = self.0.get(host).cloned();
            Box::pin(async move { found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host")) })
        }
    }

    fn guarded(allow: &[&str]) -> GuardedResolver {
        let answers = HashMap::from([
            ("public.test", vec!["93.184.215.14".parse().unwrap()]),
            ("rebind.test", vec!["93.184.215.14".parse().unwrap(), "127.0.0.1".parse().unwrap()]),
            ("empty.test", vec![]),
        ]);
        GuardedResolver::new(Arc::new(Fixed(answers)), Arc::new(Policy::new(AllowList::parse(allow).unwrap())))
    }

    async fn resolve(resolver: &GuardedResolver, host: &str) -> Result<Vec<SocketAddr>, FetchError> {
        match resolver.resolve(host.parse().unwrap()).await {
            Ok(addrs) => Ok(addrs.collect()),
            Err(e) => Err(*e.downcast::<FetchError>().expect("a FetchError")),
        }
    }

    #[tokio::test]
    async fn returns_only_checked_answers() {
        let addrs = resolve(&guarded(&[]), "public.test").await.unwrap();
        assert_eq!(addrs, vec![SocketAddr::new("93.184.215.14".parse().unwrap(), 0)]);
    }

    #[tokio::test]
    async fn a_rebinding_answer_yields_no_address_at_all() {
        let err = resolve(&guarded(&[]), "rebind.test").await.unwrap_err();
        assert_eq!(err.to_string(), "rebind.test resolves to 127.0.0.1, a loopback address");
        // Allowlisting the name lets its private answers through.
        assert_eq!(resolve(&guarded(&["rebind.test"]), "rebind.test").await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn failed_and_empty_lookups_are_dns_failures() {
        assert_eq!(resolve(&guarded(&[]), "missing.test").await.unwrap_err().code(), "dns_failed");
        assert_eq!(resolve(&guarded(&[]), "empty.test").await.unwrap_err().code(), "dns_failed");
    }

    #[tokio::test]
    async fn localhost_is_refused_without_a_lookup() {
        let err = resolve(&guarded(&[]), "foo.localhost").await.unwrap_err();
        assert_eq!(err.to_string(), "foo.localhost is a localhost name");
    }
}
