//! What the API budget governor keeps: the calls Insight made into each org
//! per hour, and the orgs whose deliveries wait for budget.

use crate::{now_ms, Result, Store};

const HOUR_MS: i64 = 3_600_000;

/// An org's deliveries wait until `until_ms`, for `reason`; with `probe`,
/// the org's `/limits` is read once before they go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPause {
    pub org_id: String,
    pub until_ms: i64,
    pub reason: String,
    pub probe: bool,
    pub created_at: i64,
}

/// One org's budget as `/metrics` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgBudgetSeen {
    pub org_id: String,
    /// (used, max) of the org's daily API requests, from the last answer seen.
    pub org_usage: Option<(i64, i64)>,
    pub insight_last_day: i64,
    pub paused: bool,
}

impl Store {
    /// Counts `calls` Insight just made into `org_id`.
    pub async fn add_api_calls(&self, org_id: &str, calls: i64) -> Result<()> {
        if calls <= 0 {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO api_calls (org_id, hour, calls) VALUES ($1, $2, $3)
             ON CONFLICT (org_id, hour) DO UPDATE SET calls = api_calls.calls + excluded.calls",
        )
        .bind(org_id)
        .bind(now_ms() / HOUR_MS)
        .bind(calls)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The calls Insight made into `org_id` over the last 24 hours (this
    /// hour and the 23 before it).
    pub async fn api_calls_last_day(&self, org_id: &str) -> Result<i64> {
        let (sum,): (Option<i64>,) = sqlx::query_as("SELECT CAST(SUM(calls) AS BIGINT) FROM api_calls WHERE org_id = $1 AND hour > $2")
            .bind(org_id)
            .bind(now_ms() / HOUR_MS - 24)
            .fetch_one(&self.pool)
            .await?;
        Ok(sum.unwrap_or(0))
    }

    pub async fn api_pause(&self, org_id: &str) -> Result<Option<ApiPause>> {
        let row: Option<(String, i64, String, i64, i64)> =
            sqlx::query_as("SELECT org_id, until_ms, reason, probe, created_at FROM api_pauses WHERE org_id = $1")
                .bind(org_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(org_id, until_ms, reason, probe, created_at)| ApiPause { org_id, until_ms, reason, probe: probe != 0, created_at }))
    }

    /// Pauses an org's deliveries (or moves its pause) until `until_ms`.
    pub async fn pause_api(&self, org_id: &str, until_ms: i64, reason: &str, probe: bool) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_pauses (org_id, until_ms, reason, probe, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason, probe = excluded.probe",
        )
        .bind(org_id)
        .bind(until_ms)
        .bind(reason)
        .bind(probe as i64)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn resume_api(&self, org_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM api_pauses WHERE org_id = $1").bind(org_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Deliveries of `account_id`'s projects waiting for API budget.
    pub async fn waiting_for_budget(&self, account_id: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM deliveries d JOIN projects p ON p.id = d.project_id
              WHERE p.owner_id = $1 AND d.status = 'pending' AND d.note LIKE $2",
        )
        .bind(account_id)
        .bind(format!("{}%", domain::budget::WAIT_PREFIX))
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Every linked org's API budget as last seen, Insight's calls into it
    /// over the last 24 hours, and whether its deliveries are paused: what
    /// `/metrics` shows per org.
    pub async fn org_budgets(&self) -> Result<Vec<OrgBudgetSeen>> {
        let rows: Vec<(String, Option<i64>, Option<i64>, Option<i64>, i64)> = sqlx::query_as(
            "SELECT l.org_id, MAX(l.api_used), MAX(l.api_max),
                    (SELECT CAST(SUM(c.calls) AS BIGINT) FROM api_calls c WHERE c.org_id = l.org_id AND c.hour > $1),
                    CAST(CASE WHEN EXISTS (SELECT 1 FROM api_pauses p WHERE p.org_id = l.org_id) THEN 1 ELSE 0 END AS BIGINT)
               FROM salesforce_links l GROUP BY l.org_id ORDER BY l.org_id",
        )
        .bind(now_ms() / HOUR_MS - 24)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(org_id, used, max, insight, paused)| OrgBudgetSeen { org_id, org_usage: used.zip(max), insight_last_day: insight.unwrap_or(0), paused: paused != 0 })
            .collect())
    }

    /// Forgets hourly counts older than two days.
    pub(crate) async fn sweep_api_calls(&self) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM api_calls WHERE hour < $1").bind(now_ms() / HOUR_MS - 48).execute(&self.pool).await?.rows_affected())
    }
}
