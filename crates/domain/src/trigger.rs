//! Trigger and Email Survey: what a trigger says (which notifications it
//! takes, who gets the invitation, what the mail says, when it goes), and the
//! rules that turn one Salesforce notification into an invitation or into a
//! logged reason why not. Nothing here does I/O: the notified fields, the
//! looked-up recipient and the recipient's history come in as values.

use crate::{EmbeddedFieldName, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The embedded data field that always holds the id of the notified record.
pub const RECORD_ID_FIELD: &str = "record_id";

/// The placeholders a subject or body may use besides `{{FieldName}}`.
pub const SURVEY_LINK: &str = "survey_link";
pub const RECIPIENT_NAME: &str = "recipient_name";

/// A Salesforce field's API name as a trigger names it: letters, digits and
/// underscores, starting with a letter (custom fields end in `__c`).
fn field_name(raw: &str, what: &str) -> Result<String, Invalid> {
    let raw = raw.trim();
    let ok = raw.len() <= 80
        && raw.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(raw.to_string())
    } else {
        Err(Invalid::new(format!("{what} \"{raw}\" is not a Salesforce field name: use its API name, such as SuppliedEmail or Contact_Email__c.")))
    }
}

/// Where the recipient's address comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    /// A notified field holds the address (a Case's `SuppliedEmail`); an
    /// optional notified field holds the name.
    Field { email: String, name: Option<String> },
    /// A notified lookup field (a Case's `ContactId`) names a Contact whose
    /// `Email` and `Name` Insight reads through the owner's link.
    ContactLookup { field: String },
}

impl Recipient {
    /// The notified fields the outbound message must send for this.
    pub fn needed_fields(&self) -> Vec<&str> {
        match self {
            Recipient::Field { email, name } => std::iter::once(email.as_str()).chain(name.as_deref()).collect(),
            Recipient::ContactLookup { field } => vec![field.as_str()],
        }
    }

    /// The relationship a lookup is read through in SOQL, by Salesforce's
    /// naming: `ContactId` → `Contact`, `Buyer__c` → `Buyer__r`.
    pub fn relationship(&self) -> Option<String> {
        let Recipient::ContactLookup { field } = self else { return None };
        if let Some(stem) = field.strip_suffix("__c") {
            return Some(format!("{stem}__r"));
        }
        let stem = field.strip_suffix("Id").or_else(|| field.strip_suffix("ID")).unwrap_or(field);
        Some(stem.to_string())
    }
}

/// How a condition compares a notified field with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Equals,
    NotEquals,
}

/// One clause of a condition: `Status = Closed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    pub field: String,
    pub comparison: Comparison,
    pub value: String,
}

/// A condition on the notified fields: every clause must hold. Values
/// compare as Salesforce shows them, ignoring case (picklist values do).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Condition {
    pub clauses: Vec<Clause>,
}

impl Condition {
    /// Parses `Status = Closed AND Priority != Low`; empty text is no condition.
    pub fn parse(raw: &str) -> Result<Condition, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Condition::default());
        }
        let mut clauses = Vec::new();
        for part in split_and(raw) {
            let (field, comparison, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, Comparison::NotEquals, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, Comparison::Equals, v)
            } else {
                return Err(Invalid::new(format!("\"{}\" is not a condition: write Field = value or Field != value, joined with AND.", part.trim())));
            };
            let value = value.trim();
            let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value);
            clauses.push(Clause { field: field_name(field, "The condition's field")?, comparison, value: value.to_string() });
        }
        Ok(Condition { clauses })
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The first clause the notified fields do not meet, if any. A field
    /// the message does not carry, or carries as nil, is the empty value.
    pub fn unmet<'a>(&'a self, fields: &BTreeMap<String, Option<String>>) -> Option<&'a Clause> {
        self.clauses.iter().find(|c| {
            let actual = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(&c.field)).and_then(|(_, v)| v.as_deref()).unwrap_or("");
            let equal = actual.trim().eq_ignore_ascii_case(c.value.trim());
            match c.comparison {
                Comparison::Equals => !equal,
                Comparison::NotEquals => equal,
            }
        })
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" AND ")?;
            }
            write!(f, "{}", c)?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Clause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.comparison {
            Comparison::Equals => "=",
            Comparison::NotEquals => "!=",
        };
        write!(f, "{} {op} {}", self.field, self.value)
    }
}

/// Splits on the word AND (any case) outside quotes.
fn split_and(raw: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let lower = raw.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let (mut start, mut i, mut quoted) = (0, 0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b' ' if !quoted && lower[i..].starts_with(" and ") => {
                parts.push(&raw[start..i]);
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&raw[start..]);
    parts
}

/// The invitation mail: sender name, subject and body, with placeholders
/// `{{FieldName}}`, `{{recipient_name}}` and `{{survey_link}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailTemplate {
    pub sender_name: String,
    pub subject: String,
    pub body: String,
}

impl MailTemplate {
    pub const MAX_SUBJECT: usize = 200;
    pub const MAX_BODY: usize = 20_000;

    pub fn new(sender_name: &str, subject: &str, body: &str) -> Result<MailTemplate, Invalid> {
        let sender_name = sender_name.trim();
        let subject = subject.trim();
        if sender_name.is_empty() || sender_name.chars().count() > 100 || sender_name.chars().any(char::is_control) {
            return Err(Invalid::new("The sender name is required: up to 100 characters on one line."));
        }
        if subject.is_empty() || subject.chars().count() > Self::MAX_SUBJECT || subject.chars().any(char::is_control) {
            return Err(Invalid::new(format!("The subject is required: up to {} characters on one line.", Self::MAX_SUBJECT)));
        }
        if body.chars().count() > Self::MAX_BODY {
            return Err(Invalid::new(format!("The body can be at most {} characters.", Self::MAX_BODY)));
        }
        if !body.contains(&format!("{{{{{SURVEY_LINK}}}}}")) {
            return Err(Invalid::new("The body must contain {{survey_link}}, where the personal survey link goes."));
        }
        let template = MailTemplate { sender_name: sender_name.to_string(), subject: subject.to_string(), body: body.replace("\r\n", "\n") };
        for name in template.placeholders() {
            if name != SURVEY_LINK && name != RECIPIENT_NAME {
                field_name(&name, "The placeholder")?;
            }
        }
        Ok(template)
    }

    /// The names inside `{{…}}` in the subject and body.
    pub fn placeholders(&self) -> Vec<String> {
        let mut names = Vec::new();
        for text in [&self.subject, &self.body] {
            let mut rest = text.as_str();
            while let Some(start) = rest.find("{{") {
                let Some(end) = rest[start + 2..].find("}}") else { break };
                let name = rest[start + 2..start + 2 + end].trim().to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
                rest = &rest[start + 2 + end + 2..];
            }
        }
        names
    }

    /// Fills the placeholders: `escape` is applied to every value put in
    /// (HTML escaping for the HTML part, nothing for text), never to the
    /// template itself. An unknown field is the empty text.
    pub fn fill(text: &str, values: &BTreeMap<String, String>, escape: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(text.len() + 64);
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(end) = rest[start + 2..].find("}}") else { break };
            out.push_str(&rest[..start]);
            let name = rest[start + 2..start + 2 + end].trim();
            let value = values.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).unwrap_or("");
            out.push_str(&escape(value));
            rest = &rest[start + 2 + end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// When the invitation goes after the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delay {
    pub seconds: i64,
}

impl Delay {
    pub const NOW: Delay = Delay { seconds: 0 };
    /// Salesforce stops retrying after a day; a survey about an event a
    /// month old is no longer about the event.
    pub const MAX_SECONDS: i64 = 30 * 24 * 3600;

    /// `amount` of `unit` ("now", "minutes", "hours", "days").
    pub fn parse(amount: &str, unit: &str) -> Result<Delay, Invalid> {
        if unit == "now" {
            return Ok(Delay::NOW);
        }
        let per = match unit {
            "minutes" => 60,
            "hours" => 3600,
            "days" => 86_400,
            other => return Err(Invalid::new(format!("\"{other}\" is not a delay unit: choose now, minutes, hours or days."))),
        };
        let n: i64 = amount.trim().parse().map_err(|_| Invalid::new("The delay is a whole number of minutes, hours or days."))?;
        if n < 0 || n * per > Self::MAX_SECONDS {
            return Err(Invalid::new("The delay can be from 0 up to 30 days."));
        }
        Ok(Delay { seconds: n * per })
    }

    pub fn label(self) -> String {
        match self.seconds {
            0 => "right away".into(),
            s if s % 86_400 == 0 => plural(s / 86_400, "day"),
            s if s % 3600 == 0 => plural(s / 3600, "hour"),
            s => plural(s / 60, "minute"),
        }
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("after 1 {unit}")
    } else {
        format!("after {n} {unit}s")
    }
}

/// Everything a trigger says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRules {
    /// The notified object's API name (`Case`).
    pub object: String,
    pub recipient: Recipient,
    /// Notified fields kept as the response's embedded data, under their own
    /// names; the record id always is, as `record_id`.
    pub embedded: Vec<String>,
    pub mail: MailTemplate,
    pub delay: Delay,
    #[serde(default)]
    pub condition: Condition,
    /// One reminder to those who have not answered after this many days.
    #[serde(default)]
    pub reminder_after_days: Option<u32>,
    /// How long a personal link can be answered.
    #[serde(default = "default_link_days")]
    pub link_valid_days: u32,
    /// The survey's contact frequency rule, if any.
    #[serde(default)]
    pub frequency: Option<FrequencyRule>,
}

fn default_link_days() -> u32 {
    TriggerRules::DEFAULT_LINK_DAYS
}

impl TriggerRules {
    pub const DEFAULT_LINK_DAYS: u32 = 90;
    pub const MAX_EMBEDDED: usize = 20;

    #[allow(clippy::too_many_arguments)]
    /// Checks what a person typed; field names are checked as names here
    /// and against the org's describe by the caller.
    pub fn new(
        object: &str,
        recipient: Recipient,
        embedded: &[String],
        mail: MailTemplate,
        delay: Delay,
        condition: Condition,
        reminder_after_days: Option<u32>,
        link_valid_days: u32,
    ) -> Result<TriggerRules, Invalid> {
        let object = field_name(object, "The object")?;
        let recipient = match recipient {
            Recipient::Field { email, name } => Recipient::Field {
                email: field_name(&email, "The email field")?,
                name: name.filter(|n| !n.trim().is_empty()).map(|n| field_name(&n, "The name field")).transpose()?,
            },
            Recipient::ContactLookup { field } => Recipient::ContactLookup { field: field_name(&field, "The contact lookup field")? },
        };
        let mut fields: Vec<String> = Vec::new();
        for f in embedded.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
            let f = field_name(f, "The embedded data field")?;
            EmbeddedFieldName::parse(&f)?;
            if f.eq_ignore_ascii_case("Id") || f == RECORD_ID_FIELD {
                continue;
            }
            if !fields.iter().any(|g| g.eq_ignore_ascii_case(&f)) {
                fields.push(f);
            }
        }
        if fields.len() > Self::MAX_EMBEDDED {
            return Err(Invalid::new(format!("A trigger can keep at most {} notified fields as embedded data.", Self::MAX_EMBEDDED)));
        }
        if let Some(days) = reminder_after_days {
            if !(1..=30).contains(&days) {
                return Err(Invalid::new("A reminder goes 1 to 30 days after the invitation."));
            }
        }
        if !(1..=365).contains(&link_valid_days) {
            return Err(Invalid::new("A personal link can stay valid for 1 to 365 days."));
        }
        Ok(TriggerRules { object, recipient, embedded: fields, mail, delay, condition, reminder_after_days, link_valid_days, frequency: None })
    }

    /// The SOQL that reads the notified records as the org has them: the
    /// trigger's fields and, for a lookup recipient, the Contact's name and
    /// email through the relationship, in one query for the batch. `ids` must
    /// be parsed Salesforce ids (letters and digits only).
    pub fn confirmation_soql(&self, ids: &[&str]) -> String {
        let mut select: Vec<String> = vec!["Id".into()];
        select.extend(self.fields_to_send());
        if let Some(rel) = self.recipient.relationship() {
            select.push(format!("{rel}.Name"));
            select.push(format!("{rel}.Email"));
        }
        let list: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
        format!("SELECT {} FROM {} WHERE Id IN ({})", select.join(", "), self.object, list.join(", "))
    }

    /// One record of [`confirmation_soql`](Self::confirmation_soql)'s answer:
    /// the trigger's fields as the org holds them (named as the trigger names
    /// them) and, for a lookup recipient, the Contact it names.
    pub fn confirmed_fields(&self, row: &serde_json::Map<String, serde_json::Value>) -> (BTreeMap<String, Option<String>>, Option<Addressee>) {
        let get = |obj: &serde_json::Map<String, serde_json::Value>, name: &str| -> Option<String> {
            match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let fields: BTreeMap<String, Option<String>> = self.fields_to_send().into_iter().map(|f| (f.clone(), get(row, &f))).collect();
        let contact = self.recipient.relationship().and_then(|rel| {
            let parent = row.iter().find(|(k, _)| k.eq_ignore_ascii_case(&rel)).and_then(|(_, v)| v.as_object())?;
            let email = get(parent, "Email").filter(|e| !e.trim().is_empty())?;
            Some(Addressee { email, name: get(parent, "Name") })
        });
        (fields, contact)
    }

    /// The fields the outbound message must send, for the instructions:
    /// the recipient's, the condition's, the embedded data and the
    /// placeholders (Id is always sent).
    pub fn fields_to_send(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |f: &str| {
            if !f.eq_ignore_ascii_case("Id") && !out.iter().any(|g| g.eq_ignore_ascii_case(f)) {
                out.push(f.to_string());
            }
        };
        self.recipient.needed_fields().into_iter().for_each(&mut add);
        self.condition.clauses.iter().for_each(|c| add(&c.field));
        self.embedded.iter().for_each(|f| add(f));
        for p in self.mail.placeholders() {
            if p != SURVEY_LINK && p != RECIPIENT_NAME {
                add(&p);
            }
        }
        out
    }

    /// What does not fit the notified object as the org describes it: a
    /// field it does not have, or a recipient field of the wrong kind.
    pub fn problems_with(&self, schema: &crate::ObjectSchema) -> Vec<String> {
        use crate::mapping::FieldKind;
        let mut problems = Vec::new();
        for f in self.fields_to_send() {
            if schema.field(&f).is_none() {
                problems.push(format!("{} has no field {f}: use the API name of one of its fields", schema.label));
            }
        }
        match &self.recipient {
            Recipient::Field { email, .. } => {
                if let Some(field) = schema.field(email) {
                    if !matches!(field.kind, FieldKind::Email | FieldKind::Text) {
                        problems.push(format!("{email} is a {} field, not an email address", field.kind.label()));
                    }
                }
            }
            Recipient::ContactLookup { field } => {
                if let Some(f) = schema.field(field) {
                    if f.kind != FieldKind::Reference {
                        problems.push(format!("{field} is a {} field, not a lookup to a Contact", f.kind.label()));
                    }
                }
            }
        }
        problems
    }

    /// The embedded data names a response to this trigger carries, which
    /// the survey must declare.
    pub fn embedded_names(&self) -> Vec<String> {
        std::iter::once(RECORD_ID_FIELD.to_string()).chain(self.embedded.iter().cloned()).collect()
    }

    /// The embedded data of an invitation: the record id and the kept fields.
    pub fn embedded_of(&self, record_id: &str, fields: &BTreeMap<String, Option<String>>) -> BTreeMap<String, String> {
        let mut data = BTreeMap::new();
        data.insert(RECORD_ID_FIELD.to_string(), record_id.to_string());
        for name in &self.embedded {
            if let Some(Some(v)) = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
                data.insert(name.clone(), v.clone());
            }
        }
        data
    }
}

/// "At most `max` invitations per recipient every `days` days", for the
/// whole account or for one survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrequencyRule {
    pub max: u32,
    pub days: u32,
}

impl FrequencyRule {
    pub fn new(max: &str, days: &str) -> Result<FrequencyRule, Invalid> {
        let max: u32 = max.trim().parse().map_err(|_| Invalid::new("The number of invitations is a whole number from 1."))?;
        let days: u32 = days.trim().parse().map_err(|_| Invalid::new("The period is a whole number of days from 1."))?;
        if max == 0 || max > 1000 {
            return Err(Invalid::new("The number of invitations is from 1 to 1000."));
        }
        if days == 0 || days > 3650 {
            return Err(Invalid::new("The period is from 1 to 3650 days."));
        }
        Ok(FrequencyRule { max, days })
    }

    pub fn label(&self, scope: Scope) -> String {
        let inv = if self.max == 1 { "1 invitation".to_string() } else { format!("{} invitations", self.max) };
        let per = if self.days == 1 { "day".to_string() } else { format!("{} days", self.days) };
        let whose = match scope {
            Scope::Account => "per recipient across the account's surveys",
            Scope::Survey => "per recipient for this survey",
        };
        format!("at most {inv} every {per} {whose}")
    }

    pub fn window_ms(&self) -> i64 {
        self.days as i64 * 86_400_000
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account,
    Survey,
}

/// The recipient once known: from a notified field, or looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    pub email: String,
    pub name: Option<String>,
}

/// What Insight knows about one addressee when deciding.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub opted_out: bool,
    /// Invitations sent or scheduled to this address within each rule's
    /// window: for the account's rule and for the survey's.
    pub account_recent: u32,
    pub survey_recent: u32,
}

/// Why a notification leads to no invitation. Each is recorded in the
/// invitation log, in these words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoInvitation {
    #[error("the notification is about a {got}, and this trigger takes {expected} notifications")]
    OtherObject { got: String, expected: String },
    #[error("the record was deleted")]
    Deleted,
    #[error("the condition {0} is not met")]
    ConditionNotMet(String),
    #[error("the notification carries no email address in {0}")]
    NoEmail(String),
    #[error("\"{0}\" is not an email address")]
    BadEmail(String),
    #[error("the recipient unsubscribed from this account's surveys")]
    OptedOut,
    #[error("the record is not in the org: it was deleted since, or the message did not come from Salesforce")]
    NotInOrg,
    #[error("suppressed by the rule {0}")]
    Suppressed(String),
}

/// The first decision, before any lookup: does this notification concern
/// the trigger at all?
pub fn screen(rules: &TriggerRules, sobject_type: &str, record_id: Option<&str>, fields: &BTreeMap<String, Option<String>>) -> Result<(), NoInvitation> {
    if !sobject_type.eq_ignore_ascii_case(&rules.object) {
        return Err(NoInvitation::OtherObject { got: sobject_type.to_string(), expected: rules.object.clone() });
    }
    if record_id.is_none() && fields.is_empty() {
        return Err(NoInvitation::Deleted);
    }
    if let Some(clause) = rules.condition.unmet(fields) {
        return Err(NoInvitation::ConditionNotMet(clause.to_string()));
    }
    Ok(())
}

/// The addressee a notified-field recipient names, or why there is none.
pub fn addressee_from_fields(email_field: &str, name_field: Option<&str>, fields: &BTreeMap<String, Option<String>>) -> Result<Addressee, NoInvitation> {
    let get = |name: &str| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.clone()).filter(|v| !v.trim().is_empty());
    let email = get(email_field).ok_or_else(|| NoInvitation::NoEmail(email_field.to_string()))?;
    Ok(Addressee { email: email.trim().to_string(), name: name_field.and_then(get) })
}

/// The last decision, once the addressee and their history are known.
pub fn admit(addressee: &Addressee, history: &History, account_rule: Option<FrequencyRule>, survey_rule: Option<FrequencyRule>) -> Result<(), NoInvitation> {
    if crate::Email::parse(&addressee.email).is_err() {
        return Err(NoInvitation::BadEmail(addressee.email.clone()));
    }
    if history.opted_out {
        return Err(NoInvitation::OptedOut);
    }
    if let Some(rule) = survey_rule {
        if history.survey_recent >= rule.max {
            return Err(NoInvitation::Suppressed(rule.label(Scope::Survey)));
        }
    }
    if let Some(rule) = account_rule {
        if history.account_recent >= rule.max {
            return Err(NoInvitation::Suppressed(rule.label(Scope::Account)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect()
    }

    fn rules() -> TriggerRules {
        TriggerRules::new(
            "Case",
            Recipient::Field { email: "SuppliedEmail".into(), name: Some("SuppliedName".into()) },
            &["CaseNumber".into(), "Id".into()],
            MailTemplate::new("Acme Support", "About case {{CaseNumber}}", "Hi {{recipient_name}},\n{{survey_link}}").unwrap(),
            Delay::NOW,
            Condition::parse("Status = Closed").unwrap(),
            Some(3),
            90,
        )
        .unwrap()
    }

    #[test]
    fn the_org_is_asked_for_the_trigger_fields_and_the_contact_in_one_query() {
        let r = rules();
        assert_eq!(
            r.confirmation_soql(&["500000000000001AAA", "500000000000002AAA"]),
            "SELECT Id, SuppliedEmail, SuppliedName, Status, CaseNumber FROM Case WHERE Id IN ('500000000000001AAA', '500000000000002AAA')"
        );
        let mut lookup = r.clone();
        lookup.recipient = Recipient::ContactLookup { field: "ContactId".into() };
        assert!(lookup.confirmation_soql(&["500000000000001AAA"]).starts_with("SELECT Id, ContactId, Status, CaseNumber, Contact.Name, Contact.Email FROM Case"));
        assert_eq!(Recipient::ContactLookup { field: "Buyer__c".into() }.relationship().as_deref(), Some("Buyer__r"));
        assert_eq!(Recipient::Field { email: "Email".into(), name: None }.relationship(), None);

        // The org's answer, named as the trigger names its fields; typed values as text.
        let row: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"attributes":{"type":"Case"},"Id":"500000000000001AAA","ContactId":"003000000000001AAA","status":"Closed","CaseNumber":1001,
                "Contact":{"attributes":{"type":"Contact"},"Name":"Casey Customer","Email":"casey@customer.example"}}"#,
        )
        .unwrap();
        let (f, contact) = lookup.confirmed_fields(&row);
        assert_eq!(f.get("Status"), Some(&Some("Closed".to_string())));
        assert_eq!(f.get("CaseNumber"), Some(&Some("1001".to_string())));
        assert_eq!(contact, Some(Addressee { email: "casey@customer.example".into(), name: Some("Casey Customer".into()) }));
        let no_contact: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{"Id":"500000000000001AAA","ContactId":null,"Contact":null}"#).unwrap();
        assert_eq!(lookup.confirmed_fields(&no_contact).1, None);
    }

    #[test]
    fn conditions_parse_and_decide() {
        let c = Condition::parse("Status = 'Closed' and Priority != Low").unwrap();
        assert_eq!(c.to_string(), "Status = Closed AND Priority != Low");
        assert_eq!(c.unmet(&fields(&[("Status", Some("closed")), ("Priority", Some("High"))])), None);
        assert_eq!(c.unmet(&fields(&[("Status", Some("New")), ("Priority", Some("High"))])).unwrap().field, "Status");
        assert_eq!(c.unmet(&fields(&[("Status", Some("Closed")), ("Priority", Some("low"))])).unwrap().field, "Priority");
        // A field not sent is empty: it is not Closed, and it is not Low.
        assert_eq!(c.unmet(&fields(&[("Priority", None)])).unwrap().field, "Status");
        assert!(Condition::parse("").unwrap().is_empty());
        assert!(Condition::parse("Status is Closed").is_err());
        assert!(Condition::parse("Sta tus = Closed").is_err());
        // AND inside quotes is part of the value.
        let q = Condition::parse("Subject = 'Black and white'").unwrap();
        assert_eq!(q.clauses.len(), 1);
        assert_eq!(q.clauses[0].value, "Black and white");
    }

    #[test]
    fn templates_need_the_link_and_fill_escaped_values() {
        assert!(MailTemplate::new("Acme", "Hi", "no link here").is_err());
        assert!(MailTemplate::new("Acme\r\nBcc: x@y", "Hi", "{{survey_link}}").is_err());
        assert!(MailTemplate::new("Acme", "Hi\nthere", "{{survey_link}}").is_err());
        assert!(MailTemplate::new("Acme", "Hi", "{{survey_link}} {{not a field}}").is_err());
        let t = MailTemplate::new("Acme", "Case {{CaseNumber}}", "Dear {{recipient_name}}, {{survey_link}}").unwrap();
        assert_eq!(t.placeholders(), vec!["CaseNumber", "recipient_name", "survey_link"]);
        let values: BTreeMap<String, String> = [("casenumber".to_string(), "<b>0001</b>".to_string())].into();
        let html = MailTemplate::fill(&t.subject, &values, |v| v.replace('<', "&lt;").replace('>', "&gt;"));
        assert_eq!(html, "Case &lt;b&gt;0001&lt;/b&gt;");
        assert_eq!(MailTemplate::fill("{{Missing}}!", &values, str::to_string), "!");
        assert_eq!(MailTemplate::fill("{{unclosed", &values, str::to_string), "{{unclosed");
    }

    #[test]
    fn delays() {
        assert_eq!(Delay::parse("", "now").unwrap(), Delay::NOW);
        assert_eq!(Delay::parse("90", "minutes").unwrap().seconds, 5400);
        assert_eq!(Delay::parse("2", "hours").unwrap().label(), "after 2 hours");
        assert_eq!(Delay::parse("1", "days").unwrap().label(), "after 1 day");
        assert!(Delay::parse("31", "days").is_err());
        assert!(Delay::parse("-1", "hours").is_err());
        assert!(Delay::parse("1", "weeks").is_err());
    }

    #[test]
    fn rules_keep_record_id_and_the_chosen_fields() {
        let r = rules();
        assert_eq!(r.embedded, vec!["CaseNumber"], "Id is always kept, as record_id");
        assert_eq!(r.embedded_names(), vec!["record_id", "CaseNumber"]);
        assert_eq!(r.fields_to_send(), vec!["SuppliedEmail", "SuppliedName", "Status", "CaseNumber"]);
        let data = r.embedded_of("500000000000001AAA", &fields(&[("CaseNumber", Some("00001001")), ("Status", Some("Closed"))]));
        assert_eq!(data.get("record_id").unwrap(), "500000000000001AAA");
        assert_eq!(data.get("CaseNumber").unwrap(), "00001001");
        assert!(!data.contains_key("Status"), "only the chosen fields become embedded data");
        // Serialised rules read back the same.
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<TriggerRules>(&json).unwrap(), r);
    }

    #[test]
    fn screening_as_a_table() {
        let r = rules();
        let closed = fields(&[("Status", Some("Closed")), ("SuppliedEmail", Some("pat@example.com"))]);
        let open = fields(&[("Status", Some("New"))]);
        assert_eq!(screen(&r, "Case", Some("500x"), &closed), Ok(()));
        assert_eq!(screen(&r, "case", Some("500x"), &closed), Ok(()), "object names ignore case");
        assert_eq!(screen(&r, "Opportunity", Some("006x"), &closed), Err(NoInvitation::OtherObject { got: "Opportunity".into(), expected: "Case".into() }));
        assert_eq!(screen(&r, "Case", Some("500x"), &open), Err(NoInvitation::ConditionNotMet("Status = Closed".into())));
        assert_eq!(screen(&r, "Case", None, &BTreeMap::new()), Err(NoInvitation::Deleted));
    }

    #[test]
    fn admission_as_a_table() {
        let pat = Addressee { email: "pat@example.com".into(), name: None };
        let weekly = FrequencyRule::new("1", "7").unwrap();
        let monthly = FrequencyRule::new("3", "30").unwrap();
        let h = |opted_out, account_recent, survey_recent| History { opted_out, account_recent, survey_recent };
        assert_eq!(admit(&pat, &h(false, 0, 0), Some(monthly), Some(weekly)), Ok(()));
        assert_eq!(admit(&pat, &h(true, 0, 0), None, None), Err(NoInvitation::OptedOut));
        assert_eq!(admit(&pat, &h(false, 1, 1), Some(monthly), Some(weekly)), Err(NoInvitation::Suppressed(weekly.label(Scope::Survey))));
        assert_eq!(admit(&pat, &h(false, 3, 0), Some(monthly), Some(weekly)), Err(NoInvitation::Suppressed(monthly.label(Scope::Account))));
        assert_eq!(admit(&pat, &h(false, 99, 99), None, None), Ok(()), "no rule, no limit");
        let bad = Addressee { email: "not an address".into(), name: None };
        assert_eq!(admit(&bad, &History::default(), None, None), Err(NoInvitation::BadEmail("not an address".into())));
        assert_eq!(weekly.label(Scope::Survey), "at most 1 invitation every 7 days per recipient for this survey");
        assert!(FrequencyRule::new("0", "7").is_err());
        assert!(FrequencyRule::new("1", "x").is_err());
    }

    #[test]
    fn addressee_from_notified_fields() {
        let f = fields(&[("SuppliedEmail", Some(" pat@example.com ")), ("SuppliedName", Some("Pat"))]);
        assert_eq!(addressee_from_fields("SuppliedEmail", Some("SuppliedName"), &f).unwrap(), Addressee { email: "pat@example.com".into(), name: Some("Pat".into()) });
        let none = fields(&[("SuppliedEmail", None)]);
        assert_eq!(addressee_from_fields("SuppliedEmail", None, &none), Err(NoInvitation::NoEmail("SuppliedEmail".into())));
    }
}
