mod helpers;

mod abuse_signin;
mod accounts;
mod api_tokens;
mod consent;
mod projects;
mod deliveries;
mod hygiene;
mod mappings;
mod respondents;
mod my_domain;
mod salesforce_link;
mod signed_links;
mod stylesheet;
