mod helpers;

mod accounts;
mod api_tokens;
mod projects;
mod respondents;
mod salesforce_link;
