//! The outbound-message SOAP codec: Salesforce POSTs a `notifications` envelope
//! (namespace `http://soap.sforce.com/2005/09/outbound`) and expects a
//! `notificationsResponse` with `<Ack>true</Ack>`, or it retries.

use crate::ids::{IdError, OrgId, RecordId, SalesforceId};
use crate::secret::AccessToken;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::collections::BTreeMap;

pub const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The WSDL allows at most 100 `Notification` elements per message.
pub const MAX_NOTIFICATIONS: usize = 100;
/// No legitimate envelope nests deeper than Envelope/Body/notifications/Notification/sObject/field.
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("document type declarations are not accepted")]
    DocType,
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

/// One notification: Salesforce may deliver it more than once, so de-duplicate by `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: SalesforceId,
    pub record: NotifiedRecord,
}

/// The notified record: its type (from `xsi:type="sf:T"`) and the fields the message carries.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifiedRecord {
    pub sobject_type: String,
    pub id: Option<RecordId>,
    /// Field name → value; `None` for `xsi:nil="true"`.
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
        matches!(self.attr(XSI_NS, "nil"), Some("true" | "1"))
    }
    fn leaf_text(&self, what: &str) -> Result<Option<&str>, OutboundError> {
        if !self.children.is_empty() {
            return Err(shape(format!("{what} must not contain elements")));
        }
        Ok(if self.is_nil() { None } else { Some(self.text.as_str()) })
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
    reader.config_mut().trim_text(true);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = vec![];
    let mut root: Option<Element> = None;
    loop {
        let (res, ev) = reader.read_resolved_event().map_err(xml_err)?;
        match ev {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(OutboundError::Xml("content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(shape("elements nested too deeply"));
                }
                let mut el = Element { ns: ns_of(res)?, name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(), ..Default::default() };
                for a in e.attributes() {
                    let a = a.map_err(|e| OutboundError::Xml(e.to_string()))?;
                    let (ar, local) = reader.resolve_attribute(a.key);
                    // Namespace declarations themselves are not data.
                    if a.key.as_ref().starts_with(b"xmlns") {
                        continue;
                    }
                    let v = a.unescape_value().map_err(xml_err)?.into_owned();
                    el.attrs.push((ns_of(ar)?, String::from_utf8_lossy(local.as_ref()).into_owned(), v));
                }
                stack.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| OutboundError::Xml("unbalanced end tag".into()))?;
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
                let s = String::from_utf8(c.into_inner().into_owned()).map_err(|_| OutboundError::Xml("CDATA is not UTF-8".into()))?;
                stack.last_mut().ok_or_else(|| OutboundError::Xml("CDATA outside the root element".into()))?.text.push_str(&s);
            }
            Event::DocType(_) => return Err(OutboundError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => unreachable!("expand_empty_elements is on"),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(OutboundError::Xml("unexpected end of document".into()));
    }
    root.ok_or_else(|| OutboundError::Xml("empty document".into()))
}

fn single<'a>(parent: &'a Element, name: &str) -> Result<&'a Element, OutboundError> {
    let mut it = parent.children.iter().filter(|c| c.is(OUTBOUND_NS, name));
    let first = it.next().ok_or_else(|| shape(format!("missing {name}")))?;
    if it.next().is_some() {
        return Err(shape(format!("more than one {name}")));
    }
    Ok(first)
}

fn required_text<'a>(parent: &'a Element, name: &str) -> Result<&'a str, OutboundError> {
    single(parent, name)?.leaf_text(name)?.ok_or_else(|| shape(format!("{name} is nil")))
}

fn parse_id(field: &'static str, s: &str) -> Result<SalesforceId, OutboundError> {
    SalesforceId::parse(s.trim()).map_err(|source| OutboundError::Id { field, source })
}

/// Parse an outbound-message request body. The caller bounds the body size
/// (a message holds at most 100 notifications); this bounds nesting depth.
pub fn parse_notifications(xml: &[u8]) -> Result<OutboundMessage, OutboundError> {
    let env = parse_tree(xml)?;
    if !env.is(SOAP_ENVELOPE_NS, "Envelope") {
        return Err(shape("root is not a SOAP 1.1 Envelope"));
    }
    let body = env.children.iter().find(|c| c.is(SOAP_ENVELOPE_NS, "Body")).ok_or_else(|| shape("missing soapenv:Body"))?;
    let [n] = body.children.as_slice() else { return Err(shape("Body must hold exactly one element")) };
    if !n.is(OUTBOUND_NS, "notifications") {
        return Err(shape(format!("expected notifications in {OUTBOUND_NS}, got {}", n.name)));
    }
    const KNOWN: [&str; 6] = ["OrganizationId", "ActionId", "SessionId", "EnterpriseUrl", "PartnerUrl", "Notification"];
    if let Some(u) = n.children.iter().find(|c| c.ns.as_deref() != Some(OUTBOUND_NS) || !KNOWN.contains(&c.name.as_str())) {
        return Err(shape(format!("unknown element {} in notifications", u.name)));
    }
    let organization_id = OrgId::try_from(parse_id("OrganizationId", required_text(n, "OrganizationId")?)?)
        .map_err(|source| OutboundError::Id { field: "OrganizationId", source })?;
    let action_id = parse_id("ActionId", required_text(n, "ActionId")?)?;
    let session_id = match n.children.iter().find(|c| c.is(OUTBOUND_NS, "SessionId")) {
        Some(s) => s.leaf_text("SessionId")?.filter(|t| !t.is_empty()).map(AccessToken::new),
        None => None,
    };
    let enterprise_url = required_text(n, "EnterpriseUrl")?.to_string();
    let partner_url = required_text(n, "PartnerUrl")?.to_string();
    let mut notifications = vec![];
    for note in n.children.iter().filter(|c| c.name == "Notification") {
        notifications.push(parse_notification(note)?);
    }
    if notifications.is_empty() {
        return Err(shape("no Notification"));
    }
    if notifications.len() > MAX_NOTIFICATIONS {
        return Err(shape(format!("{} notifications; at most {MAX_NOTIFICATIONS} allowed", notifications.len())));
    }
    Ok(OutboundMessage { organization_id, action_id, session_id, enterprise_url, partner_url, notifications })
}

fn parse_notification(note: &Element) -> Result<Notification, OutboundError> {
    if let Some(u) = note.children.iter().find(|c| !(c.is(OUTBOUND_NS, "Id") || c.is(OUTBOUND_NS, "sObject"))) {
        return Err(shape(format!("unknown element {} in Notification", u.name)));
    }
    let id = parse_id("Notification/Id", required_text(note, "Id")?)?;
    let so = single(note, "sObject")?;
    let ty = so.attr(XSI_NS, "type").ok_or_else(|| shape("sObject without xsi:type"))?;
    // xsi:type is a QName such as "sf:Case"; the local part names the object.
    let sobject_type = ty.rsplit(':').next().unwrap_or(ty).to_string();
    if sobject_type.is_empty() || !sobject_type.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(shape(format!("bad sObject type {ty:?}")));
    }
    let mut fields = BTreeMap::new();
    for f in &so.children {
        let v = f.leaf_text(&f.name)?.map(str::to_string);
        if fields.insert(f.name.clone(), v).is_some() {
            return Err(shape(format!("field {} appears twice", f.name)));
        }
    }
    let id_field = fields.get("Id").cloned().flatten();
    let rid = id_field.as_deref().map(|s| parse_id("sObject/Id", s)).transpose()?;
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
    use super::*;

    /// A real outbound message as published on the web (custom object, SessionId
    /// not sent); the published copy elided the org id, here filled in as 00DR00000000XcD.
    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound">
<OrganizationId>00DR00000000XcDMAU</OrganizationId>
<ActionId>04kR00000004CCXIA2</ActionId>
<SessionId xsi:nil="true"/>
<EnterpriseUrl>https://cs2-api.salesforce.com/services/Soap/c/8.0/4e1300DR00000000XcD</EnterpriseUrl>
<PartnerUrl>https://cs2-api.salesforce.com/services/Soap/u/8.0/4e1300DR00000000XcD</PartnerUrl>
<Notification>
<Id>04lR0000000CcIFIA0</Id>
<sObject xsi:type="sf:Design_Registration__c" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
<sf:Id>a06R00000009QZaIAM</sf:Id>
<sf:BU_Reviewer_Lookup__c>00540000000lnc2AAA</sf:BU_Reviewer_Lookup__c>
<sf:DP_cust_eng_email__c>me@email.com</sf:DP_cust_eng_email__c>
<sf:DP_reg_id__c>JXD08-7CLLB7</sf:DP_reg_id__c>
<sf:DR_Number__c>R080500453</sf:DR_Number__c>
<sf:Name>URT</sf:Name>
<sf:OwnerId>00540000000mBqsAAE</sf:OwnerId>
</sObject>
</Notification>
</notifications>
</soapenv:Body>
</soapenv:Envelope>"#;

    #[test]
    fn published_sample_envelope_parses() {
        let m = parse_notifications(SAMPLE.as_bytes()).unwrap();
        assert_eq!(m.organization_id.to_15(), "00DR00000000XcD");
        assert_eq!(m.action_id.as_str(), "04kR00000004CCXIA2");
        assert!(m.session_id.is_none());
        assert!(m.partner_url.ends_with("/services/Soap/u/8.0/4e1300DR00000000XcD"));
        assert_eq!(m.notifications.len(), 1);
        let n = &m.notifications[0];
        assert_eq!(n.id.as_str(), "04lR0000000CcIFIA0");
        assert_eq!(n.record.sobject_type, "Design_Registration__c");
        assert_eq!(n.record.id.as_ref().unwrap().as_str(), "a06R00000009QZaIAM");
        assert_eq!(n.record.field("DP_cust_eng_email__c"), Some("me@email.com"));
        assert_eq!(n.record.fields.len(), 7);
        assert_eq!(m.instance_url().unwrap().as_str(), "https://cs2-api.salesforce.com/");
    }

    #[test]
    fn session_id_and_nil_fields_and_escapes() {
        let xml = SAMPLE
            .replace(r#"<SessionId xsi:nil="true"/>"#, "<SessionId>00DR0!AQ4AQ</SessionId>")
            .replace("<sf:Name>URT</sf:Name>", r#"<sf:Name>A &amp; B</sf:Name><sf:Email__c xsi:nil="true"/>"#);
        let m = parse_notifications(xml.as_bytes()).unwrap();
        assert_eq!(m.session_id.unwrap().expose(), "00DR0!AQ4AQ");
        let r = &m.notifications[0].record;
        assert_eq!(r.field("Name"), Some("A & B"));
        assert_eq!(r.fields.get("Email__c"), Some(&None));
    }

    #[test]
    fn malformed_input_is_rejected_with_a_reason() {
        let cases: Vec<(String, &str)> = vec![
            ("not xml at all".into(), "XML"),
            (SAMPLE.replace("</notifications>", ""), "XML"),
            (SAMPLE.replace("http://soap.sforce.com/2005/09/outbound", "urn:other"), "notifications"),
            (SAMPLE.replace("00DR00000000XcDMAU", "001R00000000XcD"), "OrganizationId"),
            (SAMPLE.replace("<ActionId>04kR00000004CCXIA2</ActionId>", ""), "missing ActionId"),
            (SAMPLE.replace("04lR0000000CcIFIA0", "04lR0000000CcIFXXX"), "Notification/Id"),
            (SAMPLE.replace(r#" xsi:type="sf:Design_Registration__c""#, ""), "xsi:type"),
            (SAMPLE.replace("<PartnerUrl>", "<Extra>x</Extra><PartnerUrl>"), "unknown element Extra"),
            (SAMPLE.replace("<sf:Name>URT</sf:Name>", "<sf:Name><b>x</b></sf:Name>"), "must not contain"),
            (format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{}", SAMPLE.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)), "document type"),
        ];
        for (xml, want) in cases {
            let err = parse_notifications(xml.as_bytes()).expect_err(want).to_string();
            assert!(err.contains(want), "wanted {want:?} in {err:?}");
        }
    }

    #[test]
    fn too_many_notifications_are_rejected() {
        let one = SAMPLE.split("<Notification>").nth(1).unwrap().split("</Notification>").next().unwrap();
        let many = format!("<Notification>{one}</Notification>").repeat(101);
        let xml = SAMPLE.replacen(&format!("<Notification>{one}</Notification>"), &many, 1);
        assert!(parse_notifications(xml.as_bytes()).unwrap_err().to_string().contains("at most 100"));
    }

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
}
