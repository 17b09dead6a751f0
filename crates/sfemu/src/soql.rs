//! A small hand-written SOQL subset: SELECT fields|COUNT() FROM T [WHERE ...]
//! [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n].
//!
//! Why no crate: the SOQL parsers on crates.io are either full ANTLR-generated
//! grammars (heavy build, large dependency trees) or unmaintained; the subset the
//! emulator needs is ~300 lines, and owning it lets errors mimic Salesforce's
//! MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE messages exactly.
//!
//! Before any row is read the query is checked as Salesforce checks it: every field
//! exists, none is selected twice, every WHERE literal fits its field's type and only
//! filterable / sortable fields are filtered / sorted on (src/soql/typecheck.rs).

mod date_literal;
mod filter;
mod typecheck;

use crate::records::ApiError;
use crate::schema::{FieldDef, ObjectDef};
use filter::eval;
use typecheck::Misfit;
use crate::state::{Org, Record};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
enum Tok { Ident(String), Str(String), Num(f64), Op(String), LParen, RParen, Comma }

fn malformed(msg: impl Into<String>) -> ApiError { ApiError::new(400, "MALFORMED_QUERY", msg) }

/// Tokens with the char offset each starts at (for Salesforce's caret).
fn lex(q: &str) -> Result<(Vec<Tok>, Vec<usize>), ApiError> {
    let c: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    let mut starts = vec![];
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() { i += 1; continue; }
        starts.push(i);
        match ch {
            '(' => { out.push(Tok::LParen); i += 1; }
            ')' => { out.push(Tok::RParen); i += 1; }
            ',' => { out.push(Tok::Comma); i += 1; }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    if i >= c.len() { return Err(malformed("unexpected end of query: unterminated string literal")); }
                    match c[i] {
                        '\\' if i + 1 < c.len() => {
                            s.push(match c[i + 1] { 'n' => '\n', 't' => '\t', 'r' => '\r', other => other });
                            i += 2;
                        }
                        '\'' => { i += 1; break; }
                        x => { s.push(x); i += 1; }
                    }
                }
                out.push(Tok::Str(s));
            }
            '=' => { out.push(Tok::Op("=".into())); i += 1; }
            '!' | '<' | '>' => {
                let two: String = c[i..(i + 2).min(c.len())].iter().collect();
                if ["!=", "<=", ">=", "<>"].contains(&two.as_str()) { out.push(Tok::Op(if two == "<>" { "!=".into() } else { two })); i += 2; }
                else if ch == '!' { return Err(malformed("unexpected token: '!'")); }
                else { out.push(Tok::Op(ch.to_string())); i += 1; }
            }
            _ if ch.is_ascii_digit() || (ch == '-' && i + 1 < c.len() && c[i + 1].is_ascii_digit()) => {
                let start = i;
                i += 1;
                while i < c.len() && (c[i].is_ascii_alphanumeric() || matches!(c[i], '.' | ':' | '-' | '+')) { i += 1; }
                let s: String = c[start..i].iter().collect();
                match s.parse::<f64>() { Ok(n) => out.push(Tok::Num(n)), Err(_) => out.push(Tok::Ident(s)) }
            }
            _ if ch.is_alphanumeric() || ch == '_' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || matches!(c[i], '_' | '.' | ':')) { i += 1; }
                out.push(Tok::Ident(c[start..i].iter().collect()));
            }
            _ => return Err(malformed(format!("unexpected token: '{ch}'"))),
        }
    }
    Ok((out, starts))
}

#[derive(Debug, Clone)]
pub enum Lit { Str(String), Num(f64), Bool(bool), Null, Date(String), /// [start, end) days, from TODAY, LAST_N_DAYS:n, ...
    Range(String, String) }

/// Today's UTC date, from which relative date literals are counted.
fn today() -> time::Date { time::OffsetDateTime::now_utc().date() }

/// A relative date literal (TODAY, LAST_N_DAYS:n, THIS_MONTH, ...) as the range it names.
fn date_literal(s: &str) -> Option<Lit> {
    let (start, end) = date_literal::range(s, today())?;
    Some(Lit::Range(date_literal::iso(start), date_literal::iso(end)))
}

/// A name or literal as written, with the char offset it starts at in the query.
#[derive(Debug, Clone)]
pub struct At<T> { pub v: T, pub pos: usize }

#[derive(Debug, Clone)]
pub enum Cond {
    Cmp(At<String>, String, At<Lit>),
    In(At<String>, bool, Vec<At<Lit>>),
    Like(At<String>, bool, At<String>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug, Clone)]
pub struct Query {
    pub count: bool,
    /// COUNT(field): answered as an AggregateResult row (`expr0`), not as totalSize.
    pub count_expr: bool,
    pub fields: Vec<At<String>>,
    pub object: At<String>,
    pub cond: Option<Cond>,
    /// (field, descending, nulls last)
    pub order: Vec<(At<String>, bool, bool)>,
    pub limit: Option<usize>,
    pub offset: usize,
}

struct P { t: Vec<Tok>, starts: Vec<usize>, i: usize }
impl P {
    /// Where the next token starts (the query's end past the last one).
    fn pos(&self) -> usize { self.starts.get(self.i).copied().unwrap_or_else(|| self.starts.last().map_or(0, |p| p + 1)) }
    fn ident_at(&mut self, what: &str) -> Result<At<String>, ApiError> { let pos = self.pos(); Ok(At { v: self.ident(what)?, pos }) }
    fn lit_at(&mut self) -> Result<At<Lit>, ApiError> { let pos = self.pos(); Ok(At { v: self.lit()?, pos }) }
    fn peek(&self) -> Option<&Tok> { self.t.get(self.i) }
    fn kw(&self, k: &str) -> bool { matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(k)) }
    fn eat_kw(&mut self, k: &str) -> bool { if self.kw(k) { self.i += 1; true } else { false } }
    fn next(&mut self) -> Option<Tok> { let t = self.t.get(self.i).cloned(); self.i += 1; t }
    fn ident(&mut self, what: &str) -> Result<String, ApiError> {
        match self.next() { Some(Tok::Ident(s)) => Ok(s), other => Err(malformed(format!("unexpected token: {} (expecting {what})", tok_str(&other)))) }
    }
    fn expect(&mut self, t: Tok) -> Result<(), ApiError> {
        let n = self.next();
        if n.as_ref() == Some(&t) { Ok(()) } else { Err(malformed(format!("unexpected token: {}", tok_str(&n)))) }
    }
    fn lit(&mut self) -> Result<Lit, ApiError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Num(n)) => Ok(Lit::Num(n)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Ok(Lit::Bool(true)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Ok(Lit::Bool(false)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("null") => Ok(Lit::Null),
            Some(Tok::Ident(s)) if s.len() >= 10 && s.as_bytes()[4] == b'-' => Ok(Lit::Date(s)),
            Some(Tok::Ident(s)) if date_literal(&s).is_some() => Ok(date_literal(&s).unwrap()),
            other => Err(malformed(format!("unexpected token: {}", tok_str(&other)))),
        }
    }
    fn or(&mut self) -> Result<Cond, ApiError> {
        let mut l = self.and()?;
        while self.eat_kw("OR") { let r = self.and()?; l = Cond::Or(Box::new(l), Box::new(r)); }
        Ok(l)
    }
    fn and(&mut self) -> Result<Cond, ApiError> {
        let mut l = self.not()?;
        while self.eat_kw("AND") { let r = self.not()?; l = Cond::And(Box::new(l), Box::new(r)); }
        Ok(l)
    }
    fn not(&mut self) -> Result<Cond, ApiError> {
        if self.eat_kw("NOT") { return Ok(Cond::Not(Box::new(self.not()?))); }
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let c = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(c);
        }
        let f = self.ident_at("field")?;
        let negated = self.eat_kw("NOT");
        if self.eat_kw("IN") {
            self.expect(Tok::LParen)?;
            let mut v = vec![self.lit_at()?];
            while self.peek() == Some(&Tok::Comma) { self.i += 1; v.push(self.lit_at()?); }
            self.expect(Tok::RParen)?;
            return Ok(Cond::In(f, negated, v));
        }
        if self.eat_kw("LIKE") {
            let pat = self.lit_at()?;
            match pat.v { Lit::Str(s) => return Ok(Cond::Like(f, negated, At { v: s, pos: pat.pos })), _ => return Err(malformed("LIKE needs a string")) }
        }
        if negated { return Err(malformed("unexpected token: NOT")); }
        match self.next() {
            Some(Tok::Op(op)) => Ok(Cond::Cmp(f, op, self.lit_at()?)),
            other => Err(malformed(format!("unexpected token: {}", tok_str(&other)))),
        }
    }
}

fn tok_str(t: &Option<Tok>) -> String {
    match t {
        None => "<EOF>".into(),
        Some(Tok::Ident(s)) => s.clone(), Some(Tok::Str(s)) => format!("'{s}'"), Some(Tok::Num(n)) => n.to_string(),
        Some(Tok::Op(o)) => o.clone(), Some(Tok::LParen) => "(".into(), Some(Tok::RParen) => ")".into(), Some(Tok::Comma) => ",".into(),
    }
}

pub fn parse(q: &str) -> Result<Query, ApiError> {
    let (t, starts) = lex(q)?;
    let mut p = P { t, starts, i: 0 };
    if !p.eat_kw("SELECT") { return Err(malformed(format!("unexpected token: {}", tok_str(&p.peek().cloned())))); }
    let mut fields = vec![];
    let mut count = false;
    let mut count_expr = false;
    loop {
        let f = p.ident_at("field")?;
        if f.v.eq_ignore_ascii_case("COUNT") && p.peek() == Some(&Tok::LParen) {
            p.i += 1;
            if p.peek() != Some(&Tok::RParen) { p.ident("field")?; count_expr = true; }
            p.expect(Tok::RParen)?;
            count = true;
        } else {
            fields.push(f);
        }
        if p.peek() == Some(&Tok::Comma) { p.i += 1; } else { break; }
    }
    if !p.eat_kw("FROM") { return Err(malformed(format!("unexpected token: {}", tok_str(&p.peek().cloned())))); }
    let object = p.ident_at("object")?;
    let mut q = Query { count, count_expr, fields, object, cond: None, order: vec![], limit: None, offset: 0 };
    if p.eat_kw("WHERE") { q.cond = Some(p.or()?); }
    if p.eat_kw("ORDER") {
        if !p.eat_kw("BY") { return Err(malformed("expecting BY")); }
        loop {
            let f = p.ident_at("field")?;
            let desc = if p.eat_kw("DESC") { true } else { p.eat_kw("ASC"); false };
            let mut nulls_last = desc;
            if p.eat_kw("NULLS") { nulls_last = if p.eat_kw("LAST") { true } else { p.eat_kw("FIRST"); false }; }
            q.order.push((f, desc, nulls_last));
            if p.peek() == Some(&Tok::Comma) { p.i += 1; } else { break; }
        }
    }
    if p.eat_kw("LIMIT") { match p.next() { Some(Tok::Num(n)) if n >= 0.0 => q.limit = Some(n as usize), o => return Err(malformed(format!("unexpected token: {}", tok_str(&o)))) } }
    if p.eat_kw("OFFSET") { match p.next() { Some(Tok::Num(n)) if n >= 0.0 => q.offset = n as usize, o => return Err(malformed(format!("unexpected token: {}", tok_str(&o)))) } }
    if p.i < p.t.len() { return Err(malformed(format!("unexpected token: {}", tok_str(&p.peek().cloned())))); }
    Ok(q)
}

/// Salesforce's shape for an error found while reading the query: the query, a caret
/// under the offending token, its row and 1-based column, then the message.
fn positioned(code: &'static str, q: &str, pos: usize, msg: impl std::fmt::Display) -> ApiError {
    let before: Vec<char> = q.chars().take(pos).collect();
    let row = before.iter().filter(|c| **c == '\n').count() + 1;
    let col = before.iter().rev().take_while(|c| **c != '\n').count() + 1;
    ApiError::new(400, code, format!("\n{q}\n{}^\nERROR at Row:{row}:Column:{col}\n{msg}", " ".repeat(col - 1)))
}

fn no_such_column(q: &str, f: &At<String>, obj: &str) -> ApiError {
    positioned("INVALID_FIELD", q, f.pos, format!("No such column '{}' on entity '{obj}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", f.v))
}

/// A type-check failure, the caret under the field it is about.
fn misfit(q: &str, field: &At<String>, m: Misfit) -> ApiError { positioned(m.error_code(), q, field.pos, &m) }

/// Records of an object, including the virtual Organization and User objects.
pub fn rows(org: &Org, obj: &ObjectDef) -> Vec<Record> {
    match obj.name.as_str() {
        "Organization" => {
            let mut r = Map::new();
            for (k, v) in [("Id", json!(org.id)), ("Name", json!(org.name)), ("IsSandbox", json!(org.is_sandbox)),
                ("OrganizationType", json!(if org.is_sandbox { "Developer Edition" } else { "Enterprise Edition" })),
                ("InstanceName", json!(org.instance_name)), ("NamespacePrefix", Value::Null), ("PrimaryContact", Value::Null),
                ("Country", json!("US")), ("LanguageLocaleKey", json!("en_US")), ("TimeZoneSidKey", json!("America/Los_Angeles")),
                ("DefaultLocaleSidKey", json!("en_US")), ("TrialExpirationDate", Value::Null), ("CreatedDate", json!(org.created)),
                ("LastModifiedDate", json!(org.created)), ("SystemModstamp", json!(org.created))] { r.insert(k.into(), v); }
            vec![r]
        }
        "User" => org.users.iter().map(|u| {
            let mut r = Map::new();
            for (k, v) in [("Id", json!(u.id)), ("Username", json!(u.username)), ("FirstName", json!(u.first_name)),
                ("LastName", json!(u.last_name)), ("Name", json!(u.name())), ("Email", json!(u.email)),
                ("Alias", json!(u.last_name.chars().take(8).collect::<String>().to_lowercase())), ("IsActive", json!(true)),
                ("UserType", json!("Standard")), ("TimeZoneSidKey", json!("America/Los_Angeles")), ("LanguageLocaleKey", json!("en_US")),
                ("LocaleSidKey", json!("en_US")), ("CompanyName", json!(org.name)), ("CreatedDate", json!(org.created)),
                ("LastModifiedDate", json!(org.created)), ("SystemModstamp", json!(org.created))] { r.insert(k.into(), v); }
            r
        }).collect(),
        _ => org.data.read().get(&obj.name).map(|t| t.records.values().cloned().collect()).unwrap_or_default(),
    }
}

fn lookup(org: &Org, target: &ObjectDef, id: &str) -> Option<Record> {
    match target.name.as_str() {
        "Organization" | "User" => rows(org, target).into_iter().find(|r| r.get("Id").and_then(|v| v.as_str()) == Some(id)),
        _ => org.data.read().get(&target.name).and_then(|t| t.records.get(id).cloned()),
    }
}

/// A parent-relationship path used in WHERE or ORDER BY (Account.Name): canonical
/// "Rel.Field" key, the foreign-key field, the parent object and the parent field.
type ParentRef = (String, String, std::sync::Arc<ObjectDef>, String);

fn resolve_parent(org: &Org, obj: &ObjectDef, f: &At<String>, q: &str) -> Result<(ParentRef, FieldDef), ApiError> {
    let (rel, pf) = f.v.split_once('.').ok_or_else(|| no_such_column(q, f, &obj.name))?;
    let rf = obj.relationship(rel).ok_or_else(|| no_such_column(q, f, &obj.name))?;
    let target = rf.reference_to.first().and_then(|t| org.object(t)).cloned().ok_or_else(|| no_such_column(q, f, &obj.name))?;
    let tf = target.field(pf).ok_or_else(|| no_such_column(q, f, &obj.name))?.clone();
    Ok(((format!("{}.{}", rf.relationship_name.clone().unwrap_or_default(), tf.name), rf.name.clone(), target, tf.name.clone()), tf))
}

/// Resolve a field named in WHERE or ORDER BY to its describe, rewriting the name to its
/// key in the row (parent fields are looked up once per row, under "Rel.Field").
fn resolve_field(org: &Org, obj: &ObjectDef, f: &mut At<String>, q: &str, parents: &mut Vec<ParentRef>) -> Result<FieldDef, ApiError> {
    if f.v.contains('.') {
        let (p, def) = resolve_parent(org, obj, f, q)?;
        f.v = p.0.clone();
        if !parents.iter().any(|x| x.0 == p.0) { parents.push(p); }
        return Ok(def);
    }
    let def = obj.field(&f.v).ok_or_else(|| no_such_column(q, f, &obj.name))?.clone();
    f.v = def.name.clone();
    Ok(def)
}

/// Resolve and type-check every comparison, as Salesforce does before reading a row.
fn check_cond(c: &mut Cond, org: &Org, obj: &ObjectDef, q: &str, parents: &mut Vec<ParentRef>) -> Result<(), ApiError> {
    match c {
        Cond::And(a, b) | Cond::Or(a, b) => { check_cond(a, org, obj, q, parents)?; check_cond(b, org, obj, q, parents) }
        Cond::Not(a) => check_cond(a, org, obj, q, parents),
        Cond::Cmp(f, _, lit) => {
            let def = resolve_field(org, obj, f, q, parents)?;
            typecheck::check_filterable(&def).map_err(|m| misfit(q, f, m))?;
            lit.v = typecheck::check_literal(&def, &lit.v).map_err(|m| misfit(q, f, m))?;
            Ok(())
        }
        Cond::In(f, _, lits) => {
            let def = resolve_field(org, obj, f, q, parents)?;
            typecheck::check_filterable(&def).map_err(|m| misfit(q, f, m))?;
            for lit in lits.iter_mut() { lit.v = typecheck::check_literal(&def, &lit.v).map_err(|m| misfit(q, f, m))?; }
            Ok(())
        }
        Cond::Like(f, _, _) => {
            let def = resolve_field(org, obj, f, q, parents)?;
            typecheck::check_filterable(&def).map_err(|m| misfit(q, f, m))?;
            typecheck::check_like(&def).map_err(|m| misfit(q, f, m))
        }
    }
}

#[derive(Debug)]
pub struct QueryResult {
    pub total: usize,
    pub records: Vec<Value>,
}

/// Which records a query sees: `query` the live ones, `queryAll` also those in the
/// recycle bin (`IsDeleted = true`) until they are purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope { Live, WithDeleted }

/// Run a query for an org. `version` is used in `attributes.url`.
pub fn execute(org: &Org, q_text: &str, version: &str, scope: Scope) -> Result<QueryResult, ApiError> {
    let mut q = parse(q_text)?;
    let obj = org.object(&q.object.v).cloned().ok_or_else(|| positioned("INVALID_TYPE", q_text, q.object.pos, format!(
        "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.object.v)))?;
    // Resolve select list: plain fields and one-level parent relationship fields (Account.Name).
    enum Sel { Plain(String), Parent(String, String, std::sync::Arc<ObjectDef>, String) }
    let mut sels = vec![];
    let mut selected: Vec<String> = vec![];
    for f in &q.fields {
        let sel = if let Some((rel, pf)) = f.v.split_once('.') {
            let rf = obj.relationship(rel).ok_or_else(|| no_such_column(q_text, f, &obj.name))?;
            let target = rf.reference_to.first().and_then(|t| org.object(t)).cloned().ok_or_else(|| no_such_column(q_text, f, &obj.name))?;
            let tf = target.field(pf).ok_or_else(|| no_such_column(q_text, f, &obj.name))?.name.clone();
            Sel::Parent(rf.relationship_name.clone().unwrap(), rf.name.clone(), target, tf)
        } else {
            Sel::Plain(obj.field(&f.v).ok_or_else(|| no_such_column(q_text, f, &obj.name))?.name.clone())
        };
        let key = match &sel { Sel::Plain(n) => n.clone(), Sel::Parent(rel, _, _, tf) => format!("{rel}.{tf}") };
        // As the SOQL reference shows it (SELECT, FIELDS()): the bare message, no caret.
        if selected.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
            return Err(ApiError::new(400, "INVALID_FIELD", format!("duplicate field selected: {key}")));
        }
        selected.push(key);
        sels.push(sel);
    }
    let mut parents: Vec<ParentRef> = vec![];
    if let Some(c) = q.cond.as_mut() { check_cond(c, org, &obj, q_text, &mut parents)?; }
    for (f, _, _) in q.order.iter_mut() {
        let def = resolve_field(org, &obj, f, q_text, &mut parents)?;
        typecheck::check_sortable(&def).map_err(|m| misfit(q_text, f, m))?;
    }
    let mut rows: Vec<Record> = rows(org, &obj);
    if scope == Scope::WithDeleted {
        if let Some(t) = org.data.read().get(&obj.name) { rows.extend(t.recycle_bin.values().cloned()); }
    }
    // Parent fields used in WHERE or ORDER BY are copied into the row under "Rel.Field".
    if !parents.is_empty() {
        for r in rows.iter_mut() {
            for (key, fk, target, tf) in &parents {
                let v = r.get(fk).and_then(|v| v.as_str()).and_then(|pid| lookup(org, target, pid)).and_then(|p| p.get(tf).cloned()).unwrap_or(Value::Null);
                r.insert(key.clone(), v);
            }
        }
    }
    if let Some(c) = &q.cond { rows.retain(|r| eval(c, r)); }
    if !q.order.is_empty() {
        rows.sort_by(|a, b| {
            for (f, desc, nulls_last) in &q.order {
                let (x, y) = (a.get(&f.v).unwrap_or(&Value::Null), b.get(&f.v).unwrap_or(&Value::Null));
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => if *nulls_last { Ordering::Greater } else { Ordering::Less },
                    (false, true) => if *nulls_last { Ordering::Less } else { Ordering::Greater },
                    _ => {
                        let o = match (x, y) {
                            (Value::Number(m), Value::Number(n)) => m.as_f64().partial_cmp(&n.as_f64()).unwrap_or(Ordering::Equal),
                            (Value::String(s), Value::String(t)) => s.to_lowercase().cmp(&t.to_lowercase()),
                            (Value::Bool(s), Value::Bool(t)) => s.cmp(t),
                            _ => Ordering::Equal,
                        };
                        if *desc { o.reverse() } else { o }
                    }
                };
                if o != Ordering::Equal { return o; }
            }
            Ordering::Equal
        });
    }
    let rows: Vec<Record> = rows.into_iter().skip(q.offset).take(q.limit.unwrap_or(usize::MAX)).collect();
    if q.count && sels.is_empty() {
        if q.count_expr {
            return Ok(QueryResult { total: 1, records: vec![json!({"attributes": {"type": "AggregateResult"}, "expr0": rows.len()})] });
        }
        return Ok(QueryResult { total: rows.len(), records: vec![] });
    }
    let recs: Vec<Value> = rows.iter().map(|r| {
        let mut m = Map::with_capacity(sels.len() + 1);
        let id = r.get("Id").and_then(|v| v.as_str()).unwrap_or("");
        m.insert("attributes".into(), json!({"type": obj.name, "url": format!("/services/data/v{version}/sobjects/{}/{id}", obj.name)}));
        for s in &sels {
            match s {
                Sel::Plain(f) => { m.insert(f.clone(), r.get(f).cloned().unwrap_or(Value::Null)); }
                Sel::Parent(rel, fk, target, tf) => {
                    let parent = r.get(fk).and_then(|v| v.as_str()).and_then(|pid| lookup(org, target, pid));
                    let entry = m.entry(rel.clone()).or_insert(Value::Null);
                    if let Some(p) = parent {
                        if entry.is_null() {
                            let pid = p.get("Id").and_then(|v| v.as_str()).unwrap_or("");
                            *entry = json!({"attributes": {"type": target.name, "url": format!("/services/data/v{version}/sobjects/{}/{pid}", target.name)}});
                        }
                        entry.as_object_mut().unwrap().insert(tf.clone(), p.get(tf).cloned().unwrap_or(Value::Null));
                    }
                }
            }
        }
        Value::Object(m)
    }).collect();
    Ok(QueryResult { total: recs.len(), records: recs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::filter::like;
    #[test]
    fn parses() {
        let q = parse("SELECT Id, Name FROM Account WHERE (Name = 'a\\'b' OR Industry != null) AND NOT Rating IN ('Hot','Cold') ORDER BY Name DESC NULLS LAST, Id LIMIT 10 OFFSET 2").unwrap();
        assert_eq!(q.fields.iter().map(|f| f.v.as_str()).collect::<Vec<_>>(), vec!["Id", "Name"]);
        assert_eq!(q.fields.iter().map(|f| f.pos).collect::<Vec<_>>(), vec![7, 11]);
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset, 2);
        assert!(parse("SELECT COUNT() FROM Contact").unwrap().count);
        assert!(parse("SELECT FROM").is_err());
        assert!(like("Hello World", "hello%"));
        let q = parse("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 AND CloseDate < TODAY").unwrap();
        assert!(matches!(q.cond, Some(Cond::And(_, _))));
        let mut r = Map::new();
        r.insert("CreatedDate".into(), json!(format!("{}T10:00:00.000+0000", date_literal::iso(today()))));
        assert!(eval(&parse("SELECT Id FROM A WHERE CreatedDate = TODAY").unwrap().cond.unwrap(), &r));
        assert!(eval(&parse("SELECT Id FROM A WHERE CreatedDate = LAST_N_DAYS:7").unwrap().cond.unwrap(), &r));
        assert!(!eval(&parse("SELECT Id FROM A WHERE CreatedDate < TODAY").unwrap().cond.unwrap(), &r));
        assert!(eval(&parse("SELECT Id FROM A WHERE CreatedDate > YESTERDAY").unwrap().cond.unwrap(), &r));
        assert!(!like("Hello", "h_x%"));
    }

    fn demo_org() -> std::sync::Arc<Org> {
        let app = crate::state::App::new(crate::config::EmulatorConfig::default_demo()).unwrap();
        app.orgs[0].clone()
    }

    /// The body Salesforce answers when it finds an error at column `col` of a one-line query.
    fn caret(q: &str, col: usize, msg: &str) -> String {
        format!("\n{q}\n{}^\nERROR at Row:1:Column:{col}\n{msg}", " ".repeat(col - 1))
    }

    #[test]
    fn queries_are_type_checked_as_salesforce_checks_them() {
        let org = demo_org();
        let ok = |q: &str| (q.to_string(), None::<(&str, String)>);
        let err = |q: &str, code: &'static str, msg: String| (q.to_string(), Some((code, msg)));
        let q1 = "SELECT Name FROM Account WHERE Name = 5";
        let q2 = "SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-31'";
        let q3 = "SELECT Id FROM Account WHERE CreatedDate > 2024-01-31";
        let q4 = "SELECT Id FROM Account WHERE IsDeleted = 'false'";
        let q5 = "SELECT Id, Name, Name FROM Account";
        let q6 = "SELECT Id FROM Account WHERE Description = 'x'";
        let q7 = "SELECT Id FROM Account ORDER BY Description";
        let q8 = "SELECT Id FROM Account WHERE Id IN ('001000000000001AAA', 5)";
        let q9 = "SELECT Id FROM Account WHERE Description LIKE '%x%'";
        let q10 = "SELECT Id FROM Nope";
        let q11 = "SELECT Id, Nope FROM Account";
        let q12 = "SELECT Id, Account.Name, Account.name FROM Contact";
        let q13 = "SELECT Id FROM Account WHERE NumberOfEmployees = '12'";
        let q14 = "SELECT Id FROM Account WHERE Id = 'abc'";
        let q15 = "SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'";
        let q16 = "SELECT Id FROM Opportunity WHERE CloseDate IN (2024-01-31, '2024-02-01')";
        let q17 = "SELECT Id FROM Account WHERE Id NOT IN ('001000000000001AAA', 'nope')";
        let q18 = "SELECT Id FROM Account WHERE IsDeleted IN (true, 'false')";
        let cases = vec![
            ok("SELECT Id FROM Account WHERE Name = 'Acme' AND IsDeleted = false AND NumberOfEmployees > 10"),
            ok("SELECT Id FROM Account WHERE CreatedDate > 2024-01-31T00:00:00Z AND CreatedDate < 2024-02-01T00:00:00+01:00"),
            ok("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 AND LastModifiedDate < TODAY"),
            ok("SELECT Id FROM Opportunity WHERE CloseDate = 2024-01-31 OR CloseDate = TOMORROW OR CloseDate = null"),
            ok("SELECT Id FROM Case WHERE Id IN ('500000000000001AAA', '500000000000002')"),
            ok("SELECT Id FROM Account WHERE Name != null AND Industry IN ('Banking', null) AND Name LIKE 'Ac%'"),
            ok("SELECT Id, Description FROM Account WHERE BillingStreet = '1 Main St' ORDER BY BillingStreet"),
            ok("SELECT Id, Account.Name FROM Contact WHERE Account.Name = 'Acme' ORDER BY Account.Name DESC, LastName"),
            ok("SELECT Id FROM Contact WHERE AccountId = '' OR AccountId = null"),
            err(q1, "INVALID_FIELD", caret(q1, 32, "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes")),
            err(q2, "INVALID_FIELD", caret(q2, 34, "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes")),
            err(q3, "INVALID_FIELD", caret(q3, 30, "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes")),
            err(q4, "INVALID_FIELD", caret(q4, 30, "value of filter criterion for field 'IsDeleted' must be of type boolean and should not be enclosed in quotes")),
            err(q13, "INVALID_FIELD", caret(q13, 30, "value of filter criterion for field 'NumberOfEmployees' must be of type integer and should not be enclosed in quotes")),
            err(q14, "INVALID_QUERY_FILTER_OPERATOR", caret(q14, 30, "invalid ID field: abc")),
            err(q5, "INVALID_FIELD", "duplicate field selected: Name".into()),
            err(q12, "INVALID_FIELD", "duplicate field selected: Account.Name".into()),
            err(q6, "INVALID_FIELD", caret(q6, 30, "field 'Description' can not be filtered in a query call")),
            err(q9, "INVALID_FIELD", caret(q9, 30, "field 'Description' can not be filtered in a query call")),
            err(q7, "INVALID_FIELD", caret(q7, 33, "field 'Description' can not be sorted in a query call")),
            err(q8, "INVALID_FIELD", caret(q8, 30, "value of filter criterion for field 'Id' must be of type id and should be enclosed in quotes")),
            err(q15, "INVALID_QUERY_FILTER_OPERATOR", caret(q15, 30, "invalid operator on int field")),
            ok("SELECT Id FROM Opportunity WHERE CloseDate IN (2024-01-31, TODAY) AND CloseDate NOT IN (THIS_YEAR)"),
            ok("SELECT Id FROM Account WHERE CreatedDate >= LAST_MONTH AND CreatedDate < NEXT_WEEK AND CreatedDate != LAST_YEAR"),
            ok("SELECT Id FROM Account WHERE NumberOfEmployees IN (1, 2.5) AND Rating NOT IN ('Hot', null)"),
            err(q16, "INVALID_FIELD", caret(q16, 34, "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes")),
            err(q17, "INVALID_QUERY_FILTER_OPERATOR", caret(q17, 30, "invalid ID field: nope")),
            err(q18, "INVALID_FIELD", caret(q18, 30, "value of filter criterion for field 'IsDeleted' must be of type boolean and should not be enclosed in quotes")),
            err(q10, "INVALID_TYPE", caret(q10, 16, "sObject type 'Nope' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.")),
            err(q11, "INVALID_FIELD", caret(q11, 12, "No such column 'Nope' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.")),
        ];
        for (q, want) in cases {
            let got = execute(&org, &q, "59.0", Scope::Live).map(|_| ()).map_err(|e| (e.code, e.message));
            match want {
                None => assert!(got.is_ok(), "{q} should run, got {got:?}"),
                Some((code, msg)) => assert_eq!(got, Err((code, msg)), "{q}"),
            }
        }
    }

    #[test]
    fn a_caret_on_a_later_line_counts_rows_and_columns_from_that_line() {
        let q = "SELECT Id\nFROM Account\nWHERE Name = 5";
        let e = execute(&demo_org(), q, "59.0", Scope::Live).unwrap_err();
        assert!(e.message.ends_with("^\nERROR at Row:3:Column:7\nvalue of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"), "{}", e.message);
    }

    #[test]
    fn deleted_records_are_seen_by_query_all_only() {
        let org = demo_org();
        let account = org.object("Account").unwrap().clone();
        let mut body = Map::new();
        body.insert("Name".into(), json!("Gone Co"));
        let id = crate::records::create(&org, &account, &org.users[0].id, &body).unwrap().id;
        crate::records::delete(&org, &account, &id).unwrap();
        let q = "SELECT Id, IsDeleted FROM Account WHERE Name = 'Gone Co'";
        assert_eq!(execute(&org, q, "59.0", Scope::Live).unwrap().total, 0);
        let all = execute(&org, q, "59.0", Scope::WithDeleted).unwrap();
        assert_eq!(all.records.len(), 1);
        assert_eq!((&all.records[0]["Id"], &all.records[0]["IsDeleted"]), (&json!(id), &json!(true)));
        let live_only = "SELECT Id FROM Account WHERE Name = 'Gone Co' AND IsDeleted = false";
        assert_eq!(execute(&org, live_only, "59.0", Scope::WithDeleted).unwrap().total, 0);
    }

    #[test]
    fn order_by_a_parent_field_sorts_by_the_parents_value() {
        let org = demo_org();
        let (account, contact) = (org.object("Account").unwrap().clone(), org.object("Contact").unwrap().clone());
        let user = org.users[0].id.clone();
        for (company, person) in [("Zeta", "A"), ("Alpha", "B"), ("Mid", "C")] {
            let mut a = Map::new();
            a.insert("Name".into(), json!(company));
            let aid = crate::records::create(&org, &account, &user, &a).unwrap().id;
            let mut c = Map::new();
            c.insert("LastName".into(), json!(person));
            c.insert("AccountId".into(), json!(aid));
            crate::records::create(&org, &contact, &user, &c).unwrap();
        }
        let res = execute(&org, "SELECT LastName FROM Contact ORDER BY Account.Name", "59.0", Scope::Live).unwrap();
        let names: Vec<&str> = res.records.iter().map(|r| r["LastName"].as_str().unwrap()).collect();
        assert_eq!(names, ["B", "C", "A"]);
        assert!(!res.records[0].as_object().unwrap().contains_key("Account.Name"), "the sort key is not returned");
    }
}
