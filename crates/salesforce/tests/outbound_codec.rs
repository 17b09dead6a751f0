//! The outbound-message codec as a listener sees it: Salesforce's published sample, the
//! shapes Salesforce may send (nil, CDATA, other prefixes, records without an Id), the
//! bodies it must refuse, and properties over arbitrary and mutated bodies.

use proptest::prelude::*;
use salesforce::outbound::{parse_notifications, OutboundError, MAX_BODY_BYTES, MAX_NOTIFICATIONS, SOBJECT_NS};
use std::collections::BTreeMap;

/// A complete outbound message as Salesforce sent it, published at
/// http://www.mikesimonds.com/95-using-salesforce-outbound-soap-messages-php-post361.html
/// (Salesforce's own pages, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm,
/// give the schema but no complete message). Copied unchanged except `OrganizationId`,
/// which the publisher elided as `00DR......`: it is filled in from the message's own
/// EnterpriseUrl (`…/8.0/4e13` + the 15-character org id `00DR00000000XcD`) in its
/// 18-character form.
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
<sf:Field_reviewer_lookup__c>00540000000yHbGAAU</sf:Field_reviewer_lookup__c>
<sf:Name>URT</sf:Name>
<sf:OwnerId>00540000000mBqsAAE</sf:OwnerId>
</sObject>
</Notification>
</notifications>
</soapenv:Body>
</soapenv:Envelope>"#;

const ENVELOPE_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000062EAA</OrganizationId><ActionId>04kR00000004CCXIA2</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/62.0/00D000000000062</EnterpriseUrl><PartnerUrl>https://x.my.salesforce.com/services/Soap/u/62.0/00D000000000062</PartnerUrl>"#;
const ENVELOPE_CLOSE: &str = "</notifications></soapenv:Body></soapenv:Envelope>";

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // A parser may normalise a raw CR; a character reference survives.
            '\r' => o.push_str("&#13;"),
            c => o.push(c),
        }
    }
    o
}

/// One `<Notification>` with the given sObject body (already XML).
fn notification(id: &str, sobject_type: &str, inner: &str) -> String {
    format!(r#"<Notification><Id>{id}</Id><sObject xsi:type="sf:{sobject_type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{inner}</sObject></Notification>"#)
}

fn envelope(notifications: &str) -> String {
    format!("{ENVELOPE_OPEN}{notifications}{ENVELOPE_CLOSE}")
}

/// An envelope with one Case notification whose sObject holds `inner`.
fn case_with(inner: &str) -> String {
    envelope(&notification("04lR0000000CcIFIA0", "Case", inner))
}

/// Notification ids 04l… numbered from `n` (valid 18-character ids).
fn notification_id(n: usize) -> String {
    let short = format!("04l{n:012}");
    salesforce::SalesforceId::parse(&short).unwrap().to_18().to_string()
}

// ------------------------------------------------------------------ Salesforce's sample

#[test]
fn salesforce_sample_message_parses_field_by_field() {
    let m = parse_notifications(SAMPLE.as_bytes()).unwrap();
    assert_eq!(m.organization_id.to_18(), "00DR00000000XcDMAU");
    assert_eq!(m.organization_id.to_15(), "00DR00000000XcD");
    assert_eq!(m.action_id.as_str(), "04kR00000004CCXIA2");
    assert_eq!(m.session_id, None, "SessionId xsi:nil means no session was sent");
    assert_eq!(m.enterprise_url, "https://cs2-api.salesforce.com/services/Soap/c/8.0/4e1300DR00000000XcD");
    assert_eq!(m.partner_url, "https://cs2-api.salesforce.com/services/Soap/u/8.0/4e1300DR00000000XcD");
    assert_eq!(m.instance_url().unwrap().as_str(), "https://cs2-api.salesforce.com/");

    assert_eq!(m.notifications.len(), 1);
    let n = &m.notifications[0];
    assert_eq!(n.id.as_str(), "04lR0000000CcIFIA0");
    assert_eq!(n.record.sobject_type, "Design_Registration__c");
    assert_eq!(n.record.id.as_ref().map(|i| i.as_str()), Some("a06R00000009QZaIAM"));
    let want: BTreeMap<String, Option<String>> = [
        ("Id", "a06R00000009QZaIAM"),
        ("BU_Reviewer_Lookup__c", "00540000000lnc2AAA"),
        ("DP_cust_eng_email__c", "me@email.com"),
        ("DP_reg_id__c", "JXD08-7CLLB7"),
        ("DR_Number__c", "R080500453"),
        ("Field_reviewer_lookup__c", "00540000000yHbGAAU"),
        ("Name", "URT"),
        ("OwnerId", "00540000000mBqsAAE"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Some(v.to_string())))
    .collect();
    assert_eq!(n.record.fields, want);
}

#[test]
fn a_sent_session_id_is_kept_for_calling_back() {
    let xml = SAMPLE.replace(r#"<SessionId xsi:nil="true"/>"#, "<SessionId>00DR00000000XcD!AQ4AQ</SessionId>");
    let m = parse_notifications(xml.as_bytes()).unwrap();
    assert_eq!(m.session_id.unwrap().expose(), "00DR00000000XcD!AQ4AQ");
}

#[test]
fn notifications_of_one_message_keep_their_order_and_ids() {
    let body: String = (0..MAX_NOTIFICATIONS).map(|i| notification(&notification_id(i), "Case", "")).collect();
    let m = parse_notifications(envelope(&body).as_bytes()).unwrap();
    let ids: Vec<String> = m.notifications.iter().map(|n| n.id.to_18().to_string()).collect();
    assert_eq!(ids, (0..MAX_NOTIFICATIONS).map(notification_id).collect::<Vec<_>>());
}

// ------------------------------------------------------------------ what Salesforce may send

#[test]
fn deleted_record_with_an_empty_sobject_is_a_notification_without_a_record_id() {
    let xml = envelope(r#"<Notification><Id>04lR0000000CcIFIA0</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"/></Notification>"#);
    let m = parse_notifications(xml.as_bytes()).unwrap();
    let r = &m.notifications[0].record;
    assert_eq!((r.sobject_type.as_str(), r.id.as_ref(), r.fields.len()), ("Case", None, 0));
}

#[test]
fn sobject_without_an_id_keeps_its_fields_and_has_no_record_id() {
    let m = parse_notifications(case_with("<sf:Status>Closed</sf:Status>").as_bytes()).unwrap();
    let r = &m.notifications[0].record;
    assert_eq!(r.id, None);
    assert_eq!(r.field("Status"), Some("Closed"));
    // A nil or empty Id is no Id either.
    for inner in [r#"<sf:Id xsi:nil="true"/>"#, "<sf:Id></sf:Id>"] {
        assert_eq!(parse_notifications(case_with(inner).as_bytes()).unwrap().notifications[0].record.id, None, "{inner}");
    }
}

#[test]
fn nil_fields_are_none_and_nil_with_content_is_refused() {
    let m = parse_notifications(case_with(r#"<sf:Id>500R0000000CcIFIA0</sf:Id><sf:ContactEmail xsi:nil="true"/><sf:Subject></sf:Subject>"#).as_bytes()).unwrap();
    let r = &m.notifications[0].record;
    assert_eq!(r.fields.get("ContactEmail"), Some(&None));
    assert_eq!(r.fields.get("Subject"), Some(&Some(String::new())), "empty is not nil");
    let err = parse_notifications(case_with(r#"<sf:Subject xsi:nil="true">text</sf:Subject>"#).as_bytes()).unwrap_err();
    assert!(err.to_string().contains("xsi:nil but has content"), "{err}");
}

#[test]
fn fields_under_another_prefix_of_the_sobject_namespace_are_fields() {
    let inner = format!(r#"<ns2:Subject xmlns:ns2="{SOBJECT_NS}">Printer</ns2:Subject><Status xmlns="{SOBJECT_NS}">New</Status>"#);
    let m = parse_notifications(case_with(&inner).as_bytes()).unwrap();
    let r = &m.notifications[0].record;
    assert_eq!((r.field("Subject"), r.field("Status")), (Some("Printer"), Some("New")));
    // The type's prefix is resolved too: any prefix bound to the sObject namespace names the type.
    let xml = envelope(&format!(r#"<Notification><Id>04lR0000000CcIFIA0</Id><sObject xmlns:o="{SOBJECT_NS}" xsi:type="o:Case"><o:Subject>x</o:Subject></sObject></Notification>"#));
    assert_eq!(parse_notifications(xml.as_bytes()).unwrap().notifications[0].record.sobject_type, "Case");
}

#[test]
fn fields_and_types_outside_the_sobject_namespace_are_refused() {
    for (inner, want) in [
        (r#"<x:Subject xmlns:x="urn:evil">x</x:Subject>"#, "{urn:evil}Subject is not in urn:sobject"),
        // Unprefixed, it is in the outbound namespace inherited from <notifications>.
        ("<Subject>x</Subject>", "{http://soap.sforce.com/2005/09/outbound}Subject is not in"),
    ] {
        let err = parse_notifications(case_with(inner).as_bytes()).unwrap_err().to_string();
        assert!(err.contains(want), "{inner}: {err}");
    }
    let xml = envelope(r#"<Notification><Id>04lR0000000CcIFIA0</Id><sObject xmlns:sf="urn:evil" xsi:type="sf:Case"/></Notification>"#);
    assert!(parse_notifications(xml.as_bytes()).unwrap_err().to_string().contains("xsi:type Case is not in"));
    let xml = envelope(r#"<Notification><Id>04lR0000000CcIFIA0</Id><sObject xsi:type="nope:Case"/></Notification>"#);
    assert!(parse_notifications(xml.as_bytes()).unwrap_err().to_string().contains("undeclared namespace prefix nope"));
}

#[test]
fn cdata_escapes_and_whitespace_are_kept_exactly() {
    let inner = "<sf:Description><![CDATA[<b>bold</b> & ]]>more &amp; &#233;</sf:Description><sf:Subject>  padded\n </sf:Subject>";
    let m = parse_notifications(case_with(inner).as_bytes()).unwrap();
    let r = &m.notifications[0].record;
    assert_eq!(r.field("Description"), Some("<b>bold</b> & more & é"));
    assert_eq!(r.field("Subject"), Some("  padded\n "));
}

#[test]
fn fields_to_null_of_the_base_sobject_type_carries_no_field() {
    let m = parse_notifications(case_with("<sf:fieldsToNull>Subject</sf:fieldsToNull><sf:Status>New</sf:Status>").as_bytes()).unwrap();
    assert_eq!(m.notifications[0].record.fields.keys().collect::<Vec<_>>(), ["Status"]);
}

// ------------------------------------------------------------------ refusals

#[test]
fn document_type_declarations_are_refused_before_any_entity_is_expanded() {
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]>{}",
        (1..10).map(|i| format!("<!ENTITY lol{i} \"{}\">", format!("&lol{};", if i == 1 { String::new() } else { (i - 1).to_string() }).repeat(10))).collect::<String>(),
        case_with("<sf:Subject>&lol9;</sf:Subject>").trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
    );
    assert!(laughs.contains("<!ENTITY lol9 \"&lol8;&lol8;"), "a real billion-laughs body");
    assert_eq!(parse_notifications(laughs.as_bytes()), Err(OutboundError::DocType));
    // An external entity (XXE) is refused the same way, and nothing is fetched.
    let xxe = format!("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}", case_with("<sf:Subject>&e;</sf:Subject>"));
    assert_eq!(parse_notifications(xxe.as_bytes()), Err(OutboundError::DocType));
    // Without a DTD, a reference to an undeclared entity is not well-formed.
    let err = parse_notifications(case_with("<sf:Subject>&lol9;</sf:Subject>").as_bytes()).unwrap_err();
    assert!(matches!(err, OutboundError::Xml(_)), "{err:?}");
    assert_eq!(OutboundError::DocType.to_string(), "document type declarations are not accepted (no entity is ever declared or expanded)");
}

#[test]
fn nesting_beyond_the_depth_limit_is_refused() {
    assert!(parse_notifications(case_with("<sf:Subject>x</sf:Subject>").as_bytes()).is_ok(), "six levels are fine");
    // Envelope/Body/notifications/Notification/sObject/A/B/C is eight levels; D is the ninth.
    assert!(parse_notifications(case_with("<sf:A><sf:B><sf:C>x</sf:C></sf:B></sf:A>").as_bytes()).unwrap_err().to_string().contains("must not contain elements"));
    let deep = case_with("<sf:A><sf:B><sf:C><sf:D>x</sf:D></sf:C></sf:B></sf:A>");
    assert_eq!(parse_notifications(deep.as_bytes()), Err(OutboundError::TooDeep));
    // A million open tags stop at the limit, long before the end of the body.
    let bomb = "<a>".repeat(1_000_000);
    assert_eq!(parse_notifications(bomb.as_bytes()), Err(OutboundError::TooDeep));
}

#[test]
fn more_than_a_hundred_notifications_are_refused() {
    let body: String = (0..=MAX_NOTIFICATIONS).map(|i| notification(&notification_id(i), "Case", "")).collect();
    let err = parse_notifications(envelope(&body).as_bytes()).unwrap_err();
    assert_eq!(err, OutboundError::TooManyNotifications { count: 101 });
    assert_eq!(err.to_string(), "the message carries 101 notifications; at most 100 allowed");
}

#[test]
fn a_message_without_notifications_is_refused() {
    assert_eq!(parse_notifications(envelope("").as_bytes()), Err(OutboundError::NoNotifications));
}

#[test]
fn a_body_outside_the_outbound_namespace_is_refused() {
    let other = SAMPLE.replace("http://soap.sforce.com/2005/09/outbound", "urn:other");
    let err = parse_notifications(other.as_bytes()).unwrap_err();
    assert_eq!(err, OutboundError::NotOutbound { found: "{urn:other}notifications".into() });
    assert_eq!(err.to_string(), "the SOAP Body holds {urn:other}notifications, not notifications in http://soap.sforce.com/2005/09/outbound");
    let empty = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>"#;
    assert_eq!(parse_notifications(empty.as_bytes()), Err(OutboundError::NotOutbound { found: "nothing".into() }));
}

#[test]
fn a_root_other_than_the_soap_envelope_is_refused() {
    let bare = SAMPLE.split("<soapenv:Body>").nth(1).unwrap().split("</soapenv:Body>").next().unwrap()
        .replace("<notifications ", r#"<notifications xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#);
    assert_eq!(parse_notifications(bare.as_bytes()), Err(OutboundError::WrongRoot { found: "{http://soap.sforce.com/2005/09/outbound}notifications".into() }));
    // SOAP 1.2's envelope is not the one Salesforce sends.
    let soap12 = SAMPLE.replace("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope");
    assert!(matches!(parse_notifications(soap12.as_bytes()), Err(OutboundError::WrongRoot { .. })));
}

#[test]
fn bodies_beyond_the_size_and_count_limits_are_refused() {
    let big = format!("{}{}", SAMPLE, " ".repeat(MAX_BODY_BYTES));
    assert_eq!(parse_notifications(big.as_bytes()), Err(OutboundError::TooLarge { size: big.len() }));
    let attrs: String = (0..40).map(|i| format!(" a{i}=\"\"")).collect();
    let many_attrs = case_with(&format!("<sf:Subject{attrs}>x</sf:Subject>"));
    assert_eq!(parse_notifications(many_attrs.as_bytes()), Err(OutboundError::TooManyAttributes));
    let many = case_with(&"<sf:A/>".repeat(100_001));
    assert!(many.len() < MAX_BODY_BYTES);
    assert_eq!(parse_notifications(many.as_bytes()), Err(OutboundError::TooManyElements));
}

#[test]
fn hundred_notifications_with_long_text_fit_the_body_limit() {
    // 20 ordinary fields plus one long text area of 32,768 characters in each of 100 notifications.
    let ordinary: String = (0..20).map(|i| format!("<sf:Field{i}__c>{}</sf:Field{i}__c>", "v".repeat(255))).collect();
    let long = format!("<sf:Description>{}</sf:Description>", "x".repeat(32_768));
    let body: String = (0..MAX_NOTIFICATIONS).map(|i| notification(&notification_id(i), "Case", &format!("<sf:Id>500R0000000CcIFIA0</sf:Id>{ordinary}{long}"))).collect();
    let xml = envelope(&body);
    assert!(xml.len() < MAX_BODY_BYTES, "{} bytes", xml.len());
    assert_eq!(parse_notifications(xml.as_bytes()).unwrap().notifications.len(), 100);
}

#[test]
fn malformed_messages_are_refused_with_a_reason() {
    let cases: Vec<(String, &str)> = vec![
        ("not xml at all".into(), "XML"),
        (SAMPLE.replace("</notifications>", ""), "XML"),
        (SAMPLE.replace("00DR00000000XcDMAU", "001R00000000XcD"), "OrganizationId"),
        (SAMPLE.replace("<ActionId>04kR00000004CCXIA2</ActionId>", ""), "missing ActionId"),
        (SAMPLE.replace("04lR0000000CcIFIA0", "04lR0000000CcIFXXX"), "Notification/Id"),
        (SAMPLE.replace("a06R00000009QZaIAM", "a06R00000009QZaXXX"), "sObject/Id"),
        (SAMPLE.replace(r#" xsi:type="sf:Design_Registration__c""#, ""), "xsi:type"),
        (SAMPLE.replace("<PartnerUrl>", "<Extra>x</Extra><PartnerUrl>"), "unknown element Extra"),
        (SAMPLE.replace("<sf:Name>URT</sf:Name>", "<sf:Name><sf:b>x</sf:b></sf:Name>"), "must not contain"),
        (SAMPLE.replace("<sf:Name>URT</sf:Name>", "<sf:Name>URT</sf:Name><sf:Name>again</sf:Name>"), "appears twice"),
        (SAMPLE.replace("<Notification>", "stray text<Notification>"), "mixes text"),
        (SAMPLE.replace("<SessionId xsi:nil=\"true\"/>", "<SessionId/><SessionId/>"), "more than one SessionId"),
    ];
    for (xml, want) in cases {
        let err = parse_notifications(xml.as_bytes()).expect_err(want).to_string();
        assert!(err.contains(want), "wanted {want:?} in {err:?}");
    }
}

// ------------------------------------------------------------------ properties

/// A valid envelope with a few notifications, to mutate.
fn valid_envelopes() -> Vec<String> {
    let three: String = (0..3)
        .map(|i| notification(&notification_id(i), "Contact", &format!("<sf:Id>003R0000000CcIFIA0</sf:Id><sf:Email>a{i}@example.com</sf:Email><sf:Note><![CDATA[x]]></sf:Note><sf:Phone xsi:nil=\"true\"/>")))
        .collect();
    vec![SAMPLE.to_string(), envelope(&three)]
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fragments = prop::sample::select(vec![
        &b"<"[..], b">", b"&", b"&lol;", b"&#0;", b"&#x110000;", b"]]>", b"<![CDATA[", b"<!DOCTYPE x>", b"<?pi?>", b"<!--",
        b"xmlns:sf=\"\"", b" xsi:nil=\"true\"", b"</sObject>", b"<Notification>", b"\xff\xfe", b"\0",
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), prop_oneof![fragments.prop_map(|f| f.to_vec()), prop::collection::vec(any::<u8>(), 1..8)]).prop_map(|(i, f)| Mutation::Insert(i, f)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

fn apply(mut b: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match m {
        Mutation::Truncate(i) => b.truncate(at(*i, b.len())),
        Mutation::Flip(i, x) if !b.is_empty() => {
            let j = i % b.len();
            b[j] ^= x;
        }
        Mutation::Flip(..) => {}
        Mutation::Insert(i, f) => {
            let j = at(*i, b.len());
            b.splice(j..j, f.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let j = at(*i, b.len());
            let end = (j + n).min(b.len());
            b.drain(j..end);
        }
    }
    b
}

/// Salesforce API names: a letter, then letters, digits and underscores.
fn field_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_]{0,30}".prop_filter("Id is set by the test; fieldsToNull carries no field", |n| n != "Id" && n != "fieldsToNull")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_notifications(&bytes);
    }

    #[test]
    fn mutated_envelopes_never_panic(which in 0usize..2, mutations in prop::collection::vec(mutation(), 1..6)) {
        let start = valid_envelopes()[which].clone().into_bytes();
        let body = mutations.iter().fold(start, apply);
        let _ = parse_notifications(&body);
    }

    #[test]
    fn fields_round_trip_through_an_envelope(
        sobject_type in "[A-Z][A-Za-z0-9_]{0,20}",
        records in prop::collection::vec(prop::collection::btree_map(field_name(), prop::option::of(any::<String>()), 0..12), 1..5),
    ) {
        let body: String = records.iter().enumerate().map(|(i, fields)| {
            let inner: String = fields.iter().map(|(k, v)| match v {
                Some(v) => format!("<sf:{k}>{}</sf:{k}>", escape(v)),
                None => format!("<sf:{k} xsi:nil=\"true\"/>"),
            }).collect();
            notification(&notification_id(i), &sobject_type, &format!("<sf:Id>500R0000000CcIFIA0</sf:Id>{inner}"))
        }).collect();
        let m = parse_notifications(envelope(&body).as_bytes()).unwrap();
        prop_assert_eq!(m.notifications.len(), records.len());
        for (n, want) in m.notifications.iter().zip(&records) {
            prop_assert_eq!(&n.record.sobject_type, &sobject_type);
            let mut got = n.record.fields.clone();
            prop_assert_eq!(got.remove("Id"), Some(Some("500R0000000CcIFIA0".to_string())));
            prop_assert_eq!(&got, want);
        }
    }
}
