//! The daily API budget an org shares between Insight and its other
//! integrations. Salesforce counts every API call against one rolling
//! 24-hour limit per org; when it runs out, every integration of the org
//! stops (`REQUEST_LIMIT_EXCEEDED`). Insight keeps to a share of it, and
//! waits — saying why — rather than take what the others need.

/// How much of an org's daily limit Insight may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetPolicy {
    /// Percent of the org's daily API limit, over any 24 hours (1–100).
    share_percent: u8,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        BudgetPolicy { share_percent: 50 }
    }
}

impl BudgetPolicy {
    /// A share of 1 to 100 percent; anything else is refused with a reason.
    pub fn with_share(percent: u32) -> Result<BudgetPolicy, String> {
        match percent {
            1..=100 => Ok(BudgetPolicy { share_percent: percent as u8 }),
            _ => Err(format!("the API share must be a percent from 1 to 100, not {percent}")),
        }
    }

    pub fn share_percent(&self) -> u8 {
        self.share_percent
    }

    /// The calls Insight may make into an org whose daily limit is `max`.
    pub fn share_of(&self, max: i64) -> i64 {
        // In i128: a limit near i64::MAX must not wrap to a negative share.
        (i128::from(max.max(0)) * i128::from(self.share_percent) / 100) as i64
    }

    /// Whether `needed` more calls may go now. An org whose limit Insight
    /// has not seen yet (no call answered) is not held: the first answer
    /// carries it.
    pub fn verdict(&self, budget: &OrgBudget, needed: i64) -> Verdict {
        let Some((org_used, max)) = budget.org_usage.filter(|(_, max)| *max > 0) else {
            return Verdict::Go;
        };
        let share = self.share_of(max);
        if budget.insight_used + needed > share {
            return Verdict::Wait(WaitReason::ShareUsed { used: budget.insight_used, share, percent: self.share_percent, max });
        }
        if org_used + needed > max {
            return Verdict::Wait(WaitReason::OrgExhausted { used: org_used, max });
        }
        Verdict::Go
    }
}

/// An org's API use: the whole org's, as Salesforce last reported it
/// (`Sforce-Limit-Info: api-usage=used/max`), and Insight's own over the
/// last 24 hours, as Insight counted its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgBudget {
    pub org_usage: Option<(i64, i64)>,
    pub insight_used: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Go,
    Wait(WaitReason),
}

/// Why an org's deliveries wait for API budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitReason {
    /// Insight used its share of the org's limit over the last 24 hours.
    ShareUsed { used: i64, share: i64, percent: u8, max: i64 },
    /// The org as a whole (every integration) is at its daily limit.
    OrgExhausted { used: i64, max: i64 },
    /// Salesforce refused a call with `REQUEST_LIMIT_EXCEEDED`.
    Refused,
}

impl WaitReason {
    /// Whether going on needs a fresh look at the org's `/limits` first:
    /// only Salesforce knows when the org's own use went down. Insight's
    /// share frees up as its own counted calls age out of the window.
    pub fn needs_probe(&self) -> bool {
        !matches!(self, WaitReason::ShareUsed { .. })
    }

    /// In words for the people who run the surveys.
    pub fn describe(&self) -> String {
        match self {
            WaitReason::ShareUsed { used, share, percent, max } => format!(
                "waiting for API budget: Insight has made {used} of the {share} API calls it may use in 24 hours ({percent} % of this org's daily limit of {max}), so the org's other integrations keep theirs; deliveries go on as the 24-hour window moves"
            ),
            WaitReason::OrgExhausted { used, max } => format!(
                "waiting for API budget: this org has used {used} of its {max} daily API calls (all integrations together); deliveries go on when Salesforce reports calls free again"
            ),
            WaitReason::Refused => "waiting for API budget: Salesforce refused a call because this org's daily API limit is used up (REQUEST_LIMIT_EXCEEDED); deliveries go on when Salesforce reports calls free again".into(),
        }
    }
}

/// Text a waiting delivery's note starts with, so pages and counts can
/// tell a wait for budget from other notes.
pub const WAIT_PREFIX: &str = "waiting for API budget";

#[cfg(test)]
mod tests {
    #[test]
    fn a_huge_limit_gives_a_huge_share_not_a_negative_one() {
        let p = BudgetPolicy::default();
        assert_eq!(p.share_of(i64::MAX), i64::MAX / 2);
        assert_eq!(p.verdict(&OrgBudget { org_usage: Some((10, i64::MAX)), insight_used: 10 }, 5), Verdict::Go);
    }

    use super::*;

    fn budget(org_used: i64, max: i64, insight_used: i64) -> OrgBudget {
        OrgBudget { org_usage: Some((org_used, max)), insight_used }
    }

    #[test]
    fn a_share_is_a_percent_from_1_to_100() {
        assert_eq!(BudgetPolicy::default().share_percent(), 50);
        assert_eq!(BudgetPolicy::with_share(25).unwrap().share_of(15_000), 3_750);
        assert!(BudgetPolicy::with_share(0).unwrap_err().contains("from 1 to 100"));
        assert!(BudgetPolicy::with_share(101).is_err());
    }

    #[test]
    fn insight_keeps_to_its_share_of_the_daily_limit() {
        let policy = BudgetPolicy::default();
        assert_eq!(policy.verdict(&budget(1_000, 15_000, 7_000), 2), Verdict::Go);
        match policy.verdict(&budget(8_000, 15_000, 7_499), 2) {
            Verdict::Wait(w @ WaitReason::ShareUsed { .. }) => {
                assert!(!w.needs_probe());
                let text = w.describe();
                assert!(text.starts_with(WAIT_PREFIX), "{text}");
                assert!(text.contains("7499 of the 7500") && text.contains("50 %") && text.contains("15000"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_org_at_its_limit_waits_even_within_the_share() {
        match BudgetPolicy::default().verdict(&budget(14_999, 15_000, 10), 2) {
            Verdict::Wait(w @ WaitReason::OrgExhausted { .. }) => assert!(w.needs_probe() && w.describe().contains("14999 of its 15000")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_org_not_yet_seen_is_not_held() {
        assert_eq!(BudgetPolicy::default().verdict(&OrgBudget::default(), 5), Verdict::Go);
        assert_eq!(BudgetPolicy::default().verdict(&budget(0, 0, 0), 5), Verdict::Go);
    }
}
