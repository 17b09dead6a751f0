//! Which WHERE literal fits which field, and which fields may be filtered or
//! sorted at all: the checks Salesforce makes on a SOQL query before it reads a
//! row. Plain functions on a field's describe and a literal; `soql::execute`
//! turns a [`Misfit`] into the error body, with the caret under the field the
//! filter or sort names (as Salesforce answers `AsyncApexJobId = '7075A0000BiWZjxx'`:
//! "ERROR at Row:1:Column:150 invalid ID field: …", column 150 being the field).

use super::Lit;
use crate::schema::FieldDef;

/// How a field's values are written in a filter, from its describe `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind { Text, Id, Boolean, Integer, Double, Date, DateTime, /// address, location, base64…: not checked
    Other }

impl FilterKind {
    pub fn of(f: &FieldDef) -> Self {
        match f.ftype.as_str() {
            "string" | "textarea" | "email" | "phone" | "url" | "picklist" | "multipicklist" | "combobox" | "encryptedstring" => FilterKind::Text,
            "id" | "reference" => FilterKind::Id,
            "boolean" => FilterKind::Boolean,
            "int" => FilterKind::Integer,
            "double" | "currency" | "percent" => FilterKind::Double,
            "date" => FilterKind::Date,
            "datetime" => FilterKind::DateTime,
            _ => FilterKind::Other,
        }
    }
    /// The type as Salesforce's "value of filter criterion" message names it (the SOAP type).
    fn soap_name(self) -> &'static str {
        match self {
            FilterKind::Text | FilterKind::Other => "string",
            FilterKind::Id => "id",
            FilterKind::Boolean => "boolean",
            FilterKind::Integer => "integer",
            FilterKind::Double => "double",
            FilterKind::Date => "date",
            FilterKind::DateTime => "dateTime",
        }
    }
    fn quoted(self) -> bool { matches!(self, FilterKind::Text | FilterKind::Id | FilterKind::Other) }
}

/// Why a query may not filter or sort as written. `Display` is Salesforce's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misfit {
    #[error("value of filter criterion for field '{field}' must be of type {type_name} and should {}be enclosed in quotes", if *quoted { "" } else { "not " })]
    WrongType { field: String, type_name: &'static str, quoted: bool },
    #[error("invalid ID field: {0}")]
    InvalidId(String),
    #[error("invalid operator on {0} field")]
    InvalidOperator(String),
    #[error("field '{0}' can not be filtered in a query call")]
    NotFilterable(String),
    #[error("field '{0}' can not be sorted in a query call")]
    NotSortable(String),
}

impl Misfit {
    pub fn error_code(&self) -> &'static str {
        match self {
            Misfit::InvalidId(_) | Misfit::InvalidOperator(_) => "INVALID_QUERY_FILTER_OPERATOR",
            Misfit::WrongType { .. } | Misfit::NotFilterable(_) | Misfit::NotSortable(_) => "INVALID_FIELD",
        }
    }
}

/// A long text area (or rich text) holds up to 131,072 characters and cannot be
/// filtered or sorted on; a textarea of 255 or fewer (BillingStreet) can.
pub fn is_long_text_area(f: &FieldDef) -> bool {
    f.ftype == "textarea" && (f.length > 255 || f.extra_type_info.as_deref() == Some("richtextarea"))
}

pub fn check_filterable(f: &FieldDef) -> Result<(), Misfit> {
    if f.filterable && !is_long_text_area(f) { Ok(()) } else { Err(Misfit::NotFilterable(f.name.clone())) }
}

pub fn check_sortable(f: &FieldDef) -> Result<(), Misfit> {
    if f.sortable && !is_long_text_area(f) { Ok(()) } else { Err(Misfit::NotSortable(f.name.clone())) }
}

/// `LIKE` compares text only (a multi-select picklist takes INCLUDES instead).
pub fn check_like(f: &FieldDef) -> Result<(), Misfit> {
    if FilterKind::of(f) == FilterKind::Text && f.ftype != "multipicklist" { Ok(()) } else { Err(Misfit::InvalidOperator(f.ftype.clone())) }
}

/// YYYY-MM-DD with a real month and day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || !b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() }) { return false; }
    let month = s[5..7].parse::<u8>().ok().and_then(|m| time::Month::try_from(m).ok());
    match (s[..4].parse::<i32>(), month, s[8..].parse::<u8>()) {
        (Ok(y), Some(m), Ok(d)) => time::Date::from_calendar_date(y, m, d).is_ok(),
        _ => false,
    }
}

/// YYYY-MM-DDThh:mm:ss with Z or ±hh:mm (what SOQL accepts for a dateTime).
fn is_datetime(s: &str) -> bool {
    s.len() > 19 && s.as_bytes()[10] == b'T' && is_date(&s[..10]) && crate::records::parse_datetime(s).is_some()
}

/// Check one literal (of a comparison or an `IN` list) against the field it is compared
/// with, returning it in the form rows are compared with (an Id in its 18-character form).
pub fn check_literal(f: &FieldDef, lit: &Lit) -> Result<Lit, Misfit> {
    let kind = FilterKind::of(f);
    let wrong = || Misfit::WrongType { field: f.name.clone(), type_name: kind.soap_name(), quoted: kind.quoted() };
    // `null` fits every type (`Name = null`, `CloseDate != null`).
    if matches!(lit, Lit::Null) { return Ok(Lit::Null); }
    match (kind, lit) {
        (FilterKind::Other, _) => Ok(lit.clone()),
        (FilterKind::Text, Lit::Str(_)) => Ok(lit.clone()),
        // Salesforce takes an id 15 or 18 characters long; '' matches no record.
        (FilterKind::Id, Lit::Str(s)) if s.is_empty() => Ok(lit.clone()),
        (FilterKind::Id, Lit::Str(s)) => crate::ids::parse(s).map(Lit::Str).ok_or_else(|| Misfit::InvalidId(s.clone())),
        (FilterKind::Boolean, Lit::Bool(_)) => Ok(lit.clone()),
        (FilterKind::Integer | FilterKind::Double, Lit::Num(_)) => Ok(lit.clone()),
        (FilterKind::Date, Lit::Date(s)) if is_date(s) => Ok(lit.clone()),
        (FilterKind::DateTime, Lit::Date(s)) if is_datetime(s) => Ok(lit.clone()),
        (FilterKind::Date | FilterKind::DateTime, Lit::Range(..)) => Ok(lit.clone()),
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(obj: &str, name: &str) -> FieldDef {
        let objects = crate::schema::standard_objects();
        let o = objects.iter().find(|o| o.name == obj).unwrap();
        o.field(name).unwrap().clone()
    }
    fn str(s: &str) -> Lit { Lit::Str(s.into()) }
    fn date(s: &str) -> Lit { Lit::Date(s.into()) }

    #[test]
    fn each_field_type_takes_only_its_own_literals() {
        let wrong = |f: &str, t: &'static str, quoted: bool| Err(Misfit::WrongType { field: f.into(), type_name: t, quoted });
        let cases: Vec<(&str, &str, Lit, Result<(), Misfit>)> = vec![
            ("Account", "Name", str("Acme"), Ok(())),
            ("Account", "Name", Lit::Num(5.0), wrong("Name", "string", true)),
            ("Account", "Name", date("2024-01-01"), wrong("Name", "string", true)),
            ("Account", "Name", Lit::Null, Ok(())),
            ("Account", "Industry", str("Banking"), Ok(())),
            ("Account", "IsDeleted", Lit::Bool(false), Ok(())),
            ("Account", "IsDeleted", str("false"), wrong("IsDeleted", "boolean", false)),
            ("Account", "NumberOfEmployees", Lit::Num(12.0), Ok(())),
            ("Account", "NumberOfEmployees", str("12"), wrong("NumberOfEmployees", "integer", false)),
            ("Account", "AnnualRevenue", str("12"), wrong("AnnualRevenue", "double", false)),
            ("Opportunity", "CloseDate", date("2024-01-31"), Ok(())),
            ("Opportunity", "CloseDate", str("2024-01-31"), wrong("CloseDate", "date", false)),
            ("Opportunity", "CloseDate", date("2024-02-30"), wrong("CloseDate", "date", false)),
            ("Opportunity", "CloseDate", date("2024-01-31T00:00:00Z"), wrong("CloseDate", "date", false)),
            ("Opportunity", "CloseDate", Lit::Range("2024-01-01".into(), "2024-01-02".into()), Ok(())),
            ("Account", "CreatedDate", date("2024-01-31T10:00:00Z"), Ok(())),
            ("Account", "CreatedDate", date("2024-01-31T10:00:00+02:00"), Ok(())),
            ("Account", "CreatedDate", date("2024-01-31T10:00:00-05:30"), Ok(())),
            ("Account", "CreatedDate", date("2024-01-31"), wrong("CreatedDate", "dateTime", false)),
            ("Account", "CreatedDate", str("2024-01-31T10:00:00Z"), wrong("CreatedDate", "dateTime", false)),
            ("Account", "CreatedDate", Lit::Range("2024-01-01".into(), "2024-01-02".into()), Ok(())),
            ("Account", "Id", str("001000000000001AAA"), Ok(())),
            ("Account", "Id", str("001000000000001"), Ok(())),
            ("Account", "Id", str("abc"), Err(Misfit::InvalidId("abc".into()))),
            ("Account", "Id", Lit::Num(5.0), wrong("Id", "id", true)),
            ("Contact", "AccountId", str("not-an-id"), Err(Misfit::InvalidId("not-an-id".into()))),
        ];
        for (obj, name, lit, want) in cases {
            let got = check_literal(&field(obj, name), &lit).map(|_| ());
            assert_eq!(got, want, "{obj}.{name} against {lit:?}");
        }
    }

    #[test]
    fn a_15_character_id_is_compared_in_its_18_character_form() {
        let Lit::Str(id) = check_literal(&field("Account", "Id"), &str("001000000000001")).unwrap() else { panic!() };
        assert_eq!(id, "001000000000001AAA");
    }

    #[test]
    fn long_text_areas_cannot_be_filtered_or_sorted_but_short_ones_can() {
        for (obj, name, filterable, sortable) in [
            ("Account", "Description", false, false),
            ("Case", "Comments", false, false),
            ("Account", "BillingStreet", true, true),
            ("Account", "Name", true, true),
            ("Opportunity", "HasOpenActivity", false, false),
        ] {
            let f = field(obj, name);
            assert_eq!(check_filterable(&f).is_ok(), filterable, "{obj}.{name} filterable");
            assert_eq!(check_sortable(&f).is_ok(), sortable, "{obj}.{name} sortable");
        }
        assert_eq!(check_filterable(&field("Account", "Description")).unwrap_err().to_string(), "field 'Description' can not be filtered in a query call");
        assert_eq!(check_sortable(&field("Account", "Description")).unwrap_err().to_string(), "field 'Description' can not be sorted in a query call");
    }

    #[test]
    fn like_is_for_text_fields_only() {
        assert!(check_like(&field("Account", "Name")).is_ok());
        assert!(check_like(&field("Account", "Phone")).is_ok());
        assert_eq!(check_like(&field("Account", "Id")), Err(Misfit::InvalidOperator("id".into())));
        assert_eq!(check_like(&field("Account", "NumberOfEmployees")).unwrap_err().to_string(), "invalid operator on int field");
    }

    #[test]
    fn messages_are_salesforces() {
        let m = check_literal(&field("Account", "Name"), &Lit::Num(5.0)).unwrap_err();
        assert_eq!(m.to_string(), "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes");
        assert_eq!(m.error_code(), "INVALID_FIELD");
        let m = check_literal(&field("Opportunity", "CloseDate"), &str("2024-01-31")).unwrap_err();
        assert_eq!(m.to_string(), "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes");
        let m = check_literal(&field("Account", "Id"), &str("abc")).unwrap_err();
        assert_eq!((m.to_string().as_str(), m.error_code()), ("invalid ID field: abc", "INVALID_QUERY_FILTER_OPERATOR"));
    }
}
