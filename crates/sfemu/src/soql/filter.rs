//! Whether a row passes a WHERE clause, once the query has been checked: how each
//! comparison, `IN`, `LIKE` and date-literal range is evaluated against a row's value.

use super::{At, Cond, Lit};
use crate::state::Record;
use serde_json::Value;
use std::cmp::Ordering;

/// How a value orders against a (checked) literal; `None` when they do not compare (null).
fn cmp_val(a: &Value, b: &Lit) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Lit::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Lit::Null) => None,
        (Value::Number(n), Lit::Num(m)) => n.as_f64()?.partial_cmp(m),
        (Value::Bool(x), Lit::Bool(y)) => Some(x.cmp(y)),
        (Value::String(s), Lit::Str(t)) => Some(s.to_lowercase().cmp(&t.to_lowercase())),
        (Value::String(s), Lit::Date(d)) => {
            let norm = if d.len() > 10 { crate::records::coerce_datetime_literal(d) } else { d.clone() };
            let s = if norm.len() == 10 { &s[..s.len().min(10)] } else { s.as_str() };
            Some(s.cmp(norm.as_str()))
        }
        (Value::String(s), Lit::Num(n)) => s.parse::<f64>().ok()?.partial_cmp(n),
        _ => None,
    }
}

/// SOQL's LIKE: `%` any run of characters, `_` one; without regard to case.
pub(super) fn like(s: &str, pat: &str) -> bool {
    fn rec(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| rec(&s[i..], &p[1..])),
            Some('_') => !s.is_empty() && rec(&s[1..], &p[1..]),
            Some(c) => !s.is_empty() && s[0] == *c && rec(&s[1..], &p[1..]),
        }
    }
    let s: Vec<char> = s.to_lowercase().chars().collect();
    let p: Vec<char> = pat.to_lowercase().chars().collect();
    rec(&s, &p)
}

/// Does a row's value stand in relation `op` to a literal? A date literal's range
/// compares the value's day (a datetime's UTC date) with the range's days.
fn compare(v: &Value, op: &str, lit: &Lit) -> bool {
    if let Lit::Range(start, end) = lit {
        let Some(d) = v.as_str().and_then(|v| v.get(..10)) else { return op == "!=" };
        let within = d >= start.as_str() && d < end.as_str();
        return match op {
            "=" => within,
            "!=" => !within,
            "<" => d < start.as_str(),
            "<=" => d < end.as_str(),
            ">" => d >= end.as_str(),
            ">=" => d >= start.as_str(),
            _ => false,
        };
    }
    let o = cmp_val(v, lit);
    match op {
        "=" => o == Some(Ordering::Equal),
        "!=" => o != Some(Ordering::Equal),
        "<" => o == Some(Ordering::Less),
        ">" => o == Some(Ordering::Greater),
        "<=" => matches!(o, Some(Ordering::Less | Ordering::Equal)),
        ">=" => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
        _ => false,
    }
}

pub(super) fn eval(c: &Cond, r: &Record) -> bool {
    let value = |f: &At<String>| r.get(&f.v).unwrap_or(&Value::Null);
    match c {
        Cond::And(a, b) => eval(a, r) && eval(b, r),
        Cond::Or(a, b) => eval(a, r) || eval(b, r),
        Cond::Not(a) => !eval(a, r),
        Cond::Cmp(f, op, lit) => compare(value(f), op, &lit.v),
        Cond::In(f, neg, lits) => lits.iter().any(|l| compare(value(f), "=", &l.v)) != *neg,
        Cond::Like(f, neg, p) => value(f).as_str().map(|s| like(s, &p.v)).unwrap_or(false) != *neg,
    }
}
