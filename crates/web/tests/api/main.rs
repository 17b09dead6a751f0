mod helpers;

mod abuse_signin;
mod accounts;
mod api_tokens;
mod projects;
mod deliveries;
mod mappings;
mod respondents;
mod salesforce_link;
