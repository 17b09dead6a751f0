//! A survey's results report: per question, what its answers add up to over
//! a range of finish times. The database does the counting
//! (`store::results`); this module turns the tallies into the figures a
//! person reads — percentages, the NPS score, mean and median.

use crate::projects::Project;
use crate::{App, AppError};
use domain::{Question, QuestionKind};
use std::collections::HashMap;
use store::results::AnswerTally;

pub use store::results::{FinishedBetween, RecentAnswer};

/// How many recent answers a text question shows.
pub const RECENT_ANSWERS: i64 = 10;

#[derive(Debug, Clone)]
pub struct Report {
    /// Responses finished in the range.
    pub responses: u64,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Clone)]
pub struct QuestionResult {
    pub question: Question,
    /// Responses of the range that answer it, and those that do not.
    pub answered: u64,
    pub skipped: u64,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Summary {
    /// One bar per choice, in the survey's order; answers whose choice was
    /// since renamed or deleted follow, marked `current: false`.
    Choices { multiple: bool, bars: Vec<Bar> },
    Nps(Nps),
    Numbers(Option<Numbers>),
    Texts(Vec<RecentAnswer>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub count: u64,
    /// Of the respondents who answered the question.
    pub percent: f64,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Nps {
    /// Promoters (9–10) minus detractors (0–6), as a percentage of answers:
    /// -100 to 100. `None` without answers.
    pub score: Option<f64>,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// How many answered 0, 1, … 10.
    pub distribution: [u64; 11],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Numbers {
    pub mean: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub histogram: Vec<Bin>,
}

/// Answers in `[from, to)` (the last bin includes its `to`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub from: f64,
    pub to: f64,
    pub count: u64,
}

impl App {
    /// The results of the project's survey over responses finished in the
    /// range, for anyone who may see the project (the same `Project` the
    /// responses table is read with).
    pub async fn results(&self, project: &Project, range: FinishedBetween) -> Result<Report, AppError> {
        let survey = self.survey(project).await?;
        let responses = self.store.responses_between(project.id, range).await?;
        let tallied: Vec<&str> = survey.definition.questions.iter().filter(|q| q.kind.results_count_values()).map(|q| q.id.as_str()).collect();
        let tallies = self.store.answer_tallies(project.id, range, &tallied).await?;
        let mut by_question: HashMap<&str, Vec<&AnswerTally>> = HashMap::new();
        for t in &tallies {
            by_question.entry(t.question.as_str()).or_default().push(t);
        }
        let mut questions = Vec::with_capacity(survey.definition.questions.len());
        for q in &survey.definition.questions {
            let rows = by_question.remove(q.id.as_str()).unwrap_or_default();
            let answered = rows.iter().find(|t| t.value.is_none()).map(|t| t.n.max(0) as u64).unwrap_or(0);
            // A removed question without answers in the range has nothing to say.
            if q.removed && answered == 0 {
                continue;
            }
            let values: Vec<(&str, u64)> = rows.iter().filter_map(|t| t.value.as_deref().map(|v| (v, t.n.max(0) as u64))).collect();
            let summary = match &q.kind {
                QuestionKind::SingleChoice { choices } => Summary::Choices { multiple: false, bars: bars(choices.as_slice(), &values, answered) },
                QuestionKind::MultipleChoice { choices } => Summary::Choices { multiple: true, bars: bars(choices.as_slice(), &values, answered) },
                QuestionKind::Nps => Summary::Nps(nps(&numeric(&values))),
                QuestionKind::Number { .. } => Summary::Numbers(numbers(&numeric(&values))),
                QuestionKind::Text { .. } | QuestionKind::Email => {
                    let recent = match answered {
                        0 => Vec::new(),
                        _ => self.store.recent_answers(project.id, range, q.id.as_str(), RECENT_ANSWERS).await?,
                    };
                    Summary::Texts(recent)
                }
            };
            questions.push(QuestionResult { question: q.clone(), answered, skipped: responses.saturating_sub(answered), summary });
        }
        Ok(Report { responses, questions })
    }
}

fn percent(count: u64, of: u64) -> f64 {
    match of {
        0 => 0.0,
        _ => count as f64 * 100.0 / of as f64,
    }
}

/// The bars of a choice question: every current choice (zero or not), then
/// the values no longer among the choices, most given first.
pub fn bars(choices: &[String], values: &[(&str, u64)], answered: u64) -> Vec<Bar> {
    let count_of = |label: &str| values.iter().filter(|(v, _)| *v == label).map(|(_, n)| n).sum::<u64>();
    let mut bars: Vec<Bar> = choices
        .iter()
        .map(|c| {
            let count = count_of(c);
            Bar { label: c.clone(), count, percent: percent(count, answered), current: true }
        })
        .collect();
    let mut former: Vec<&(&str, u64)> = values.iter().filter(|(v, _)| !choices.iter().any(|c| c == v)).collect();
    former.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    bars.extend(former.into_iter().map(|(v, n)| Bar { label: v.to_string(), count: *n, percent: percent(*n, answered), current: false }));
    bars
}

fn numeric(values: &[(&str, u64)]) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = values.iter().filter_map(|(v, n)| v.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| (x, *n))).collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The Net Promoter Score of 0–10 answers with their counts.
pub fn nps(values: &[(f64, u64)]) -> Nps {
    let mut distribution = [0u64; 11];
    for (v, n) in values {
        if (0.0..=10.0).contains(v) {
            distribution[v.round() as usize] += n;
        }
    }
    let detractors: u64 = distribution[..=6].iter().sum();
    let passives: u64 = distribution[7..=8].iter().sum();
    let promoters: u64 = distribution[9..].iter().sum();
    let total = detractors + passives + promoters;
    let score = (total > 0).then(|| (promoters as f64 - detractors as f64) * 100.0 / total as f64);
    Nps { score, promoters, passives, detractors, distribution }
}

/// Mean, median, extremes and a histogram of numbers with their counts,
/// sorted by value.
pub fn numbers(sorted: &[(f64, u64)]) -> Option<Numbers> {
    let total: u64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mean = sorted.iter().map(|(v, n)| v * *n as f64).sum::<f64>() / total as f64;
    let nth = |k: u64| -> f64 {
        let mut seen = 0;
        for (v, n) in sorted {
            seen += n;
            if k < seen {
                return *v;
            }
        }
        sorted[sorted.len() - 1].0
    };
    let median = match total % 2 {
        1 => nth(total / 2),
        _ => (nth(total / 2 - 1) + nth(total / 2)) / 2.0,
    };
    let (min, max) = (sorted[0].0, sorted[sorted.len() - 1].0);
    Some(Numbers { mean, median, min, max, histogram: histogram(sorted, min, max) })
}

/// A bar per value when there are few whole values, else ten equal bins.
fn histogram(sorted: &[(f64, u64)], min: f64, max: f64) -> Vec<Bin> {
    const BINS: usize = 10;
    let whole = sorted.iter().all(|(v, _)| v.fract() == 0.0);
    if whole && max - min < BINS as f64 {
        let mut bins: Vec<Bin> = (0..=(max - min) as i64).map(|i| Bin { from: min + i as f64, to: min + i as f64 + 1.0, count: 0 }).collect();
        for (v, n) in sorted {
            bins[(v - min) as usize].count += n;
        }
        return bins;
    }
    let width = (max - min) / BINS as f64;
    let mut bins: Vec<Bin> = (0..BINS).map(|i| Bin { from: min + width * i as f64, to: min + width * (i + 1) as f64, count: 0 }).collect();
    for (v, n) in sorted {
        let i = (((v - min) / width) as usize).min(BINS - 1);
        bins[i].count += n;
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_is_promoters_minus_detractors_over_answers() {
        // 3 promoters, 1 passive, 2 detractors: (3 - 2) / 6 = 16.7.
        let n = nps(&[(0.0, 1), (6.0, 1), (7.0, 1), (9.0, 2), (10.0, 1)]);
        assert_eq!((n.promoters, n.passives, n.detractors), (3, 1, 2));
        assert!((n.score.unwrap() - 100.0 / 6.0).abs() < 1e-9);
        assert_eq!(n.distribution[9], 2);
        assert_eq!(nps(&[]).score, None);
    }

    #[test]
    fn median_of_an_even_count_is_the_middle_pair_averaged() {
        let s = numbers(&[(1.0, 1), (2.0, 1), (4.0, 1), (10.0, 1)]).unwrap();
        assert_eq!((s.mean, s.median, s.min, s.max), (4.25, 3.0, 1.0, 10.0));
        assert_eq!(numbers(&[(5.0, 3), (7.0, 1)]).unwrap().median, 5.0);
        assert_eq!(numbers(&[]), None);
    }

    #[test]
    fn every_value_falls_in_a_bin() {
        let s = numbers(&[(0.5, 1), (3.25, 2), (99.0, 4)]).unwrap();
        assert_eq!(s.histogram.iter().map(|b| b.count).sum::<u64>(), 7);
        assert_eq!(s.histogram.last().unwrap().count, 4);
    }

    #[test]
    fn choices_keep_survey_order_and_former_choices_follow() {
        let choices = vec!["Free".to_string(), "Pro".to_string()];
        let b = bars(&choices, &[("Pro", 3), ("Gold", 1)], 4);
        assert_eq!(b.iter().map(|b| (b.label.as_str(), b.count, b.current)).collect::<Vec<_>>(), vec![("Free", 0, true), ("Pro", 3, true), ("Gold", 1, false)]);
        assert_eq!(b[1].percent, 75.0);
    }
}
