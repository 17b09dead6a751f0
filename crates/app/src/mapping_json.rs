//! A survey's mappings as a JSON file: exported to keep them in version
//! control or to copy them to another survey, and imported back, all or
//! nothing. An import is refused, naming the place in the file, when the
//! file is not JSON, has the wrong shape, is of another format or a newer
//! version, reads questions the survey does not have (or has with another
//! text), or does not fit the owner's org.
//!
//! The mappings travel exactly as `domain::Mapping` serializes (as they are
//! stored), so actions and value sources added later travel too.

use crate::consent::{actor, require_salesforce_changes};
use crate::integration::{self, IntegrationCheck, Replaced};
use crate::{AppError, App};
use domain::mapping::{Condition, Subject};
use domain::survey::QuestionId;
use domain::{Mapping, MappingAction, SurveyDefinition, ValueSource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use store::projects::Project;

/// What the file says it is, so a file of another kind is told apart from
/// a mistyped one.
pub const FORMAT: &str = "insight-mappings";
/// The newest version of the file this Insight reads (and the one it writes).
pub const VERSION: u64 = 1;
/// The largest file an import reads: a survey's mappings are a few KiB.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// The file. Its fields serialize in this order, and the questions by id,
/// so an export diffs well in version control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingsFile {
    pub format: String,
    pub version: u64,
    /// The title of the survey it was exported from (for people reading it).
    pub survey: String,
    /// Each question a mapping reads, with its text there, so an import into
    /// another survey can tell whether `q1` means the same question.
    #[serde(default)]
    pub questions: BTreeMap<QuestionId, String>,
    pub mappings: Vec<Mapping>,
}

/// An export, ready to download.
#[derive(Debug, Clone)]
pub struct ExportedFile {
    pub filename: String,
    pub json: String,
}

/// Why an import was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportRefused {
    #[error("The file is not JSON: {message} (line {line}, column {column}).")]
    NotJson { line: usize, column: usize, message: String },
    #[error("The file is not an Insight mappings file: \"format\" is {found}, where \"{FORMAT}\" was expected.")]
    WrongFormat { found: String },
    #[error("The file is version {found} of the mappings format; this Insight reads up to version {VERSION}. Export it again from this Insight, or update Insight.")]
    NewerVersion { found: String },
    #[error("At {path}: {message}.")]
    WrongShape { path: String, message: String },
    #[error("At {path}: there is no field \"{field}\" here (a typo?).")]
    UnknownField { path: String, field: String },
    /// Each mapping that reads a question the survey lacks or words otherwise.
    #[error("{}", .0.join(" "))]
    Questions(Vec<String>),
    /// Each problem of each mapping that does not fit the owner's org.
    #[error("{}", .0.join(" "))]
    DoesNotFit(Vec<String>),
}

impl ImportRefused {
    /// The problems one by one, for a list beside the import form.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ImportRefused::Questions(p) | ImportRefused::DoesNotFit(p) => p.clone(),
            other => vec![other.to_string()],
        }
    }

    /// Unreadable JSON is a bad request; JSON that reads but does not fit is not.
    pub fn is_unparsable(&self) -> bool {
        matches!(self, ImportRefused::NotJson { .. })
    }
}

/// What an import came to.
#[derive(Debug)]
pub enum Imported {
    Saved { objects: Vec<String>, check: IntegrationCheck },
    /// The survey has mappings already: the person confirms that the file's
    /// replace them, against `version`, the mappings they were shown.
    NeedsConfirmation { current: usize, incoming: usize, version: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Refused(#[from] ImportRefused),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<integration::IntegrationError> for ImportError {
    fn from(e: integration::IntegrationError) -> Self {
        ImportError::App(e.into())
    }
}

impl From<store::StoreError> for ImportError {
    fn from(e: store::StoreError) -> Self {
        ImportError::App(e.into())
    }
}

/// The questions a mapping reads, wherever it reads them. The matches are
/// exhaustive on purpose: a new value source must say here whether it
/// reads a question.
fn questions_read(m: &Mapping) -> Vec<&QuestionId> {
    fn of(source: &ValueSource) -> Option<&QuestionId> {
        match source {
            ValueSource::Answer { question } => Some(question),
            ValueSource::Embedded { .. }
            | ValueSource::ResponseId
            | ValueSource::StartedAt
            | ValueSource::FinishedAt
            | ValueSource::Static { .. }
            | ValueSource::RecordOf { .. } => None,
        }
    }
    let mut read: Vec<&QuestionId> = Vec::new();
    match &m.action {
        MappingAction::Update { record_id: source } | MappingAction::Match { source, .. } => read.extend(of(source)),
        MappingAction::Create | MappingAction::Upsert { .. } => {}
    }
    read.extend(m.rules.iter().filter_map(|r| of(&r.source)));
    let clauses = m.condition.iter().flat_map(|c: &Condition| c.clauses.iter());
    read.extend(clauses.filter_map(|c| match &c.subject {
        Subject::Answer { question } => Some(question),
        Subject::Embedded { .. } => None,
    }));
    read.sort();
    read.dedup();
    read
}

/// The file for these mappings of this survey.
pub fn file_of(title: &str, survey: &SurveyDefinition, mappings: &[Mapping]) -> MappingsFile {
    let questions = mappings
        .iter()
        .flat_map(questions_read)
        .filter_map(|id| survey.questions.iter().find(|q| &q.id == id).map(|q| (id.clone(), q.text.as_str().to_string())))
        .collect();
    MappingsFile { format: FORMAT.into(), version: VERSION, survey: title.to_string(), questions, mappings: mappings.to_vec() }
}

/// The file as written: pretty-printed, ending in a newline.
pub fn to_json(file: &MappingsFile) -> String {
    let mut json = serde_json::to_string_pretty(file).expect("mappings serialize to JSON");
    json.push('\n');
    json
}

/// `Post-case CSAT` → `post-case-csat`: the survey's title as a file name.
fn file_stem(title: &str, project_id: i64) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.is_empty() {
        format!("survey-{project_id}")
    } else {
        words.join("-").chars().take(60).collect()
    }
}

/// Reads a file, refusing it with the place of the first thing wrong.
pub fn parse(text: &str) -> Result<MappingsFile, ImportRefused> {
    let value: Value = serde_json::from_str(text).map_err(|e| ImportRefused::NotJson { line: e.line(), column: e.column(), message: json_words(&e) })?;
    // Format and version first: a newer file may have another shape, and
    // "newer version" is the error a person can act on, not its shape.
    let format = value.get("format");
    if format.and_then(Value::as_str) != Some(FORMAT) {
        let found = format.map(Value::to_string).unwrap_or_else(|| "missing".into());
        return Err(ImportRefused::WrongFormat { found });
    }
    if let Some(v) = value.get("version") {
        let newer = v.as_u64().map_or_else(|| v.as_f64().is_some_and(|n| n > VERSION as f64), |n| n > VERSION);
        if newer {
            return Err(ImportRefused::NewerVersion { found: v.to_string() });
        }
    }
    let file: MappingsFile = serde_path_to_error::deserialize(&value).map_err(|e| ImportRefused::WrongShape { path: path_words(&e.path().to_string()), message: e.inner().to_string() })?;
    if file.version == 0 {
        return Err(ImportRefused::WrongShape { path: "version".into(), message: format!("versions start at 1; this Insight reads up to version {VERSION}") });
    }
    // Mapping's types do not refuse unknown fields (stored rows load as
    // they are), and serde reads the internally tagged value sources
    // without seeing them. So an unknown field is found by writing the file
    // back: a key the file has and the written file lacks was not read, and
    // a typo in a field name must not vanish.
    let written = serde_json::to_value(&file).expect("mappings serialize to JSON");
    if let Some((path, field)) = unread_key(&value, &written, String::new()) {
        return Err(ImportRefused::UnknownField { path: path_words(&path), field });
    }
    Ok(file)
}

/// serde_json's message without its own "at line … column …" (said apart).
fn json_words(e: &serde_json::Error) -> String {
    let words = e.to_string();
    match words.rfind(" at line ") {
        Some(i) => words[..i].to_string(),
        None => words,
    }
}

/// A path as a person reads it (serde_path_to_error says `.` for the top).
fn path_words(path: &str) -> String {
    if path.is_empty() || path == "." { "the top of the file".into() } else { path.into() }
}

/// The first key of `read` that `written` lacks, with where it is. A null
/// that was left out (an absent option) was read, not dropped; a field
/// written only when not at its default would need the same allowance.
fn unread_key(read: &Value, written: &Value, at: String) -> Option<(String, String)> {
    match (read, written) {
        (Value::Object(r), Value::Object(w)) => r.iter().find_map(|(k, v)| match w.get(k) {
            None if v.is_null() => None,
            None => Some((at.clone(), k.clone())),
            Some(wv) => unread_key(v, wv, if at.is_empty() { k.clone() } else { format!("{at}.{k}") }),
        }),
        (Value::Array(r), Value::Array(w)) => r.iter().zip(w).enumerate().find_map(|(i, (rv, wv))| unread_key(rv, wv, format!("{at}[{i}]"))),
        _ => None,
    }
}

/// Each mapping that reads a question this survey lacks, or has with
/// another text than the file says: copying to another survey needs the
/// same questions under the same ids.
fn question_problems(file: &MappingsFile, survey: &SurveyDefinition) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, m) in file.mappings.iter().enumerate() {
        for id in questions_read(m) {
            let here = survey.question(id).map(|q| q.text.as_str());
            let problem = match (file.questions.get(id), here) {
                (_, None) => format!("mappings[{i}] ({}) reads {id}, which this survey does not have; add the question to the survey, or edit the file.", m.object.as_str()),
                (None, Some(text)) => format!(
                    "mappings[{i}] ({}) reads {id}, but the file's \"questions\" does not say which question that is; add \"{id}\": \"{text}\" to it if that is the one meant.",
                    m.object.as_str()
                ),
                (Some(there), Some(text)) if there.trim() != text.trim() => format!(
                    "mappings[{i}] reads {id}, which in the file is \"{there}\" but in this survey is \"{text}\"; edit the file or the survey."
                ),
                _ => continue,
            };
            problems.push(problem);
        }
    }
    problems
}

impl App {
    /// The project's mappings as a file: anyone who may see the project may
    /// export them. No org id, token or other secret is in it.
    pub async fn export_mappings(&self, project: &Project) -> Result<ExportedFile, AppError> {
        let survey = self.store.survey(project.id).await?.map(|s| s.definition).unwrap_or_default();
        let mappings = self.store.integration(project.id).await?.map(|i| i.mappings).unwrap_or_default();
        let file = file_of(&project.name, &survey, &mappings);
        Ok(ExportedFile { filename: format!("{}-mappings.json", file_stem(&project.name, project.id)), json: to_json(&file) })
    }

    /// Replaces the project's mappings with a file's, all or nothing (see
    /// the module); only an account that may change what the project
    /// writes into the owner's org may. Mappings already there are replaced
    /// only once confirmed (`confirmed`: the version of them the person saw).
    pub async fn import_mappings(&self, project: &Project, by: &crate::accounts::Account, text: &str, confirmed: Option<i64>) -> Result<Imported, ImportError> {
        require_salesforce_changes(project)?;
        let settings = self.settings().map_err(AppError::from)?;
        let file = parse(text)?;
        let survey = self.store.survey(project.id).await?.map(|s| s.definition).unwrap_or_default();
        let problems = question_problems(&file, &survey);
        if !problems.is_empty() {
            return Err(ImportRefused::Questions(problems).into());
        }
        let incoming = file.mappings.len();
        let objects: Vec<String> = file.mappings.iter().map(|m| m.object.as_str().to_string()).collect();
        let described = format!("imported {incoming} mapping{} from a file", if incoming == 1 { "" } else { "s" });
        match integration::replace(&self.store, settings, project, &actor(by), file.mappings, confirmed, &described).await? {
            Replaced::Saved(check) => Ok(Imported::Saved { objects, check }),
            Replaced::Unconfirmed { current, version } => Ok(Imported::NeedsConfirmation { current, incoming, version }),
            Replaced::DoesNotFit(checked) => {
                let problems = checked
                    .iter()
                    .enumerate()
                    .flat_map(|(i, c)| c.problems.iter().map(move |p| format!("mappings[{i}] ({}): {}", c.mapping.object.as_str(), p.message)))
                    .collect();
                Err(ImportRefused::DoesNotFit(problems).into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "format": "insight-mappings",
  "version": 1,
  "survey": "Post-case CSAT",
  "questions": { "q1": "How likely are you to recommend us?" },
  "mappings": [
    { "object": "Survey_Response__c", "action": { "action": "create" },
      "rules": [ { "field": "Score__c", "source": { "from": "answer", "question": "q1" } } ] }
  ]
}"#;

    fn refusal(text: &str) -> ImportRefused {
        parse(text).expect_err("refused")
    }

    #[test]
    fn a_file_reads_back_as_it_was_written() {
        let file = parse(GOOD).unwrap();
        assert_eq!(parse(&to_json(&file)).unwrap(), file);
        assert_eq!(file.mappings[0].object.as_str(), "Survey_Response__c");
    }

    #[test]
    fn every_action_reads_back_with_each_field_it_was_given() {
        let matched = GOOD.replace(
            "{ \"action\": \"create\" }",
            "{ \"action\": \"match\", \"field\": \"Email\", \"source\": { \"from\": \"answer\", \"question\": \"q2\" }, \"when_none\": \"create\" }",
        );
        let file = parse(&matched).unwrap();
        assert!(matches!(file.mappings[0].action, MappingAction::Match { .. }), "{file:?}");
        assert_eq!(questions_read(&file.mappings[0]).len(), 2, "the matched answer is read too");
    }

    #[test]
    fn unreadable_json_names_its_line_and_column() {
        let e = refusal("{\n  \"format\": \"insight-mappings\",\n  \"version\": 1,,\n}");
        assert!(matches!(e, ImportRefused::NotJson { line: 3, column: 16, .. }), "{e:?}");
    }

    #[test]
    fn a_wrong_shape_names_its_path() {
        let e = refusal(&GOOD.replace("\"from\": \"answer\"", "\"from\": \"anwser\""));
        let ImportRefused::WrongShape { path, message } = &e else { panic!("{e:?}") };
        assert_eq!(path, "mappings[0].rules[0].source.from", "{e}");
        assert!(message.contains("anwser") && message.contains("answer"), "{message}");
        let e = refusal(&GOOD.replace("\"Score__c\"", "\"Bad Name\""));
        assert!(e.to_string().starts_with("At mappings[0].rules[0].field:") && e.to_string().contains("\"Bad Name\" is not a Salesforce field API name"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_refused_wherever_it_is() {
        let e = refusal(&GOOD.replace("\"question\": \"q1\"", "\"question\": \"q1\", \"qestion\": \"q2\""));
        assert_eq!(e, ImportRefused::UnknownField { path: "mappings[0].rules[0].source".into(), field: "qestion".into() });
        let e = refusal(&GOOD.replace("\"rules\"", "\"condtion\": {}, \"rules\""));
        assert_eq!(e, ImportRefused::UnknownField { path: "mappings[0]".into(), field: "condtion".into() });
        let e = refusal(&GOOD.replace("\"survey\"", "\"comment\": \"x\", \"survey\""));
        assert_eq!(e, ImportRefused::UnknownField { path: "the top of the file".into(), field: "comment".into() });
        assert_eq!(e.to_string(), "At the top of the file: there is no field \"comment\" here (a typo?).");
    }

    #[test]
    fn another_format_or_a_newer_version_is_refused_first() {
        assert_eq!(refusal(r#"{"format": "something-else"}"#), ImportRefused::WrongFormat { found: "\"something-else\"".into() });
        assert_eq!(refusal(r#"[1, 2]"#), ImportRefused::WrongFormat { found: "missing".into() });
        assert_eq!(refusal(r#"{"format": "insight-mappings", "version": 2, "whatever": []}"#), ImportRefused::NewerVersion { found: "2".into() });
    }

    #[test]
    fn questions_must_be_the_same_in_the_survey() {
        let file = parse(GOOD).unwrap();
        let mut survey = SurveyDefinition::default();
        let e = question_problems(&file, &survey);
        assert_eq!(e, vec!["mappings[0] (Survey_Response__c) reads q1, which this survey does not have; add the question to the survey, or edit the file.".to_string()]);
        survey.add_question(domain::survey::QuestionText::parse("Your email").unwrap(), domain::survey::QuestionKind::Text { multiline: false }, false).unwrap();
        let e = question_problems(&file, &survey);
        assert_eq!(e, vec!["mappings[0] reads q1, which in the file is \"How likely are you to recommend us?\" but in this survey is \"Your email\"; edit the file or the survey.".to_string()]);
    }

    #[test]
    fn the_file_name_is_the_survey_title() {
        assert_eq!(file_stem("Post-case CSAT (2024)", 7), "post-case-csat-2024");
        assert_eq!(file_stem("Équipe ¿?", 7), "quipe");
        assert_eq!(file_stem("¿?", 7), "survey-7");
    }
}
