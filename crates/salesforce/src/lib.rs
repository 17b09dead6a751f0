//! Insight's Salesforce client.
