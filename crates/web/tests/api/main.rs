mod helpers;
mod smtp_sink;

mod abuse_signin;
mod accounts;
mod api_tokens;
mod consent;
mod projects;
mod deliveries;
mod hygiene;
mod invitations;
mod mail;
mod mappings;
mod respondents;
mod my_domain;
mod salesforce_link;
mod signed_links;
mod signup_by_mail;
