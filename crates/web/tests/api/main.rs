mod helpers;

mod accounts;
mod api_tokens;
mod projects;
mod mappings;
mod respondents;
mod salesforce_link;
