//! The outbound-message SOAP codec: Salesforce POSTs a `notifications` envelope
//! (namespace `http://soap.sforce.com/2005/09/outbound`) and expects a
//! `notificationsResponse` with `<Ack>true</Ack>`, or it retries.
//!
//! What the parser accepts, and why (Salesforce's WSDL, "Understanding the Outbound
//! Messaging WSDL", is the reference):
//! - At most [`MAX_BODY_BYTES`] bytes, [`MAX_DEPTH`] levels of elements, [`MAX_ELEMENTS`]
//!   elements and [`MAX_ATTRIBUTES`] attributes per element: every cost is bounded by
//!   the body size, never by what the body asks for.
//! - No document type declaration, so no entity is ever declared or expanded; a
//!   reference to anything but the five predefined entities and character references
//!   is an XML error.
//! - Between 1 and [`MAX_NOTIFICATIONS`] notifications (the WSDL's `maxOccurs="100"`).
//! - Record fields are the sObject's child elements in the sObject namespace
//!   ([`SOBJECT_NS`]), under any prefix; an element in any other namespace is refused.
//!   Text is kept exactly (no trimming), CDATA and escaped text are joined, and
//!   `xsi:nil="true"` is `None`.
//! - A notification whose sObject carries no `Id` (or no fields at all, as for a record
//!   deleted while its notification was queued) is accepted with `record.id == None`:
//!   refusing the envelope would make Salesforce retry its other notifications for 24
//!   hours. The caller acknowledges it and has nothing to act on.

use crate::ids::{IdError, OrgId, RecordId, SalesforceId};
use crate::secret::AccessToken;
use quick_xml::events::Event;
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;
use std::collections::BTreeMap;

pub const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
/// The namespace of the sObject's fields and of its `xsi:type` (`sf:Case`).
pub const SOBJECT_NS: &str = "urn:sobject.enterprise.soap.sforce.com";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The WSDL allows at most 100 `Notification` elements per message.
pub const MAX_NOTIFICATIONS: usize = 100;
/// The largest request body accepted, 4 MiB; the web handler refuses a longer body
/// before reading it, and [`parse_notifications`] refuses it too.
///
/// Why 4 MiB: a notification carrying 20 ordinary fields (ids, names, emails, 255-character
/// text) takes about 6 KB of XML, so a full message of 100 takes about 0.6 MB. 4 MiB also
/// holds 100 notifications that each carry 20 such fields and a 32,768-character long
/// text area (3.9 MB, see `hundred_notifications_with_long_text_fit_the_body_limit` in
/// tests/outbound_codec.rs), while keeping the parsed tree of a hostile body (bounded by
/// [`MAX_ELEMENTS`]) to a few tens of megabytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// No legitimate envelope nests deeper than Envelope/Body/notifications/Notification/sObject/field
/// (6); two levels of slack for SOAP headers.
pub const MAX_DEPTH: usize = 8;
/// 100 notifications of up to 998 fields each (an object's field limit is about 800).
pub const MAX_ELEMENTS: usize = 100_000;
/// The envelope's elements carry a handful of attributes (namespace declarations,
/// `xsi:type`, `xsi:nil`); the bound also keeps quick-xml's duplicate check cheap.
pub const MAX_ATTRIBUTES: usize = 32;

/// Why a body is not an outbound message Insight accepts. Every variant is final:
/// the same body will never parse, so the listener answers with a SOAP fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("the body has {size} bytes; at most {MAX_BODY_BYTES} are accepted")]
    TooLarge { size: usize },
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("document type declarations are not accepted (no entity is ever declared or expanded)")]
    DocType,
    #[error("elements are nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
    #[error("more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("an element has more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    #[error("the root element is {found}, not a SOAP 1.1 Envelope")]
    WrongRoot { found: String },
    #[error("the SOAP Body holds {found}, not notifications in {OUTBOUND_NS}")]
    NotOutbound { found: String },
    #[error("the message carries no Notification")]
    NoNotifications,
    #[error("the message carries {count} notifications; at most {MAX_NOTIFICATIONS} allowed")]
    TooManyNotifications { count: usize },
    #[error("not a Salesforce outbound message: {0}")]
    Shape(String),
    #[error("{field}: {source}")]
    Id { field: &'static str, source: IdError },
}

fn shape(s: impl Into<String>) -> OutboundError {
    OutboundError::Shape(s.into())
}

/// One parsed outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    pub organization_id: OrgId,
    /// The outbound message definition (workflow action) that sent this.
    pub action_id: SalesforceId,
    /// Present only when the outbound message is set to send a session id.
    pub session_id: Option<AccessToken>,
    pub enterprise_url: String,
    pub partner_url: String,
    /// 1 to [`MAX_NOTIFICATIONS`], in the order of the envelope.
    pub notifications: Vec<Notification>,
}

impl OutboundMessage {
    /// The instance URL to call back with `session_id`: the partner URL without
    /// its `/services/Soap/u/{version}/{org}` tail.
    pub fn instance_url(&self) -> Option<url::Url> {
        let base = self.partner_url.split("/services/Soap/").next()?;
        if base.len() == self.partner_url.len() {
            return None;
        }
        url::Url::parse(base).ok()
    }
}

/// One notification. Salesforce may deliver it more than once and out of order, and it
/// keeps its `id` on every retry, so de-duplicate by `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: SalesforceId,
    pub record: NotifiedRecord,
}

/// The notified record: its type (from `xsi:type="sf:T"`) and the fields the message carries.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifiedRecord {
    pub sobject_type: String,
    /// `None` when the sObject carries no `Id` (or a nil one).
    pub id: Option<RecordId>,
    /// Field name → value (exactly as sent, `Id` included); `None` for `xsi:nil="true"`.
    pub fields: BTreeMap<String, Option<String>>,
}

impl NotifiedRecord {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(|v| v.as_deref())
    }
}

/// A minimal element tree with resolved namespaces.
#[derive(Debug, Default)]
struct Element {
    ns: Option<String>,
    name: String,
    /// (namespace, local name, value)
    attrs: Vec<(Option<String>, String, String)>,
    /// `xsi:type`, its QName resolved where it appears: (namespace, local name).
    xsi_type: Option<(Option<String>, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn is(&self, ns: &str, name: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.name == name
    }
    fn attr(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, l, _)| n.as_deref() == Some(ns) && l == name).map(|(_, _, v)| v.as_str())
    }
    fn is_nil(&self) -> bool {
        matches!(self.attr(XSI_NS, "nil").map(str::trim), Some("true" | "1"))
    }
    /// The element's name as `{namespace}local` (or `local` when in no namespace).
    fn describe(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
    fn leaf_text(&self, what: &str) -> Result<Option<&str>, OutboundError> {
        if !self.children.is_empty() {
            return Err(shape(format!("{what} must not contain elements")));
        }
        if self.is_nil() {
            // XML Schema: a nil element has no content.
            if !self.text.is_empty() {
                return Err(shape(format!("{what} is xsi:nil but has content")));
            }
            return Ok(None);
        }
        Ok(Some(self.text.as_str()))
    }
}

fn ns_of(r: ResolveResult) -> Result<Option<String>, OutboundError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(OutboundError::Xml(format!("undeclared namespace prefix {}", String::from_utf8_lossy(&p)))),
    }
}

fn parse_tree(xml: &[u8]) -> Result<Element, OutboundError> {
    let xml_err = |e: quick_xml::Error| OutboundError::Xml(e.to_string());
    let mut reader = NsReader::from_reader(xml);
    // Text is data: keep it exactly; whitespace between elements is dropped below.
    reader.config_mut().trim_text(false);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = vec![];
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let (res, ev) = reader.read_resolved_event().map_err(xml_err)?;
        match ev {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(OutboundError::Xml("content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(OutboundError::TooDeep);
                }
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(OutboundError::TooManyElements);
                }
                let mut el = Element { ns: ns_of(res)?, name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(), ..Default::default() };
                for (i, a) in e.attributes().enumerate() {
                    if i >= MAX_ATTRIBUTES {
                        return Err(OutboundError::TooManyAttributes);
                    }
                    let a = a.map_err(|e| OutboundError::Xml(e.to_string()))?;
                    // Namespace declarations themselves are not data.
                    if a.key.as_ref() == b"xmlns" || a.key.as_ref().starts_with(b"xmlns:") {
                        continue;
                    }
                    let (ar, local) = reader.resolve_attribute(a.key);
                    let ans = ns_of(ar)?;
                    let local = String::from_utf8_lossy(local.as_ref()).into_owned();
                    let v = a.unescape_value().map_err(xml_err)?.into_owned();
                    if ans.as_deref() == Some(XSI_NS) && local == "type" {
                        let (tr, tl) = reader.resolve_element(QName(v.trim().as_bytes()));
                        el.xsi_type = Some((ns_of(tr)?, String::from_utf8_lossy(tl.as_ref()).into_owned()));
                    }
                    el.attrs.push((ans, local, v));
                }
                stack.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| OutboundError::Xml("unbalanced end tag".into()))?;
                if !el.children.is_empty() && !el.text.trim().is_empty() {
                    return Err(shape(format!("{} mixes text with elements", el.name)));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(xml_err)?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(OutboundError::Xml("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|_| OutboundError::Xml("CDATA is not UTF-8".into()))?;
                stack.last_mut().ok_or_else(|| OutboundError::Xml("CDATA outside the root element".into()))?.text.push_str(s);
            }
            Event::DocType(_) => return Err(OutboundError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => return Err(OutboundError::Xml("unexpected empty element".into())),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(OutboundError::Xml("unexpected end of document".into()));
    }
    root.ok_or_else(|| OutboundError::Xml("empty document".into()))
}

fn at_most_one<'a>(parent: &'a Element, name: &str) -> Result<Option<&'a Element>, OutboundError> {
    let mut it = parent.children.iter().filter(|c| c.is(OUTBOUND_NS, name));
    let first = it.next();
    if it.next().is_some() {
        return Err(shape(format!("more than one {name}")));
    }
    Ok(first)
}

fn single<'a>(parent: &'a Element, name: &str) -> Result<&'a Element, OutboundError> {
    at_most_one(parent, name)?.ok_or_else(|| shape(format!("missing {name}")))
}

fn required_text<'a>(parent: &'a Element, name: &str) -> Result<&'a str, OutboundError> {
    single(parent, name)?.leaf_text(name)?.ok_or_else(|| shape(format!("{name} is nil")))
}

fn parse_id(field: &'static str, s: &str) -> Result<SalesforceId, OutboundError> {
    SalesforceId::parse(s.trim()).map_err(|source| OutboundError::Id { field, source })
}

/// Parse an outbound-message request body (see the module documentation for what is
/// accepted). Never panics, whatever the bytes.
pub fn parse_notifications(xml: &[u8]) -> Result<OutboundMessage, OutboundError> {
    if xml.len() > MAX_BODY_BYTES {
        return Err(OutboundError::TooLarge { size: xml.len() });
    }
    let env = parse_tree(xml)?;
    if !env.is(SOAP_ENVELOPE_NS, "Envelope") {
        return Err(OutboundError::WrongRoot { found: env.describe() });
    }
    let body = env.children.iter().find(|c| c.is(SOAP_ENVELOPE_NS, "Body")).ok_or_else(|| shape("missing soapenv:Body"))?;
    let n = match body.children.as_slice() {
        [n] if n.is(OUTBOUND_NS, "notifications") => n,
        [n] => return Err(OutboundError::NotOutbound { found: n.describe() }),
        [] => return Err(OutboundError::NotOutbound { found: "nothing".into() }),
        _ => return Err(shape("the SOAP Body must hold exactly one element")),
    };
    const KNOWN: [&str; 6] = ["OrganizationId", "ActionId", "SessionId", "EnterpriseUrl", "PartnerUrl", "Notification"];
    if let Some(u) = n.children.iter().find(|c| c.ns.as_deref() != Some(OUTBOUND_NS) || !KNOWN.contains(&c.name.as_str())) {
        return Err(shape(format!("unknown element {} in notifications", u.name)));
    }
    let notes: Vec<&Element> = n.children.iter().filter(|c| c.name == "Notification").collect();
    if notes.is_empty() {
        return Err(OutboundError::NoNotifications);
    }
    if notes.len() > MAX_NOTIFICATIONS {
        return Err(OutboundError::TooManyNotifications { count: notes.len() });
    }
    let organization_id = OrgId::try_from(parse_id("OrganizationId", required_text(n, "OrganizationId")?)?)
        .map_err(|source| OutboundError::Id { field: "OrganizationId", source })?;
    let action_id = parse_id("ActionId", required_text(n, "ActionId")?)?;
    let session_id = match at_most_one(n, "SessionId")? {
        Some(s) => s.leaf_text("SessionId")?.map(str::trim).filter(|t| !t.is_empty()).map(AccessToken::new),
        None => None,
    };
    let enterprise_url = required_text(n, "EnterpriseUrl")?.trim().to_string();
    let partner_url = required_text(n, "PartnerUrl")?.trim().to_string();
    let notifications = notes.into_iter().map(parse_notification).collect::<Result<Vec<_>, _>>()?;
    Ok(OutboundMessage { organization_id, action_id, session_id, enterprise_url, partner_url, notifications })
}

fn parse_notification(note: &Element) -> Result<Notification, OutboundError> {
    if let Some(u) = note.children.iter().find(|c| !(c.is(OUTBOUND_NS, "Id") || c.is(OUTBOUND_NS, "sObject"))) {
        return Err(shape(format!("unknown element {} in Notification", u.name)));
    }
    let id = parse_id("Notification/Id", required_text(note, "Id")?)?;
    let so = single(note, "sObject")?;
    let (type_ns, sobject_type) = so.xsi_type.clone().ok_or_else(|| shape("sObject without xsi:type"))?;
    if type_ns.as_deref() != Some(SOBJECT_NS) {
        return Err(shape(format!("sObject xsi:type {sobject_type} is not in {SOBJECT_NS}")));
    }
    if sobject_type.is_empty() || !sobject_type.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(shape(format!("bad sObject type {sobject_type:?}")));
    }
    let mut fields = BTreeMap::new();
    for f in &so.children {
        if f.ns.as_deref() != Some(SOBJECT_NS) {
            return Err(shape(format!("sObject field {} is not in {SOBJECT_NS}", f.describe())));
        }
        // The WSDL's base sObject type allows `fieldsToNull`, an API write construct
        // that carries no field value; a notification has nothing to say with it.
        if f.name == "fieldsToNull" {
            continue;
        }
        let v = f.leaf_text(&f.name)?.map(str::to_string);
        if fields.insert(f.name.clone(), v).is_some() {
            return Err(shape(format!("field {} appears twice", f.name)));
        }
    }
    let rid = match fields.get("Id") {
        Some(Some(s)) if !s.trim().is_empty() => Some(parse_id("sObject/Id", s)?),
        _ => None,
    };
    Ok(Notification { id, record: NotifiedRecord { sobject_type, id: rid, fields } })
}

/// The acknowledgement Salesforce waits for; anything else makes it retry.
pub fn ack_response(ack: bool) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">"#,
            r#"<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">"#,
            r#"<Ack>{}</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#
        ),
        ack
    )
}

/// A SOAP 1.1 fault for a message that will never be accepted (sent with HTTP 500,
/// as SOAP 1.1 requires). Salesforce retries any non-acknowledged message, so this
/// mainly tells a person reading Salesforce's outbound-message queue what went wrong.
pub fn fault_response(reason: &str) -> String {
    let esc = reason.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">"#,
            r#"<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{}</faultstring>"#,
            r#"</soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
        ),
        esc
    )
}

/// Content type for the acknowledgement (SOAP 1.1).
pub const ACK_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

#[cfg(test)]
mod tests {
    //! The parser's stories live in tests/outbound_codec.rs; these check the private tree.
    use super::*;

    #[test]
    fn fault_is_well_formed_and_escaped() {
        let f = fault_response("bad <id> & more");
        assert!(parse_tree(f.as_bytes()).is_ok());
        assert!(f.contains("bad &lt;id&gt; &amp; more"));
    }

    #[test]
    fn acknowledgement_is_the_documented_notifications_response() {
        let ack = ack_response(true);
        assert!(ack.contains(r#"<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>"#));
        // It is itself well-formed SOAP.
        let tree = parse_tree(ack.as_bytes()).unwrap();
        assert!(tree.is(SOAP_ENVELOPE_NS, "Envelope"));
    }

    #[test]
    fn xsi_type_prefix_is_resolved_where_it_is_declared() {
        let tree = parse_tree(br#"<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:q="urn:sobject.enterprise.soap.sforce.com" xsi:type="q:Case"/>"#).unwrap();
        assert_eq!(tree.xsi_type, Some((Some(SOBJECT_NS.to_string()), "Case".to_string())));
    }
}
