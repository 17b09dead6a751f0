//! Sign-up by mail: an account is made only when its address confirms the
//! sign-up by the link mailed to it, once, within a day.

/// How long a sign-up's link works.
pub const CONFIRMATION_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// What a followed confirmation link finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationLink {
    /// It may confirm its sign-up.
    Usable,
    /// It confirmed its sign-up already: a link confirms once.
    Used,
    /// Its day is over.
    Expired,
}

impl ConfirmationLink {
    /// The one rule, for the page that shows the button and the action that
    /// confirms alike. A used link stays used after it would have expired.
    pub fn decide(confirmed_at: Option<i64>, expires_at: i64, now: i64) -> ConfirmationLink {
        if confirmed_at.is_some() {
            ConfirmationLink::Used
        } else if now >= expires_at {
            ConfirmationLink::Expired
        } else {
            ConfirmationLink::Usable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConfirmationLink::{self, *};

    #[test]
    fn a_link_confirms_once_and_only_within_its_day() {
        let cases = [
            (None, 100, 50, Usable),
            (None, 100, 100, Expired),
            (None, 100, 150, Expired),
            (Some(60), 100, 70, Used),
            (Some(60), 100, 150, Used),
        ];
        for (confirmed_at, expires_at, now, expected) in cases {
            assert_eq!(ConfirmationLink::decide(confirmed_at, expires_at, now), expected, "{confirmed_at:?} {expires_at} {now}");
        }
    }
}
