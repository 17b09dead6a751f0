//! How often one client may do a costly or abusable thing (sign in, send a
//! survey response): a setting (`RateLimit`), the keyed limiter that enforces
//! it (governor's GCRA), and the client's address as the server saw it.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::convert::Infallible;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// `count` actions per `per`, of which up to `burst` may come at once; after
/// a burst, one more is allowed every `per / count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub count: NonZeroU32,
    pub per: Duration,
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `count` per `per` with a burst of `burst`; zeros are raised to one.
    pub fn new(count: u32, per: Duration, burst: u32) -> RateLimit {
        RateLimit { count: NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN), per, burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN) }
    }

    fn quota(&self) -> Quota {
        let every = (self.per / self.count.get()).max(Duration::from_nanos(1));
        Quota::with_period(every).expect("a period above zero").allow_burst(self.burst)
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}s,burst={}", self.count, self.per.as_secs(), self.burst)
    }
}

/// Reads `COUNT/PERIOD` or `COUNT/PERIOD,burst=N`, the period in seconds,
/// minutes or hours (`30s`, `15m`, `1h`): `10/15m,burst=5`. Without a burst,
/// the whole count may come at once.
impl FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<RateLimit, String> {
        let explain = || format!("\"{s}\" is not a rate limit: write COUNT/PERIOD[,burst=N], such as 10/15m,burst=5 (periods in s, m or h)");
        let (rate, burst) = match s.split_once(',') {
            Some((rate, burst)) => (rate, Some(burst.trim().strip_prefix("burst=").ok_or_else(explain)?)),
            None => (s, None),
        };
        let (count, period) = rate.split_once('/').ok_or_else(explain)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| explain())?;
        let period = period.trim();
        let (number, unit) = period.split_at(period.find(|c: char| !c.is_ascii_digit()).unwrap_or(period.len()));
        let number: u64 = number.parse().map_err(|_| explain())?;
        let seconds = match unit {
            "s" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return Err(explain()),
        };
        if seconds == 0 {
            return Err(explain());
        }
        let burst = match burst {
            Some(b) => b.parse::<NonZeroU32>().map_err(|_| explain())?,
            None => count,
        };
        Ok(RateLimit { count, per: Duration::from_secs(seconds), burst })
    }
}

/// A `RateLimit` per key (an address, an account).
pub struct Throttle<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(limit: RateLimit) -> Throttle<K> {
        Throttle { limiter: RateLimiter::keyed(limit.quota()), clock: DefaultClock::default() }
    }

    /// Counts one action for `key`; refused, it says how long to wait.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose limit has fully recovered, so memory follows the
    /// number of recent clients rather than of all clients ever seen.
    pub fn forget_recovered(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, at least one.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Says a wait the way a person would: "about 3 minutes".
pub fn wait_in_words(wait: Duration) -> String {
    let secs = retry_after_secs(wait);
    match secs {
        0..=59 => format!("{secs} second{}", if secs == 1 { "" } else { "s" }),
        _ => {
            let minutes = secs.div_ceil(60);
            format!("about {minutes} minute{}", if minutes == 1 { "" } else { "s" })
        }
    }
}

/// The client's address as the server saw it, as the key its limits are
/// counted under. An IPv6 client is counted by its /64, which one household
/// or one server gets as a whole. A router driven without a socket (no
/// `ConnectInfo`) sees the unspecified address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    pub fn of(ip: IpAddr) -> ClientAddress {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientAddress(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    ClientAddress(IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)))
                }
            },
            v4 => ClientAddress(v4),
        }
    }
}

impl std::fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddress::of(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Count, period in seconds, burst.
    type Read = Option<(u32, u64, u32)>;

    #[test]
    fn rate_limits_read_as_written() {
        let cases: &[(&str, Read)] = &[
            ("10/15m,burst=5", Some((10, 900, 5))),
            ("60/1m", Some((60, 60, 60))),
            ("3/30s, burst=1", Some((3, 30, 1))),
            ("100/1h,burst=20", Some((100, 3600, 20))),
            ("0/1m", None),
            ("10/0m", None),
            ("10/15", None),
            ("10 per minute", None),
            ("10/15m,5", None),
            ("10/15m,burst=0", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<RateLimit>().ok().map(|r| (r.count.get(), r.per.as_secs(), r.burst.get()));
            assert_eq!(parsed, *expected, "{text}");
        }
        let err = "often".parse::<RateLimit>().unwrap_err();
        assert!(err.contains("10/15m,burst=5"), "the error shows how to write one: {err}");
    }

    #[test]
    fn a_throttle_allows_the_burst_then_says_how_long_to_wait() {
        let throttle = Throttle::new(RateLimit::new(2, Duration::from_secs(600), 2));
        assert!(throttle.check(&"ada").is_ok());
        assert!(throttle.check(&"ada").is_ok());
        let wait = throttle.check(&"ada").unwrap_err();
        assert!(wait > Duration::from_secs(200) && wait <= Duration::from_secs(300), "{wait:?}");
        assert!(throttle.check(&"bob").is_ok(), "another key has its own allowance");
    }

    #[test]
    fn waits_are_rounded_up_to_whole_seconds_and_said_in_words() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(90)), 90);
        assert_eq!(wait_in_words(Duration::from_secs(1)), "1 second");
        assert_eq!(wait_in_words(Duration::from_secs(42)), "42 seconds");
        assert_eq!(wait_in_words(Duration::from_secs(90)), "about 2 minutes");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientAddress::of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddress::of("2001:db8:1:2:bbbb::2".parse().unwrap());
        let other = ClientAddress::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(ClientAddress::of("::ffff:192.0.2.7".parse().unwrap()), ClientAddress::of("192.0.2.7".parse().unwrap()));
    }
}
