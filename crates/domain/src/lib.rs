//! Insight's domain: the words of the product as types, and its rules as plain
//! functions. Nothing here does I/O; handlers and workers call these rules and
//! never re-implement them.

pub mod account;
pub mod attention;
pub mod budget;
pub mod delivery;
pub mod display_logic;
pub mod getting_started;
pub mod invitation;
pub mod link;
pub mod mapping;
pub mod project;
pub mod response;
pub mod response_filter;
pub mod signed_link;
pub mod signup;
pub mod survey;
pub mod survey_texts;
pub mod transfer;
pub mod trigger;
pub mod trusted_record;

pub use account::{DisplayName, Email, NewPassword};
pub use delivery::DeliveryStatus;
pub use display_logic::{ConditionTest, DisplayCondition};
pub use link::{Environment, LinkEventKind, LinkFacts, Owner, ProjectLinkStatus, SalesforceWork, Validation};
pub use mapping::{FieldName, FieldRule, FieldValue, Mapping, MappingAction, MappingProblem, ObjectSchema, RecordKey, RecordToWrite, ResponseValues, SObjectName, ValueSource};
pub use project::{Access, ProjectName, Role};
pub use response::{Answer, Answers, EmbeddedData, ResponseId};
pub use response_filter::{FilterInput, FilterProblem, PageStart, ResponseFilter, Search, Sort, StatusChoice, TableKey};
pub use signed_link::{EmbeddedProvenance, LinkKey};
pub use survey_texts::{SurveyIntroduction, ThankYouMessage};
pub use transfer::TransferStatus;
pub use trusted_record::{may_decide_record, RecordRefused};
pub use survey::{
    AnswerError, ChoiceList, EmbeddedFieldName, Question, QuestionId, QuestionKind, QuestionText,
    SurveyDefinition, SurveyStatus,
};

/// Why a piece of user input was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid(message.into())
    }
}
