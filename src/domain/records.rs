//! Departmental records (interface.md): what people in the managing departments decide and enter
//! through workbooks (支撑配合 points, 信用考核 violation determinations, 附件二 presales scores),
//! read cell by cell and checked against rules.md, every problem at once. Pure: cells in, rows of
//! the contract's datasets (text, as a source would give them) or the list of problems out.

use super::period::{parse_date, Month, Quarter};
use super::text::{self, TextIssue};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// Which records a workbook holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum RecordKind {
    ManualScores,
    Violations,
    PresalesScores,
    /// 不良信用记录名单 decisions of the department's meeting (第三十六、三十七条).
    Blacklist,
    /// 退出申请: a partner's written application to leave (第三十一、三十二条).
    ExitRequests,
    /// 稽核剔除: fee items the audit excluded from a month's settlement (第二十条).
    AuditExclusions,
}

impl RecordKind {
    pub(crate) const ALL: [RecordKind; 6] = [
        RecordKind::ManualScores,
        RecordKind::Violations,
        RecordKind::PresalesScores,
        RecordKind::Blacklist,
        RecordKind::ExitRequests,
        RecordKind::AuditExclusions,
    ];

    /// The name in `[datasets]`, the store and the commands.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RecordKind::ManualScores => "manual_scores",
            RecordKind::Violations => "violations",
            RecordKind::PresalesScores => "presales_scores",
            RecordKind::Blacklist => "blacklist_entries",
            RecordKind::ExitRequests => "exit_requests",
            RecordKind::AuditExclusions => "audit_exclusions",
        }
    }

    /// Whether the records belong to a period (blacklist decisions and exit requests do not:
    /// each takes effect at the next run of every period it touches).
    pub(crate) fn has_period(self) -> bool {
        !matches!(self, RecordKind::Blacklist | RecordKind::ExitRequests)
    }

    /// The column titles the import reads (in this order of meaning); other columns are for people.
    pub(crate) fn titles(self) -> &'static [&'static str] {
        match self {
            RecordKind::ManualScores => &[T_PERIOD_MONTH, T_DEPARTMENT, T_PARTNER, T_INDICATOR, T_POINTS],
            RecordKind::Violations => &[
                T_PERIOD_MONTH,
                T_VIOLATION,
                T_PARTNER,
                T_CONFIRMED_ON,
                T_CLASS,
                T_CATEGORY,
                T_DEDUCTION,
                T_SEVERE,
                T_DESCRIPTION,
            ],
            RecordKind::PresalesScores => &[T_PERIOD_QUARTER, T_PROJECT, T_PARTNER, T_POINTS],
            RecordKind::Blacklist => &[T_PARTNER, T_DECIDED_ON, T_REASON],
            RecordKind::ExitRequests => {
                &[T_REQUEST, T_PARTNER, T_CONTRACT, T_EXIT_TYPE, T_REQUESTED_ON, T_PLANNED_EXIT_ON]
            }
            RecordKind::AuditExclusions => &[T_PERIOD_MONTH, T_FEE, T_REASON, T_FOUND_ON],
        }
    }

    /// The columns a person fills in: a row with all of them empty is left blank.
    fn filled_by_people(self) -> &'static [&'static str] {
        match self {
            RecordKind::ManualScores | RecordKind::PresalesScores => &[T_POINTS],
            RecordKind::Violations => {
                &[T_VIOLATION, T_PARTNER, T_CONFIRMED_ON, T_CLASS, T_CATEGORY, T_DEDUCTION, T_SEVERE, T_DESCRIPTION]
            }
            RecordKind::Blacklist => &[T_PARTNER, T_DECIDED_ON, T_REASON],
            RecordKind::ExitRequests => {
                &[T_REQUEST, T_PARTNER, T_CONTRACT, T_EXIT_TYPE, T_REQUESTED_ON, T_PLANNED_EXIT_ON]
            }
            // The template lists the month's fee items: a reason makes one an exclusion.
            RecordKind::AuditExclusions => &[T_REASON, T_FOUND_ON],
        }
    }

    /// Titles that must be present.
    fn required(self) -> &'static [&'static str] {
        match self {
            RecordKind::ManualScores => &[T_PERIOD_MONTH, T_PARTNER, T_INDICATOR, T_POINTS],
            RecordKind::Violations => {
                &[T_PERIOD_MONTH, T_PARTNER, T_CONFIRMED_ON, T_CLASS, T_CATEGORY, T_DEDUCTION, T_SEVERE]
            }
            RecordKind::PresalesScores => &[T_PERIOD_QUARTER, T_PROJECT, T_PARTNER, T_POINTS],
            RecordKind::Blacklist => &[T_PARTNER, T_DECIDED_ON, T_REASON],
            RecordKind::ExitRequests => {
                &[T_REQUEST, T_PARTNER, T_CONTRACT, T_EXIT_TYPE, T_REQUESTED_ON, T_PLANNED_EXIT_ON]
            }
            RecordKind::AuditExclusions => &[T_PERIOD_MONTH, T_FEE, T_REASON],
        }
    }
}

// The titles of the columns the import reads (interface.md: exactly these).
pub(crate) const T_PARTNER: &str = "合作伙伴编号";
pub(crate) const T_INDICATOR: &str = "指标";
pub(crate) const T_POINTS: &str = "得分";
pub(crate) const T_PERIOD_MONTH: &str = "月份";
pub(crate) const T_PERIOD_QUARTER: &str = "季度";
pub(crate) const T_DEPARTMENT: &str = "归口部门";
pub(crate) const T_VIOLATION: &str = "编号";
pub(crate) const T_CONFIRMED_ON: &str = "认定日期";
pub(crate) const T_CLASS: &str = "违约类别";
pub(crate) const T_CATEGORY: &str = "违约事项";
pub(crate) const T_DEDUCTION: &str = "扣分";
pub(crate) const T_SEVERE: &str = "情节恶劣";
pub(crate) const T_DESCRIPTION: &str = "说明";
pub(crate) const T_PROJECT: &str = "项目编号";
pub(crate) const T_DECIDED_ON: &str = "列入日期";
pub(crate) const T_REASON: &str = "原因";
pub(crate) const T_REQUEST: &str = "申请编号";
pub(crate) const T_CONTRACT: &str = "合同编号";
pub(crate) const T_EXIT_TYPE: &str = "退出类型";
pub(crate) const T_REQUESTED_ON: &str = "申请日期";
pub(crate) const T_PLANNED_EXIT_ON: &str = "计划退出日期";
pub(crate) const T_FEE: &str = "费用编号";
pub(crate) const T_FOUND_ON: &str = "稽核日期";

/// The exit types of the contract (第三十一条), as the template offers them in words.
pub(crate) const EXIT_TYPES: [(&str, &str); 5] = [
    ("voluntary", "主动退出"),
    ("breach", "违约退出"),
    ("assessment", "考核退出"),
    ("qualification_change", "资质变化"),
    ("blacklist", "列入不良名单"),
];

/// The 信用考核 categories of the regulation (附件四 (二)): class 1, then class 2. The template
/// offers them in a list; the import accepts other wording too ("包括但不限").
pub(crate) const CLASS_ONE_CATEGORIES: [&str; 7] = [
    "泄露用户资料",
    "欺诈用户",
    "强行订购",
    "违反“五条禁令”擅自发送消息",
    "重大信息安全错误",
    "违反国家法律法规和行业政策",
    "造成重大负面社会影响",
];
pub(crate) const CLASS_TWO_CATEGORIES: [&str; 3] = ["系统错误", "业务逻辑错误", "一般信息安全问题"];
/// 情节恶劣: yes and no as the template's list offers them.
pub(crate) const YES: &str = "是";
pub(crate) const NO: &str = "否";

/// At most this many data rows: a department's month is a few thousand at national scale.
pub(crate) const MAX_ROWS: usize = 20_000;

/// A file larger than this is not a department's records.
pub(crate) const MAX_FILE_BYTES: usize = 20 << 20;

/// Why a file cannot be read as a filled workbook.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum WorkbookError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes; a workbook of records is at most {MAX_FILE_BYTES}")]
    TooLarge(usize),
    #[error("the workbook is encrypted (a password to open): save it without one")]
    Encrypted,
    #[error("the workbook's parts can be read more than one way ({0}): open it and save it again")]
    Ambiguous(String),
    #[error("hidden rows {rows:?} or columns {columns:?} hold values: unhide or delete them")]
    Hidden { rows: Vec<u32>, columns: Vec<String> },
    #[error("the cells hold more than {0} bytes of text")]
    TooMuchText(usize),
    #[error("more than {0} cells hold a value")]
    TooManyCells(usize),
    #[error("not an .xlsx workbook ({0})")]
    NotXlsx(NotXlsx),
    #[error("the file is damaged or incomplete: {0}")]
    Damaged(String),
    #[error("the file would inflate to {0} bytes when opened (a zip bomb?)")]
    Inflates(u64),
    #[error("the workbook has no sheet")]
    NoSheet,
    #[error("{0} rows: a workbook of records has at most {MAX_ROWS}")]
    TooManyRows(usize),
    #[error("hidden sheets ({}): unhide or delete them, so that what is imported is what people see", .0.join(", "))]
    HiddenSheets(Vec<String>),
    #[error("formulas in {}: type the values instead (copy, paste as values)", .0.join(", "))]
    Formulas(Vec<String>),
}

/// What a file that is not an xlsx workbook is instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotXlsx {
    /// An old-format .xls, or a WPS .et file.
    OldFormat,
    /// Text: a CSV renamed, most likely.
    Text,
    /// A zip without a workbook in it, an empty file, anything else.
    Other,
}

impl std::fmt::Display for NotXlsx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotXlsx::OldFormat => "an old-format .xls or a WPS .et file: save it as .xlsx",
            NotXlsx::Text => "it is text (a CSV renamed?): save it as an Excel workbook (.xlsx)",
            NotXlsx::Other => "unknown format",
        })
    }
}

/// A workbook refused: unreadable, or with problems in its rows (exit 65, nothing stored). The
/// lines are in the locale's language, one per problem.
#[derive(Debug, thiserror::Error)]
#[error("{}", .lines.join("\n"))]
pub(crate) struct Refused {
    pub(crate) lines: Vec<String>,
}

/// A cell as the workbook reader hands it over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    /// Text as typed.
    Text(String),
    /// A number cell, as its shortest round-trip text (14.5 is "14.5").
    Number(String),
    /// A date cell.
    Date(NaiveDate),
    Bool(bool),
    /// An error value (`#N/A`, `#REF!`…).
    Error(String),
    /// Text too long to be a record's, as its length in characters (not copied).
    TooLong(usize),
}

/// A sheet's cells: the first row the titles, the others data; row and column numbers as Excel
/// shows them (1-based rows, letters for columns) are derived from the positions.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sheet {
    pub(crate) name: String,
    pub(crate) rows: Vec<Vec<Cell>>,
}

/// What is wrong with one cell (or row, or the sheet).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Issue {
    /// The sheet has no header row with this title.
    MissingColumn(&'static str),
    /// Two columns carry the same title.
    DuplicateColumn(&'static str),
    /// More data rows than a department's records can have.
    TooManyRows(usize),
    /// No data row at all.
    NoRows,
    Required,
    NotANumber(String),
    TooManyDecimals(String),
    OutOfRange {
        value: String,
        min: String,
        max: String,
    },
    NotADate(String),
    DateOutsidePeriod {
        date: NaiveDate,
        first: NaiveDate,
        last: NaiveDate,
    },
    LineBreak,
    /// A control, format or bidirectional character (its code point).
    Unsafe(u32),
    ErrorValue(String),
    WrongPeriod {
        found: String,
        expected: String,
    },
    /// The workbook is for another period than the one given on the command line.
    PeriodMismatch {
        found: String,
        given: String,
    },
    MixedPeriods {
        found: String,
        first: String,
    },
    MixedDepartments {
        found: String,
        first: String,
    },
    UnknownPartner(String),
    NotAssessed(String),
    NotOfDepartment {
        partner: String,
        department: String,
    },
    NotManualIndicator(String),
    NotAClass(String),
    NotYesNo(String),
    UnknownSupport {
        project: String,
        partner: String,
    },
    Duplicate(String),
    /// No contract of that id, or not the partner's.
    UnknownContract {
        contract: String,
        partner: String,
    },
    NotAnExitType(String),
    /// The planned exit comes before the request.
    ExitBeforeRequest {
        requested: NaiveDate,
        planned: NaiveDate,
    },
    /// No fee item of that id in the month.
    UnknownFee(String),
    /// Another department's import of the month holds this partner's indicator.
    EnteredElsewhere(String),
    TooLong {
        chars: usize,
        max: usize,
    },
}

/// One problem of a workbook: where (sheet, 1-based row, 0-based column and its title) and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Problem {
    pub(crate) sheet: String,
    pub(crate) row: Option<u32>,
    pub(crate) column: Option<(u32, &'static str)>,
    pub(crate) issue: Issue,
}

/// What the checks need to know besides the cells.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    /// Partners assessed in the month (after-sales contracts in force), each with its departments.
    pub(crate) assessed: BTreeMap<String, BTreeSet<String>>,
    /// Every partner the source knows.
    pub(crate) known: BTreeSet<String>,
    /// `manual` indicators and their weights (the upper limit of their points).
    pub(crate) manual: BTreeMap<String, Decimal>,
    /// (project, partner) of every support the quarterly run would consider.
    pub(crate) supports: BTreeSet<(String, String)>,
    /// Manual-score keys another department's import of the month holds: key → that department
    /// ("" for an import of all departments).
    pub(crate) taken: BTreeMap<String, String>,
    /// The class-2 deduction's range (rules.md §5, the rules' `[credit]`).
    pub(crate) class_two: (Decimal, Decimal),
    /// The period named on the command line, for a workbook without a period column.
    pub(crate) period: Option<String>,
    /// Every contract the source knows, with its partner (exit requests).
    pub(crate) contracts: BTreeMap<String, String>,
    /// The fee items of the month (audit exclusions).
    pub(crate) fees: BTreeSet<String>,
}

/// The period a workbook is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    Month(Month),
    Quarter(Quarter),
    /// Records of no period (blacklist decisions, exit requests), stored under the empty period.
    Standing,
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Month(m) => m.fmt(f),
            Period::Quarter(q) => q.fmt(f),
            Period::Standing => Ok(()),
        }
    }
}

/// A valid workbook: its period, its department ("" for all), and its rows as the contract's
/// dataset rows (text values by column name), keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entered {
    pub(crate) kind: RecordKind,
    pub(crate) period: String,
    pub(crate) department: String,
    /// Row key → column → value.
    pub(crate) rows: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// Rows left blank (a partner not scored yet): not imported.
    pub(crate) blank: usize,
}

/// Digits, the decimal point and signs typed full width (１４．５), and any surrounding space,
/// as plain ASCII.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' | '。' => '.',
            '－' | '—' => '-',
            '＋' => '+',
            '\u{3000}' => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// A period's first and last day.
fn bounds(period: Period) -> (NaiveDate, NaiveDate) {
    match period {
        Period::Month(m) => (m.first_day(), m.last_day()),
        Period::Quarter(q) => (q.first_day(), q.last_day()),
        Period::Standing => (NaiveDate::MIN, NaiveDate::MAX),
    }
}

/// Column letters as Excel shows them (0 → A, 26 → AA).
pub(crate) fn column_letters(mut col: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + (col % 26) as u8));
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.iter().rev().collect()
}

struct Reader<'a> {
    sheet: &'a Sheet,
    columns: BTreeMap<&'static str, usize>,
    problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    fn problem(&mut self, row: Option<usize>, title: Option<&'static str>, issue: Issue) {
        let column = title.and_then(|t| self.columns.get(t).map(|&c| (c as u32, t)));
        self.problems.push(Problem { sheet: self.sheet.name.clone(), row: row.map(|r| r as u32 + 1), column, issue });
    }

    fn cell(&self, row: usize, title: &str) -> &'a Cell {
        static EMPTY: Cell = Cell::Empty;
        self.columns.get(title).and_then(|&c| self.sheet.rows[row].get(c)).unwrap_or(&EMPTY)
    }

    /// Refuses text that is unsafe to keep or longer than `max` characters (a line break gets
    /// its own words: it is what people paste most).
    fn safe(&mut self, row: usize, title: &'static str, value: &str, max: usize) -> bool {
        if value.contains(['\n', '\r']) {
            self.problem(Some(row), Some(title), Issue::LineBreak);
            return false;
        }
        let checked = if max <= text::MAX_NAME_CHARS { text::check_name(value) } else { text::check_text(value) };
        match checked {
            Ok(()) => true,
            Err(TextIssue::Unsafe(c)) => {
                self.problem(Some(row), Some(title), Issue::Unsafe(c));
                false
            }
            Err(TextIssue::TooLong { chars, max }) => {
                self.problem(Some(row), Some(title), Issue::TooLong { chars, max });
                false
            }
        }
    }

    /// Text of a cell (numbers as their text, dates as YYYY-MM-DD, TRUE and FALSE as shown),
    /// normalised; an identifier or code, so at most 100 characters. `None` when empty.
    fn text(&mut self, row: usize, title: &'static str) -> Option<String> {
        let value = match self.cell(row, title) {
            Cell::Empty => return None,
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => n.clone(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Cell::Error(e) => {
                let e = e.clone();
                self.problem(Some(row), Some(title), Issue::ErrorValue(e));
                return None;
            }
            Cell::TooLong(chars) => {
                let chars = *chars;
                self.problem(Some(row), Some(title), Issue::TooLong { chars, max: text::MAX_NAME_CHARS });
                return None;
            }
        };
        let value = normalize(&value);
        if !self.safe(row, title, &value, text::MAX_NAME_CHARS) {
            return None;
        }
        (!value.is_empty()).then_some(value)
    }

    /// Text people write in words (a category, a description, a reason): kept as written, only
    /// trimmed, at most `max` characters.
    fn free_text_up_to(&mut self, row: usize, title: &'static str, max: usize) -> Option<String> {
        let value = match self.cell(row, title) {
            Cell::Text(s) => s.trim().to_string(),
            Cell::Empty => return None,
            Cell::TooLong(chars) => {
                let chars = *chars;
                self.problem(Some(row), Some(title), Issue::TooLong { chars, max });
                return None;
            }
            _ => return self.text(row, title),
        };
        if !self.safe(row, title, &value, max) {
            return None;
        }
        (!value.is_empty()).then_some(value)
    }

    /// A description or reason: free text of up to 2,000 characters.
    fn free_text(&mut self, row: usize, title: &'static str) -> Option<String> {
        self.free_text_up_to(row, title, text::MAX_TEXT_CHARS)
    }

    fn required_free_text(&mut self, row: usize, title: &'static str, max: usize) -> Option<String> {
        let value = self.free_text_up_to(row, title, max);
        if value.is_none() && !self.has_problem_at(row, title) {
            self.problem(Some(row), Some(title), Issue::Required);
        }
        value
    }

    fn required(&mut self, row: usize, title: &'static str) -> Option<String> {
        let value = self.text(row, title);
        if value.is_none() && !self.has_problem_at(row, title) {
            self.problem(Some(row), Some(title), Issue::Required);
        }
        value
    }

    fn has_problem_at(&self, row: usize, title: &str) -> bool {
        self.problems.iter().any(|p| p.row == Some(row as u32 + 1) && p.column.is_some_and(|(_, t)| t == title))
    }

    /// An exact number with at most two decimals within `[min, max]`.
    /// A number in `min..=max` with at most two decimals (manual points, violation points).
    fn number(&mut self, row: usize, title: &'static str, min: Decimal, max: Decimal) -> Option<Decimal> {
        self.number_with(row, title, min, max, true)
    }

    /// A number in `min..=max`; with `two_decimals`, at most two of them (rules.md §6 holds
    /// manual and violation points to two; §7 asks an assessment score only to lie in 0–100).
    fn number_with(
        &mut self,
        row: usize,
        title: &'static str,
        min: Decimal,
        max: Decimal,
        two_decimals: bool,
    ) -> Option<Decimal> {
        let text = self.required(row, title)?;
        // Plain decimals only: `1_5`, `1e1`, `0x10` and TRUE are not numbers a person typed.
        let plain = text.strip_prefix(['+', '-']).unwrap_or(&text);
        let digits = plain.split_once('.').map_or((plain, ""), |(a, b)| (a, b));
        let is_plain = !plain.is_empty()
            && plain != "."
            && digits.0.bytes().all(|b| b.is_ascii_digit())
            && digits.1.bytes().all(|b| b.is_ascii_digit());
        let parsed = if is_plain { Decimal::from_str(&text).map(|d| d.normalize()).ok() } else { None };
        let Some(value) = parsed else {
            self.problem(Some(row), Some(title), Issue::NotANumber(text));
            return None;
        };
        if two_decimals && value.scale() > 2 {
            self.problem(Some(row), Some(title), Issue::TooManyDecimals(text));
            return None;
        }
        if value < min || value > max {
            let issue =
                Issue::OutOfRange { value: text, min: min.normalize().to_string(), max: max.normalize().to_string() };
            self.problem(Some(row), Some(title), issue);
            return None;
        }
        Some(value)
    }

    /// A date of any day (a blacklist decision, an exit request), when the cell has one.
    fn any_date(&mut self, row: usize, title: &'static str) -> Option<NaiveDate> {
        self.date(row, title, Period::Standing)
    }

    fn date(&mut self, row: usize, title: &'static str, period: Period) -> Option<NaiveDate> {
        let date = match self.cell(row, title) {
            Cell::Date(d) => *d,
            _ => {
                let text = self.required(row, title)?;
                match parse_date(&text) {
                    Some(d) => d,
                    None => {
                        self.problem(Some(row), Some(title), Issue::NotADate(text));
                        return None;
                    }
                }
            }
        };
        let (first, last) = bounds(period);
        if date < first || date > last {
            self.problem(Some(row), Some(title), Issue::DateOutsidePeriod { date, first, last });
            return None;
        }
        Some(date)
    }
}

/// The header row's titles → column positions; missing or doubled titles are problems.
fn header(
    sheet: &Sheet,
    kind: RecordKind,
    period_given: bool,
    problems: &mut Vec<Problem>,
) -> BTreeMap<&'static str, usize> {
    let mut columns = BTreeMap::new();
    let titles: Vec<String> = sheet
        .rows
        .first()
        .map(|r| r.iter().map(|c| if let Cell::Text(t) = c { normalize(t) } else { String::new() }).collect())
        .unwrap_or_default();
    for &title in kind.titles() {
        let found: Vec<usize> = titles.iter().enumerate().filter(|(_, t)| *t == title).map(|(i, _)| i).collect();
        match found.as_slice() {
            [] if [T_PERIOD_MONTH, T_PERIOD_QUARTER].contains(&title) && period_given => {}
            [] if kind.required().contains(&title) => problems.push(Problem {
                sheet: sheet.name.clone(),
                row: Some(1),
                column: None,
                issue: Issue::MissingColumn(title),
            }),
            [] => {}
            [one] => {
                columns.insert(title, *one);
            }
            [first, ..] => {
                columns.insert(title, *first);
                problems.push(Problem {
                    sheet: sheet.name.clone(),
                    row: Some(1),
                    column: Some((*first as u32, title)),
                    issue: Issue::DuplicateColumn(title),
                });
            }
        }
    }
    columns
}

/// Reads and checks a filled workbook's first sheet: the entered rows, or every problem found.
/// `by` is who imports it (the contract's `scored_by`).
pub(crate) fn read(kind: RecordKind, sheet: &Sheet, cx: &Context, by: &str) -> Result<Entered, Vec<Problem>> {
    let mut problems = Vec::new();
    let columns = header(sheet, kind, cx.period.is_some(), &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut r = Reader { sheet, columns, problems };
    // Rows where nothing a person fills in is filled are left for later (the template's rows of
    // partners not scored yet, its spare rows): skipped and counted, never stored.
    let fills = kind.filled_by_people();
    let mut blank = 0;
    let mut filled = Vec::new();
    for i in 1..sheet.rows.len() {
        if fills.iter().any(|t| !matches!(r.cell(i, t), Cell::Empty)) {
            filled.push(i);
        } else if sheet.rows[i].iter().any(|c| !matches!(c, Cell::Empty)) {
            blank += 1;
        }
    }
    if filled.len() > MAX_ROWS {
        r.problem(None, None, Issue::TooManyRows(filled.len()));
        return Err(r.problems);
    }
    if filled.is_empty() {
        r.problem(None, None, Issue::NoRows);
        return Err(r.problems);
    }
    let period_title = if kind == RecordKind::PresalesScores { T_PERIOD_QUARTER } else { T_PERIOD_MONTH };
    // The period (and department) are the template's: one per workbook; records of no period are
    // stored under the empty one.
    let mut period: Option<(String, Period)> = (!kind.has_period()).then(|| (String::new(), Period::Standing));
    let mut department: Option<String> = None;
    for &i in filled.iter().filter(|_| kind.has_period()) {
        let text = match (r.text(i, period_title), &cx.period) {
            (Some(t), _) => t,
            (None, Some(given)) => given.clone(),
            (None, None) => {
                if !r.has_problem_at(i, period_title) {
                    r.problem(Some(i), Some(period_title), Issue::Required);
                }
                continue;
            }
        };
        if let Some(given) = cx.period.as_ref().filter(|g| **g != text) {
            let issue = Issue::PeriodMismatch { found: text.clone(), given: given.clone() };
            r.problem(Some(i), Some(period_title), issue);
            continue;
        }
        let parsed = match kind {
            RecordKind::PresalesScores => text.parse::<Quarter>().ok().map(Period::Quarter),
            _ => text.parse::<Month>().ok().map(Period::Month),
        };
        match (&period, parsed) {
            (_, None) => r.problem(
                Some(i),
                Some(period_title),
                Issue::WrongPeriod { found: text, expected: period_title.into() },
            ),
            (None, Some(p)) => period = Some((text, p)),
            (Some((first, _)), Some(_)) if *first != text => {
                let issue = Issue::MixedPeriods { found: text, first: first.clone() };
                r.problem(Some(i), Some(period_title), issue);
            }
            _ => {}
        }
        if kind == RecordKind::ManualScores {
            let dept = r.text(i, T_DEPARTMENT).unwrap_or_default();
            match &department {
                None => department = Some(dept),
                Some(first) if *first != dept => {
                    let issue = Issue::MixedDepartments { found: dept, first: first.clone() };
                    r.problem(Some(i), Some(T_DEPARTMENT), issue);
                }
                _ => {}
            }
        }
    }
    let Some((period_text, period)) = period else { return Err(r.problems) };
    let department = department.unwrap_or_default();
    let mut rows: BTreeMap<String, BTreeMap<String, Option<String>>> = BTreeMap::new();
    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    let mut same_day: BTreeMap<(String, NaiveDate), usize> = BTreeMap::new();
    // Ids written in the sheet, which a derived id must not take.
    let written_ids: BTreeSet<String> = if kind == RecordKind::Violations {
        filled
            .iter()
            .filter_map(|&i| match r.cell(i, T_VIOLATION) {
                Cell::Text(s) | Cell::Number(s) => Some(normalize(s)),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        BTreeSet::new()
    };
    for &i in &filled {
        // Doubled keys are found from what is written, whether or not the rest of the row is valid.
        let written = |t: &str| match r.cell(i, t) {
            Cell::Text(s) | Cell::Number(s) => normalize(s),
            _ => String::new(),
        };
        let raw = match kind {
            RecordKind::ManualScores => format!("{}/{period_text}/{}", written(T_PARTNER), written(T_INDICATOR)),
            RecordKind::Violations => written(T_VIOLATION),
            RecordKind::PresalesScores => format!("{}/{}", written(T_PROJECT), written(T_PARTNER)),
            RecordKind::Blacklist => {
                let day = match r.cell(i, T_DECIDED_ON) {
                    Cell::Date(d) => d.to_string(),
                    _ => written(T_DECIDED_ON),
                };
                format!("{}/{day}", written(T_PARTNER))
            }
            RecordKind::ExitRequests => written(T_REQUEST),
            RecordKind::AuditExclusions => written(T_FEE),
        };
        if !raw.is_empty() && !raw.starts_with('/') && keys.insert(raw.clone(), i).is_some() {
            r.problem(Some(i), None, Issue::Duplicate(raw));
            continue;
        }
        let row = match kind {
            RecordKind::ManualScores => manual_row(&mut r, i, cx, &period_text, &department, by),
            RecordKind::Violations => violation_row(&mut r, i, cx, period, &mut same_day, &written_ids),
            RecordKind::PresalesScores => presales_row(&mut r, i, cx),
            RecordKind::Blacklist => blacklist_row(&mut r, i, cx),
            RecordKind::ExitRequests => exit_request_row(&mut r, i, cx),
            RecordKind::AuditExclusions => exclusion_row(&mut r, i, cx),
        };
        let Some((key, fields)) = row else { continue };
        if rows.contains_key(&key) {
            r.problem(Some(i), None, Issue::Duplicate(key));
            continue;
        }
        rows.insert(key, fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    }
    if r.problems.is_empty() {
        Ok(Entered { kind, period: period_text, department, rows, blank })
    } else {
        r.problems.sort();
        Err(r.problems)
    }
}

type Fields = Vec<(&'static str, Option<String>)>;

/// The partner of a row: known, and assessed in the month.
fn assessed_partner(r: &mut Reader, i: usize, cx: &Context) -> Option<String> {
    let partner = r.required(i, T_PARTNER)?;
    if !cx.assessed.contains_key(&partner) {
        let issue =
            if cx.known.contains(&partner) { Issue::NotAssessed(partner) } else { Issue::UnknownPartner(partner) };
        r.problem(Some(i), Some(T_PARTNER), issue);
        return None;
    }
    Some(partner)
}

fn manual_row(
    r: &mut Reader,
    i: usize,
    cx: &Context,
    month: &str,
    department: &str,
    by: &str,
) -> Option<(String, Fields)> {
    let partner = assessed_partner(r, i, cx);
    if let Some(p) = &partner {
        if !department.is_empty() && !cx.assessed[p].contains(department) {
            let issue = Issue::NotOfDepartment { partner: p.clone(), department: department.to_string() };
            r.problem(Some(i), Some(T_PARTNER), issue);
        }
    }
    let indicator = r.required(i, T_INDICATOR);
    let weight = match &indicator {
        Some(id) => match cx.manual.get(id) {
            Some(w) => Some(*w),
            None => {
                r.problem(Some(i), Some(T_INDICATOR), Issue::NotManualIndicator(id.clone()));
                None
            }
        },
        None => None,
    };
    let points = r.number(i, T_POINTS, Decimal::ZERO, weight.unwrap_or(Decimal::MAX));
    let (partner, indicator, points) = (partner?, indicator?, points?);
    weight?;
    let key = format!("{partner}/{month}/{indicator}");
    if let Some(other) = cx.taken.get(&key) {
        r.problem(Some(i), Some(T_PARTNER), Issue::EnteredElsewhere(other.clone()));
        return None;
    }
    Some((
        key,
        vec![
            ("partner_id", Some(partner)),
            ("month", Some(month.to_string())),
            ("indicator", Some(indicator)),
            ("points", Some(points.to_string())),
            ("scored_by", Some(by.to_string())),
        ],
    ))
}

fn violation_row(
    r: &mut Reader,
    i: usize,
    cx: &Context,
    period: Period,
    same_day: &mut BTreeMap<(String, NaiveDate), usize>,
    written_ids: &BTreeSet<String>,
) -> Option<(String, Fields)> {
    // A violation counts for the annual credit and at renewal whether or not the partner is
    // assessed this month (a presales-only partner too): any partner the source knows.
    let partner = r.required(i, T_PARTNER).and_then(|p| {
        if cx.known.contains(&p) {
            Some(p)
        } else {
            r.problem(Some(i), Some(T_PARTNER), Issue::UnknownPartner(p));
            None
        }
    });
    let confirmed = r.date(i, T_CONFIRMED_ON, period);
    let class = r.required(i, T_CLASS).and_then(|c| {
        let class = match c.trim_end_matches("类").trim_start_matches('第') {
            "1" | "一" | "一类违约" => Some(1),
            "2" | "二" | "二类违约" => Some(2),
            _ => None,
        };
        if class.is_none() {
            r.problem(Some(i), Some(T_CLASS), Issue::NotAClass(c));
        }
        class
    });
    let category = r.required_free_text(i, T_CATEGORY, text::MAX_NAME_CHARS);
    // Class 2 deducts its points (1–10); class 1 deducts 100 whatever is written.
    let points = match class {
        Some(2) => r.number(i, T_DEDUCTION, cx.class_two.0, cx.class_two.1).map(Some),
        Some(_) => Some(None),
        None => None,
    };
    let severe = match r.text(i, T_SEVERE).as_deref() {
        None | Some(NO) | Some("0") => Some(false),
        Some(YES) | Some("1") => Some(true),
        Some(other) => {
            r.problem(Some(i), Some(T_SEVERE), Issue::NotYesNo(other.to_string()));
            None
        }
    };
    let description = r.free_text(i, T_DESCRIPTION);
    let written = r.text(i, T_VIOLATION);
    let (partner, confirmed, class, category, points, severe) =
        (partner?, confirmed?, class?, category?, points?, severe?);
    // Without a written id, one from what the row says (partner, date, its place among that
    // partner's determinations of the day): sorting the sheet or deleting other partners' rows
    // keeps it; ids written elsewhere in the sheet are skipped.
    let id = written.unwrap_or_else(|| loop {
        let n = same_day.entry((partner.clone(), confirmed)).or_default();
        *n += 1;
        let id = format!("{partner}-{}-{n}", confirmed.format("%Y%m%d"));
        if !written_ids.contains(&id) {
            break id;
        }
    });
    Some((
        id.clone(),
        vec![
            ("violation_id", Some(id)),
            ("partner_id", Some(partner)),
            ("confirmed_on", Some(confirmed.format("%Y-%m-%d").to_string())),
            ("class", Some(class.to_string())),
            ("category", Some(category)),
            ("points", points.map(|p: Decimal| p.to_string())),
            ("severe", Some(if severe && class == 1 { "1" } else { "0" }.to_string())),
            ("description", description),
        ],
    ))
}

/// A partner the source knows (a blacklist decision or an exit request may name any).
fn known_partner(r: &mut Reader, i: usize, cx: &Context) -> Option<String> {
    let partner = r.required(i, T_PARTNER)?;
    if cx.known.contains(&partner) {
        Some(partner)
    } else {
        r.problem(Some(i), Some(T_PARTNER), Issue::UnknownPartner(partner));
        None
    }
}

/// A 不良信用记录名单 decision: a known partner, the day of the decision and why.
fn blacklist_row(r: &mut Reader, i: usize, cx: &Context) -> Option<(String, Fields)> {
    let partner = known_partner(r, i, cx);
    let decided = r.any_date(i, T_DECIDED_ON);
    let reason = r.required_free_text(i, T_REASON, text::MAX_TEXT_CHARS);
    let (partner, decided, reason) = (partner?, decided?, reason?);
    let day = decided.format("%Y-%m-%d").to_string();
    Some((
        format!("{partner}/{day}"),
        vec![("partner_id", Some(partner)), ("decided_on", Some(day)), ("reason", Some(reason))],
    ))
}

/// An exit request: its number, a known contract of the partner, a known exit type, and a
/// planned exit on or after the request.
fn exit_request_row(r: &mut Reader, i: usize, cx: &Context) -> Option<(String, Fields)> {
    let id = r.required(i, T_REQUEST);
    let partner = known_partner(r, i, cx);
    let contract = r.required(i, T_CONTRACT);
    if let (Some(p), Some(c)) = (&partner, &contract) {
        if cx.contracts.get(c) != Some(p) {
            let issue = Issue::UnknownContract { contract: c.clone(), partner: p.clone() };
            r.problem(Some(i), Some(T_CONTRACT), issue);
        }
    }
    let exit_type = r.required(i, T_EXIT_TYPE).and_then(|t| {
        let found = EXIT_TYPES.iter().find(|(code, words)| t == *code || t == *words).map(|(code, _)| *code);
        if found.is_none() {
            r.problem(Some(i), Some(T_EXIT_TYPE), Issue::NotAnExitType(t));
        }
        found
    });
    let requested = r.any_date(i, T_REQUESTED_ON);
    let planned = r.any_date(i, T_PLANNED_EXIT_ON);
    if let (Some(requested), Some(planned)) = (requested, planned) {
        if requested > planned {
            r.problem(Some(i), Some(T_PLANNED_EXIT_ON), Issue::ExitBeforeRequest { requested, planned });
            return None;
        }
    }
    let (id, partner, contract, exit_type, requested, planned) =
        (id?, partner?, contract?, exit_type?, requested?, planned?);
    if cx.contracts.get(&contract) != Some(&partner) {
        return None;
    }
    let day = |d: NaiveDate| Some(d.format("%Y-%m-%d").to_string());
    Some((
        id.clone(),
        vec![
            ("request_id", Some(id)),
            ("partner_id", Some(partner)),
            ("contract_id", Some(contract)),
            ("exit_type", Some(exit_type.to_string())),
            ("requested_on", day(requested)),
            ("planned_exit_on", day(planned)),
        ],
    ))
}

/// An audit exclusion: a fee item of the month and why it is excluded.
fn exclusion_row(r: &mut Reader, i: usize, cx: &Context) -> Option<(String, Fields)> {
    let fee = r.required(i, T_FEE).and_then(|f| {
        if cx.fees.contains(&f) {
            Some(f)
        } else {
            r.problem(Some(i), Some(T_FEE), Issue::UnknownFee(f));
            None
        }
    });
    let reason = r.required_free_text(i, T_REASON, text::MAX_TEXT_CHARS);
    let found = match r.cell(i, T_FOUND_ON) {
        Cell::Empty => Some(None),
        _ => r.any_date(i, T_FOUND_ON).map(Some),
    };
    let (fee, reason, found) = (fee?, reason?, found?);
    Some((
        fee.clone(),
        vec![
            ("fee_id", Some(fee)),
            ("reason", Some(reason)),
            ("found_on", found.map(|d| d.format("%Y-%m-%d").to_string())),
        ],
    ))
}

fn presales_row(r: &mut Reader, i: usize, cx: &Context) -> Option<(String, Fields)> {
    let project = r.required(i, T_PROJECT);
    let partner = r.required(i, T_PARTNER);
    let score = r.number_with(i, T_POINTS, Decimal::ZERO, Decimal::ONE_HUNDRED, false);
    let (project, partner) = (project?, partner?);
    if !cx.supports.contains(&(project.clone(), partner.clone())) {
        let issue = Issue::UnknownSupport { project: project.clone(), partner: partner.clone() };
        r.problem(Some(i), Some(T_PROJECT), issue);
        return None;
    }
    let score = score?;
    Some((
        format!("{project}/{partner}"),
        vec![
            ("project_id", Some(project)),
            ("partner_id", Some(partner)),
            ("assessment_score", Some(score.to_string())),
        ],
    ))
}

#[cfg(test)]
mod tests;
