mod helpers;

mod accounts;
mod api_tokens;
mod projects;
mod deliveries;
mod mappings;
mod respondents;
mod my_domain;
mod salesforce_link;
