//! Which hosts may receive the connected app's secret and a link's tokens.
//!
//! The code exchange POSTs the client secret, the code and the PKCE verifier
//! to the login host, and every later call sends the access token to the
//! instance and identity URLs the token response names. So a login host is
//! one of Salesforce's own (`login.salesforce.com`, `test.salesforce.com`, a
//! My Domain), an instance is a Salesforce host, and anything else (the
//! emulator in tests and demos) only when it is configured as trusted.
//! Nothing here trusts loopback, a port or a scheme by itself.

use std::fmt;
use url::{Host, Origin, Url};

/// Salesforce's generic login hosts (production, sandbox).
const GENERIC_LOGIN_HOSTS: [&str; 2] = ["login.salesforce.com", "test.salesforce.com"];

/// My Domain login hosts are `NAME.my.salesforce.com`, or with partitioned
/// domains `NAME.PARTITION.my.salesforce.com` (sandboxes:
/// `NAME--SANDBOX.sandbox.my.salesforce.com`). Partitions from the Tooling API
/// reference, OrgDomainLog.DomainPartition, and Salesforce Help "My Domain URL
/// Formats" / "Partitioned Domains" (`sfdctest` is internal to Salesforce).
const MY_DOMAIN_SUFFIX: &str = ".my.salesforce.com";
const MY_DOMAIN_PARTITIONS: [&str; 7] = ["sandbox", "develop", "scratch", "demo", "patch", "trailblaze", "free"];

/// Domains whose subdomains Salesforce serves orgs on: My Domains and legacy
/// instances (`na1.salesforce.com`), Lightning and content (`*.force.com`),
/// and the older My Domain suffixes `cloudforce.com` and `database.com`
/// (OrgDomainLog.ProdSuffixType).
const INSTANCE_DOMAINS: [&str; 4] = [".salesforce.com", ".force.com", ".cloudforce.com", ".database.com"];

/// Hosts besides Salesforce's own that may receive the secret and tokens:
/// the emulator's origin in tests and demos, and the login URLs the server is
/// configured with. Compared by origin (scheme, host, port).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedHosts {
    origins: Vec<Origin>,
}

impl fmt::Debug for TrustedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.origins()).finish()
    }
}

impl TrustedHosts {
    /// Only Salesforce's own hosts.
    pub fn none() -> TrustedHosts {
        TrustedHosts::default()
    }

    /// Trusts the origin of `url` (its path does not matter).
    pub fn trust(&mut self, url: &Url) {
        let origin = url.origin();
        if origin.is_tuple() && !self.origins.contains(&origin) {
            self.origins.push(origin);
        }
    }

    pub fn with(mut self, url: &Url) -> TrustedHosts {
        self.trust(url);
        self
    }

    pub fn contains(&self, url: &Url) -> bool {
        no_user_info(url) && self.origins.contains(&url.origin())
    }

    /// The trusted origins, serialized (`http://127.0.0.1:4321`), for a CSP.
    pub fn origins(&self) -> Vec<String> {
        self.origins.iter().map(Origin::ascii_serialization).collect()
    }

    /// May the client secret be POSTed to this login host?
    pub fn is_login_host(&self, url: &Url) -> bool {
        self.contains(url) || salesforce_https(url).is_some_and(|h| GENERIC_LOGIN_HOSTS.contains(&h) || is_my_domain_host(h))
    }

    /// May REST calls, with the access token, go to this instance?
    pub fn is_instance(&self, url: &Url) -> bool {
        self.contains(url) || salesforce_https(url).is_some_and(|h| INSTANCE_DOMAINS.iter().any(|d| h.ends_with(d)))
    }

    /// Refuses a login host the secret must not go to.
    pub fn check_login_host(&self, url: &Url) -> Result<(), crate::SalesforceError> {
        if self.is_login_host(url) {
            Ok(())
        } else {
            Err(crate::SalesforceError::UntrustedHost { what: "login host", host: shown_host(url) })
        }
    }

    /// Refuses an instance that is not a Salesforce (or trusted) host.
    pub fn check_instance(&self, url: &Url) -> Result<(), crate::SalesforceError> {
        if self.is_instance(url) {
            Ok(())
        } else {
            Err(crate::SalesforceError::UntrustedHost { what: "instance_url", host: shown_host(url) })
        }
    }

    /// Refuses a token response whose instance is not a Salesforce (or
    /// trusted) host, or whose identity URL is neither on the login host nor
    /// on the instance.
    pub fn check_token_hosts(&self, login: &Url, instance: &Url, identity: &Url) -> Result<(), crate::SalesforceError> {
        self.check_instance(instance)?;
        // A My Domain sign-in still gets its identity URL on the generic host
        // (`https://login.salesforce.com/id/…`), so those count as the login host.
        let generic = salesforce_https(identity).is_some_and(|h| GENERIC_LOGIN_HOSTS.contains(&h));
        let same = |u: &Url| u.origin() == identity.origin();
        if !no_user_info(identity) || !(same(login) || same(instance) || generic) {
            return Err(crate::SalesforceError::UntrustedHost { what: "identity URL", host: shown_host(identity) });
        }
        Ok(())
    }
}

fn no_user_info(url: &Url) -> bool {
    url.username().is_empty() && url.password().is_none()
}

/// The host of an https URL on the default port without user info, when it
/// is a domain name (never an IP address).
fn salesforce_https(url: &Url) -> Option<&str> {
    match url.host() {
        Some(Host::Domain(h)) if url.scheme() == "https" && url.port().is_none() && no_user_info(url) => Some(h),
        _ => None,
    }
}

/// `NAME.my.salesforce.com` or `NAME.PARTITION.my.salesforce.com`.
fn is_my_domain_host(host: &str) -> bool {
    let Some(rest) = host.strip_suffix(MY_DOMAIN_SUFFIX) else { return false };
    let (name, partition) = match rest.split_once('.') {
        Some((name, partition)) => (name, Some(partition)),
        None => (rest, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    name_ok && partition.is_none_or(|p| MY_DOMAIN_PARTITIONS.contains(&p))
}

/// A host named in an error: bounded, since it came from outside.
fn shown_host(url: &Url) -> String {
    let h = url.host_str().unwrap_or("(no host)");
    let h: String = h.chars().take(100).collect();
    match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h,
    }
}

/// An org's My Domain login URL as a person typed it, checked: an https
/// Salesforce My Domain host with nothing after it (or a trusted host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyDomain(Url);

/// Why a typed My Domain URL was refused, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MyDomainError {
    #[error("it is not a web address")]
    NotAUrl,
    #[error("it must start with https://")]
    NotHttps,
    #[error("it must not contain a user name or password")]
    UserInfo,
    #[error("it must not name a port")]
    Port,
    #[error("it must end after the host name (no path, ? or #)")]
    TrailingParts,
    #[error("{0} is not a Salesforce My Domain host (they end in .my.salesforce.com)")]
    NotMyDomain(String),
}

impl MyDomain {
    pub fn parse(input: &str, trusted: &TrustedHosts) -> Result<MyDomain, MyDomainError> {
        let url = Url::parse(input.trim()).map_err(|_| MyDomainError::NotAUrl)?;
        if !no_user_info(&url) {
            return Err(MyDomainError::UserInfo);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(MyDomainError::TrailingParts);
        }
        // A configured stand-in (the emulator) keeps its path: its sandbox
        // login host lives under /sandbox.
        if trusted.contains(&url) {
            return Ok(MyDomain(url));
        }
        if url.scheme() != "https" {
            return Err(MyDomainError::NotHttps);
        }
        if url.port().is_some() {
            return Err(MyDomainError::Port);
        }
        if url.path() != "/" {
            return Err(MyDomainError::TrailingParts);
        }
        match salesforce_https(&url) {
            Some(h) if GENERIC_LOGIN_HOSTS.contains(&h) || is_my_domain_host(h) => Ok(MyDomain(url)),
            _ => Err(MyDomainError::NotMyDomain(shown_host(&url))),
        }
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for MyDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emulator() -> TrustedHosts {
        TrustedHosts::none().with(&Url::parse("http://127.0.0.1:4321").unwrap())
    }

    #[test]
    fn my_domain_accepts_salesforce_my_domain_hosts_only() {
        use MyDomainError::*;
        let cases: &[(&str, Result<&str, MyDomainError>)] = &[
            ("https://acme.my.salesforce.com", Ok("https://acme.my.salesforce.com/")),
            ("https://acme.my.salesforce.com/", Ok("https://acme.my.salesforce.com/")),
            ("  https://ACME.My.Salesforce.com ", Ok("https://acme.my.salesforce.com/")),
            ("https://acme--uat.sandbox.my.salesforce.com", Ok("https://acme--uat.sandbox.my.salesforce.com/")),
            ("https://acme-dev-ed.develop.my.salesforce.com", Ok("https://acme-dev-ed.develop.my.salesforce.com/")),
            ("https://acme.scratch.my.salesforce.com", Ok("https://acme.scratch.my.salesforce.com/")),
            ("https://acme.demo.my.salesforce.com", Ok("https://acme.demo.my.salesforce.com/")),
            ("https://acme.patch.my.salesforce.com", Ok("https://acme.patch.my.salesforce.com/")),
            ("https://acme.trailblaze.my.salesforce.com", Ok("https://acme.trailblaze.my.salesforce.com/")),
            ("https://acme.free.my.salesforce.com", Ok("https://acme.free.my.salesforce.com/")),
            ("https://login.salesforce.com", Ok("https://login.salesforce.com/")),
            ("https://test.salesforce.com/", Ok("https://test.salesforce.com/")),
            // The default port is the same address, written out.
            ("https://acme.my.salesforce.com:443", Ok("https://acme.my.salesforce.com/")),
            ("https://evil.example", Err(NotMyDomain("evil.example".into()))),
            ("https://127.0.0.1:9999/x", Err(Port)),
            ("https://127.0.0.1", Err(NotMyDomain("127.0.0.1".into()))),
            ("https://[::1]", Err(NotMyDomain("[::1]".into()))),
            ("https://acme.my.salesforce.com.evil.example", Err(NotMyDomain("acme.my.salesforce.com.evil.example".into()))),
            ("https://acme.my.salesforce.com.", Err(NotMyDomain("acme.my.salesforce.com.".into()))),
            ("https://evilmy.salesforce.com", Err(NotMyDomain("evilmy.salesforce.com".into()))),
            ("https://my.salesforce.com", Err(NotMyDomain("my.salesforce.com".into()))),
            ("https://a.b.c.my.salesforce.com", Err(NotMyDomain("a.b.c.my.salesforce.com".into()))),
            ("https://acme.sfdctest.my.salesforce.com", Err(NotMyDomain("acme.sfdctest.my.salesforce.com".into()))),
            ("https://-acme.my.salesforce.com", Err(NotMyDomain("-acme.my.salesforce.com".into()))),
            ("https://na1.salesforce.com", Err(NotMyDomain("na1.salesforce.com".into()))),
            ("https://user@acme.my.salesforce.com", Err(UserInfo)),
            ("https://user:pw@acme.my.salesforce.com", Err(UserInfo)),
            ("https://acme.my.salesforce.com:8443", Err(Port)),
            ("https://acme.my.salesforce.com/path?x", Err(TrailingParts)),
            ("https://acme.my.salesforce.com/path", Err(TrailingParts)),
            ("https://acme.my.salesforce.com//", Err(TrailingParts)),
            ("https://acme.my.salesforce.com?x", Err(TrailingParts)),
            ("https://acme.my.salesforce.com/?", Err(TrailingParts)),
            ("https://acme.my.salesforce.com#top", Err(TrailingParts)),
            ("https://acme.my.salesforce.com\\@evil.example", Err(TrailingParts)),
            ("http://acme.my.salesforce.com", Err(NotHttps)),
            ("http://127.0.0.1:4322", Err(NotHttps)),
            ("ftp://acme.my.salesforce.com", Err(NotHttps)),
            ("acme.my.salesforce.com", Err(NotAUrl)),
            ("", Err(NotAUrl)),
            ("javascript:alert(1)", Err(NotHttps)),
        ];
        for (input, expected) in cases {
            let got = MyDomain::parse(input, &emulator()).map(|d| d.to_string());
            assert_eq!(got, expected.clone().map(String::from), "{input:?}");
        }
    }

    #[test]
    fn a_configured_stand_in_is_accepted_as_my_domain_with_its_path() {
        let trusted = emulator();
        assert_eq!(MyDomain::parse("http://127.0.0.1:4321/sandbox", &trusted).unwrap().url().path(), "/sandbox");
        assert_eq!(MyDomain::parse("http://127.0.0.1:4321/sandbox?x", &trusted), Err(MyDomainError::TrailingParts));
        assert_eq!(MyDomain::parse("http://u@127.0.0.1:4321/", &trusted), Err(MyDomainError::UserInfo));
        assert_eq!(MyDomain::parse("http://127.0.0.1:4321", &TrustedHosts::none()), Err(MyDomainError::NotHttps));
        assert_eq!(MyDomain::parse("http://localhost:4321", &trusted), Err(MyDomainError::NotHttps), "another origin spelling is another origin");
    }

    #[test]
    fn login_hosts_are_salesforce_or_trusted() {
        let t = emulator();
        let cases = [
            ("https://login.salesforce.com", true),
            ("https://test.salesforce.com/", true),
            ("https://acme.my.salesforce.com", true),
            ("https://acme--uat.sandbox.my.salesforce.com", true),
            ("http://127.0.0.1:4321/sandbox", true),
            ("http://127.0.0.1:4322", false),
            ("http://login.salesforce.com", false),
            ("https://login.salesforce.com:8443", false),
            ("https://u@login.salesforce.com", false),
            ("https://na1.salesforce.com", false),
            ("https://evil.example", false),
            ("https://login.salesforce.com.evil.example", false),
        ];
        for (url, expected) in cases {
            assert_eq!(t.is_login_host(&Url::parse(url).unwrap()), expected, "{url}");
        }
    }

    #[test]
    fn instances_are_salesforce_hosts_or_trusted() {
        let t = emulator();
        let cases = [
            ("https://acme.my.salesforce.com", true),
            ("https://acme--uat.sandbox.my.salesforce.com/", true),
            ("https://na1.salesforce.com", true),
            ("https://acme.lightning.force.com", true),
            ("https://acme.my.salesforce.com/services/data", true),
            ("https://acme.cloudforce.com", true),
            ("http://127.0.0.1:4321/org/00D000000000001", true),
            ("https://salesforce.com", false),
            ("http://acme.my.salesforce.com", false),
            ("https://acme.my.salesforce.com:8443", false),
            ("https://user@acme.my.salesforce.com", false),
            ("https://acme.my.salesforce.com.evil.example", false),
            ("https://evilsalesforce.com", false),
            ("http://127.0.0.1:4322/org/00D000000000001", false),
            ("https://10.0.0.1", false),
        ];
        for (url, expected) in cases {
            assert_eq!(t.is_instance(&Url::parse(url).unwrap()), expected, "{url}");
        }
    }

    #[test]
    fn identity_url_must_be_on_the_login_host_or_the_instance() {
        let t = emulator();
        let u = |s: &str| Url::parse(s).unwrap();
        let login = u("https://acme.my.salesforce.com");
        let instance = u("https://acme.my.salesforce.com");
        let id = |s: &str| t.check_token_hosts(&login, &instance, &u(s)).is_ok();
        assert!(id("https://acme.my.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P"));
        assert!(id("https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P"));
        assert!(id("https://test.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P"));
        assert!(!id("https://other.my.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P"));
        assert!(!id("http://127.0.0.1:4322/id/00Dx0000000BV7z/005x00000012Q9P"));
        assert!(!id("https://u@login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P"));
        let foreign = t.check_token_hosts(&login, &u("http://127.0.0.1:4322/org/1"), &u("https://login.salesforce.com/id/a/b"));
        assert!(matches!(foreign, Err(crate::SalesforceError::UntrustedHost { what: "instance_url", ref host }) if host == "127.0.0.1:4322"));
    }
}
