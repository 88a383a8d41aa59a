//! The departmental records for people: the workbooks the managers fill in (one sheet to fill,
//! locked where nothing is to be typed, validated where something is, an instructions sheet, a
//! print setup), and what an import found wrong, in the locale's words, cell by cell.

use super::templates::label;
use crate::domain::records::{
    column_letters, Issue, NotXlsx, Problem, RecordKind, WorkbookError, CLASS_ONE_CATEGORIES, CLASS_TWO_CATEGORIES,
    EXIT_TYPES, MAX_ROWS, NO, T_CATEGORY, T_CLASS, T_CONFIRMED_ON, T_CONTRACT, T_DECIDED_ON, T_DEDUCTION, T_DEPARTMENT,
    T_DESCRIPTION, T_EXIT_TYPE, T_FEE, T_FOUND_ON, T_INDICATOR, T_PARTNER, T_PERIOD_MONTH, T_PERIOD_QUARTER,
    T_PLANNED_EXIT_ON, T_POINTS, T_PROJECT, T_REASON, T_REQUEST, T_REQUESTED_ON, T_SEVERE, T_VIOLATION, YES,
};
use crate::store::records::{Changes, Fields};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, ExcelDateTime, Format, FormatAlign, FormatBorder,
    Formula, ProtectionOptions, Workbook, Worksheet, XlsxError,
};
use std::collections::BTreeMap;
use unicode_width::UnicodeWidthStr;

/// One row of the manual-scores template: a partner and a `manual` indicator.
#[derive(Debug, Clone)]
pub(crate) struct ManualLine {
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    /// The departments that manage the partner, for people.
    pub(crate) departments: String,
    pub(crate) indicator: String,
    pub(crate) limit: Decimal,
    /// Points already given (the demo's filled copy); empty in a template for people.
    pub(crate) points: Option<Decimal>,
}

/// One row of the presales-scores template: a partner's support of a project.
#[derive(Debug, Clone)]
pub(crate) struct PresalesLine {
    pub(crate) project_id: String,
    pub(crate) project_name: String,
    pub(crate) unit: String,
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    pub(crate) share: String,
    /// The score already known (entered or in the source), to be kept or changed.
    pub(crate) score: Option<String>,
}

/// A contract to choose from (blacklist and exit-request templates).
#[derive(Debug, Clone)]
pub(crate) struct ContractLine {
    pub(crate) contract_id: String,
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    pub(crate) kind: String,
    pub(crate) term: String,
    pub(crate) department: String,
}

/// A fee item of the month (audit-exclusions template).
#[derive(Debug, Clone)]
pub(crate) struct FeeLine {
    pub(crate) fee_id: String,
    pub(crate) contract_id: String,
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    pub(crate) amount: String,
    pub(crate) description: String,
}

/// A row already entered, to be kept or changed: its values by title.
pub(crate) type Prefilled = Vec<BTreeMap<&'static str, String>>;

/// What a template is for.
pub(crate) enum Template<'a> {
    Manual {
        month: &'a str,
        department: Option<&'a str>,
        lines: &'a [ManualLine],
    },
    /// The month, its first and last day, and the partners assessed in it (id, name, departments).
    Violations {
        month: &'a str,
        first: NaiveDate,
        last: NaiveDate,
        partners: &'a [(String, String, String)],
    },
    Presales {
        quarter: &'a str,
        lines: &'a [PresalesLine],
    },
    /// The decisions entered so far, and the contracts (their partners) to choose from.
    Blacklist {
        entries: &'a Prefilled,
        contracts: &'a [ContractLine],
    },
    /// The requests entered so far, and the contracts to choose from.
    ExitRequests {
        requests: &'a Prefilled,
        contracts: &'a [ContractLine],
    },
    /// The month's fee items, with the reasons of those excluded so far.
    AuditExclusions {
        month: &'a str,
        fees: &'a [FeeLine],
        reasons: &'a BTreeMap<String, (String, String)>,
    },
}

impl Template<'_> {
    fn kind(&self) -> RecordKind {
        match self {
            Template::Manual { .. } => RecordKind::ManualScores,
            Template::Violations { .. } => RecordKind::Violations,
            Template::Presales { .. } => RecordKind::PresalesScores,
            Template::Blacklist { .. } => RecordKind::Blacklist,
            Template::ExitRequests { .. } => RecordKind::ExitRequests,
            Template::AuditExclusions { .. } => RecordKind::AuditExclusions,
        }
    }
    fn period(&self) -> &str {
        match self {
            Template::Manual { month, .. }
            | Template::Violations { month, .. }
            | Template::AuditExclusions { month, .. } => month,
            Template::Presales { quarter, .. } => quarter,
            Template::Blacklist { .. } | Template::ExitRequests { .. } => "",
        }
    }
}

/// A column of the sheet to fill: its title, whether a person types in it, and a number format.
struct Column {
    title: String,
    input: bool,
    format: Option<&'static str>,
}

fn column(title: impl Into<String>, input: bool) -> Column {
    Column { title: title.into(), input, format: None }
}

/// A cell value of a template row.
enum Value {
    Text(String),
    /// A decimal, written as a number (xlsx numbers are doubles; this one comes from exact text).
    Number(String),
    Empty,
}

/// The instructions column, in characters (an A4 page, portrait).
const INSTRUCTION_WIDTH: usize = 80;

/// Spare rows of the violations sheet (a month's determinations rarely reach a few dozen).
const SPARE_ROWS: u32 = 200;

/// The template workbook of a kind of records.
pub(crate) fn template(locale: &str, t: &Template<'_>, day: NaiveDate) -> Result<Vec<u8>, XlsxError> {
    let kind = t.kind();
    let l = |key: &str| label(locale, key, &[]);
    let mut book = Workbook::new();
    book.set_properties(&super::stable_properties(day)?);
    let (columns, rows) = layout(locale, t);
    let title = label(locale, &format!("records_title_{}", kind.as_str()), &[("period", t.period())]);
    let scope = match t {
        Template::Manual { department: Some(d), .. } => d.to_string(),
        Template::Manual { department: None, .. } => l("records_all_departments"),
        _ => String::new(),
    };
    let sheet = book.add_worksheet().set_name(l(&format!("records_sheet_{}", kind.as_str())))?;
    write_sheet(sheet, &columns, &rows)?;
    // The month (and department) in the printed page's header, and the title on screen as the
    // sheet's first visible words are the header row's: one header row, as the import reads it.
    let escape = |s: &str| s.replace('&', "&&");
    sheet.set_header(format!("&L{}&C&\"-,Bold\"{}&R{}", escape(t.period()), escape(&title), escape(&scope)));
    sheet.set_footer("&C&P / &N");
    sheet.set_landscape().set_paper_size(9).set_print_fit_to_pages(1, 0).set_repeat_rows(0, 0)?;
    // The spare rows are there to type into, not to print: a printout has the filled rows and
    // twenty empty ones to write on.
    // (A row counts as filled by anything beyond the period every row carries.)
    let filled = rows.iter().rposition(|r| r.iter().skip(1).any(|v| !matches!(v, Value::Empty))).map_or(0, |i| i + 1);
    let printed = (filled + 20).min(rows.len()).max(1) as u32;
    sheet.set_print_area(0, 0, printed, columns.len().max(1) as u16 - 1)?;
    let data_rows = rows.len().max(1) as u32;
    let position = |title: &str| columns.iter().position(|c| c.title == title).map(|c| c as u16);
    match t {
        Template::Manual { lines, .. } => {
            // One validation per run of rows sharing a limit (the rows are in indicator order).
            let Some(points) = position(T_POINTS) else { return Err(XlsxError::ParameterError("points".into())) };
            let mut start = 0;
            while start < lines.len() {
                let limit = lines[start].limit;
                let end = (start..lines.len()).find(|&i| lines[i].limit != limit).unwrap_or(lines.len());
                let max = limit.normalize().to_string();
                let v = DataValidation::new()
                    .allow_decimal_number_formula(DataValidationRule::Between(Formula::new("0"), Formula::new(&max)))
                    .set_input_title(T_POINTS)?
                    .set_input_message(label(locale, "records_input_points", &[("max", &max)]))?
                    .set_error_title(T_POINTS)?
                    .set_error_message(label(locale, "records_error_points", &[("max", &max)]))?;
                sheet.add_data_validation(start as u32 + 1, points, end as u32, points, &v)?;
                start = end;
            }
        }
        Template::Violations { first, last, partners, .. } => {
            let list = |items: &[&str]| DataValidation::new().allow_list_strings(items);
            let at = |title: &str| position(title).unwrap_or(0);
            let rows = (1, SPARE_ROWS);
            sheet.add_data_validation(rows.0, at(T_CLASS), rows.1, at(T_CLASS), &list(&["一类违约", "二类违约"])?)?;
            sheet.add_data_validation(rows.0, at(T_SEVERE), rows.1, at(T_SEVERE), &list(&[YES, NO])?)?;
            // The regulation's categories are "包括但不限": the list guides, other wording passes.
            let categories: Vec<&str> =
                CLASS_ONE_CATEGORIES.iter().chain(CLASS_TWO_CATEGORIES.iter()).copied().collect();
            let category = list(&categories)?.set_error_style(DataValidationErrorStyle::Information);
            sheet.add_data_validation(rows.0, at(T_CATEGORY), rows.1, at(T_CATEGORY), &category)?;
            let deduction = DataValidation::new()
                .allow_decimal_number_formula(DataValidationRule::Between(Formula::new("1"), Formula::new("10")))
                .set_input_title(T_DEDUCTION)?
                .set_input_message(l("records_input_deduction"))?;
            sheet.add_data_validation(rows.0, at(T_DEDUCTION), rows.1, at(T_DEDUCTION), &deduction)?;
            let (from, to) = (excel_date(*first)?, excel_date(*last)?);
            let (f, la) = (first.to_string(), last.to_string());
            let date = DataValidation::new()
                .allow_date(DataValidationRule::Between(from, to))
                .set_input_title(T_CONFIRMED_ON)?
                .set_input_message(label(locale, "records_input_date", &[("first", &f), ("last", &la)]))?;
            sheet.add_data_validation(rows.0, at(T_CONFIRMED_ON), rows.1, at(T_CONFIRMED_ON), &date)?;
            if !partners.is_empty() {
                let name = l("records_sheet_partners");
                let source = format!("='{}'!$A$2:$A${}", name.replace('\'', "''"), partners.len() + 1);
                let v = DataValidation::new()
                    .allow_list_formula(Formula::new(source))
                    .set_input_title(T_PARTNER)?
                    .set_input_message(l("records_input_partner"))?;
                sheet.add_data_validation(rows.0, at(T_PARTNER), rows.1, at(T_PARTNER), &v)?;
            }
        }
        Template::Blacklist { contracts, .. } | Template::ExitRequests { contracts, .. } => {
            let at = |title: &str| position(title).unwrap_or(0);
            let rows = (1, data_rows + SPARE_ROWS);
            if !contracts.is_empty() {
                let name = l("records_sheet_contracts");
                let quoted = name.replace('\'', "''");
                let partners = DataValidation::new()
                    .allow_list_formula(Formula::new(format!("='{quoted}'!$B$2:$B${}", contracts.len() + 1)))
                    .set_error_style(DataValidationErrorStyle::Information)
                    .set_input_title(T_PARTNER)?
                    .set_input_message(l("records_input_any_partner"))?;
                sheet.add_data_validation(rows.0, at(T_PARTNER), rows.1, at(T_PARTNER), &partners)?;
                if matches!(t, Template::ExitRequests { .. }) {
                    let list = DataValidation::new()
                        .allow_list_formula(Formula::new(format!("='{quoted}'!$A$2:$A${}", contracts.len() + 1)))
                        .set_input_title(T_CONTRACT)?
                        .set_input_message(l("records_input_contract"))?;
                    sheet.add_data_validation(rows.0, at(T_CONTRACT), rows.1, at(T_CONTRACT), &list)?;
                }
            }
            if matches!(t, Template::ExitRequests { .. }) {
                let types: Vec<&str> = EXIT_TYPES.iter().map(|(_, words)| *words).collect();
                let list = DataValidation::new().allow_list_strings(&types)?;
                sheet.add_data_validation(rows.0, at(T_EXIT_TYPE), rows.1, at(T_EXIT_TYPE), &list)?;
            }
        }
        Template::AuditExclusions { .. } => {}
        Template::Presales { .. } => {
            let Some(points) = position(T_POINTS) else { return Err(XlsxError::ParameterError("points".into())) };
            let v = DataValidation::new()
                .allow_decimal_number_formula(DataValidationRule::Between(Formula::new("0"), Formula::new("100")))
                .set_input_title(T_POINTS)?
                .set_input_message(label(locale, "records_input_points", &[("max", "100")]))?
                .set_error_title(T_POINTS)?
                .set_error_message(label(locale, "records_error_points", &[("max", "100")]))?;
            sheet.add_data_validation(1, points, data_rows, points, &v)?;
        }
    }
    let mut protection = ProtectionOptions::new();
    protection.format_columns = true;
    protection.format_rows = true;
    protection.sort = true;
    protection.use_autofilter = true;
    sheet.protect_with_options(&protection);
    sheet.set_active(true);

    let instructions = book.add_worksheet().set_name(l("records_sheet_instructions"))?;
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    instructions.set_column_width(0, INSTRUCTION_WIDTH as f64)?;
    instructions.write_string_with_format(0, 0, &title, &Format::new().set_bold().set_font_size(14))?;
    if !scope.is_empty() {
        instructions.write_string(1, 0, &scope)?;
    }
    for (i, line) in l(&format!("records_instructions_{}", kind.as_str())).lines().enumerate() {
        let row = i as u32 + 3;
        instructions.write_string_with_format(row, 0, line, &wrap)?;
        // Spreadsheet programs do not all grow a row for wrapped text: give it its lines.
        let lines = line.width().div_ceil(INSTRUCTION_WIDTH - 4).max(1);
        instructions.set_row_height(row, 16.0 * lines as f64)?;
    }
    instructions.set_portrait().set_paper_size(9).set_print_fit_to_pages(1, 0);

    if let Template::Blacklist { contracts, .. } | Template::ExitRequests { contracts, .. } = t {
        let list = book.add_worksheet().set_name(l("records_sheet_contracts"))?;
        let columns = [
            column(T_CONTRACT, false),
            column(T_PARTNER, false),
            column(l("records_col_partner_name"), false),
            column(l("records_col_contract_kind"), false),
            column(l("records_col_term"), false),
            column(l("records_col_departments"), false),
        ];
        let rows: Vec<Vec<Value>> = contracts
            .iter()
            .map(|c| {
                vec![
                    Value::Text(c.contract_id.clone()),
                    Value::Text(c.partner_id.clone()),
                    Value::Text(c.partner_name.clone()),
                    Value::Text(super::words::contract_kind(locale, &c.kind)),
                    Value::Text(c.term.clone()),
                    Value::Text(c.department.clone()),
                ]
            })
            .collect();
        write_sheet(list, &columns, &rows)?;
        list.set_landscape().set_paper_size(9);
        list.protect();
    }
    if let Template::Violations { partners, .. } = t {
        let list = book.add_worksheet().set_name(l("records_sheet_partners"))?;
        let columns = [
            column(T_PARTNER, false),
            column(l("records_col_partner_name"), false),
            column(l("records_col_departments"), false),
        ];
        let rows: Vec<Vec<Value>> = partners
            .iter()
            .map(|(id, name, depts)| {
                vec![Value::Text(id.clone()), Value::Text(name.clone()), Value::Text(depts.clone())]
            })
            .collect();
        write_sheet(list, &columns, &rows)?;
        list.set_portrait().set_paper_size(9).set_print_fit_to_pages(1, 0).set_repeat_rows(0, 0)?;
        list.protect();
    }
    book.save_to_buffer()
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

/// The columns and rows of a template's sheet to fill.
fn layout(locale: &str, t: &Template<'_>) -> (Vec<Column>, Vec<Vec<Value>>) {
    let l = |key: &str| label(locale, key, &[]);
    let text = |s: &str| Value::Text(s.to_string());
    match t {
        Template::Manual { month, department, lines } => {
            let mut columns = vec![column(T_PERIOD_MONTH, false)];
            if department.is_some() {
                columns.push(column(T_DEPARTMENT, false));
            }
            columns.extend([
                column(T_PARTNER, false),
                column(l("records_col_partner_name"), false),
                column(l("records_col_departments"), false),
                column(T_INDICATOR, false),
                column(l("records_col_indicator_name"), false),
                Column { format: Some("0.00"), ..column(l("records_col_limit"), false) },
                Column { format: Some("0.00"), ..column(T_POINTS, true) },
                column(l("records_col_note"), true),
            ]);
            let rows = lines
                .iter()
                .map(|line| {
                    let mut row = vec![text(month)];
                    if let Some(d) = department {
                        row.push(text(d));
                    }
                    row.extend([
                        text(&line.partner_id),
                        text(&line.partner_name),
                        text(&line.departments),
                        text(&line.indicator),
                        Value::Text(super::words::indicator(locale, &line.indicator)),
                        Value::Number(line.limit.normalize().to_string()),
                        line.points.map_or(Value::Empty, |p| Value::Number(p.normalize().to_string())),
                        Value::Empty,
                    ]);
                    row
                })
                .collect();
            (columns, rows)
        }
        Template::Violations { month, .. } => {
            let columns = vec![
                column(T_PERIOD_MONTH, false),
                column(T_VIOLATION, true),
                column(T_PARTNER, true),
                Column { format: Some("yyyy-mm-dd"), ..column(T_CONFIRMED_ON, true) },
                column(T_CLASS, true),
                column(T_CATEGORY, true),
                Column { format: Some("0.00"), ..column(T_DEDUCTION, true) },
                column(T_SEVERE, true),
                column(T_DESCRIPTION, true),
            ];
            let rows = (0..SPARE_ROWS)
                .map(|_| {
                    let mut row = vec![text(month)];
                    row.extend((1..columns.len()).map(|_| Value::Empty));
                    row
                })
                .collect();
            (columns, rows)
        }
        Template::Blacklist { entries, .. } => {
            let columns = vec![
                column(T_PARTNER, true),
                Column { format: Some("yyyy-mm-dd"), ..column(T_DECIDED_ON, true) },
                column(T_REASON, true),
            ];
            let rows = prefilled_rows(&columns, entries, SPARE_ROWS);
            (columns, rows)
        }
        Template::ExitRequests { requests, .. } => {
            let columns = vec![
                column(T_REQUEST, true),
                column(T_PARTNER, true),
                column(T_CONTRACT, true),
                column(T_EXIT_TYPE, true),
                Column { format: Some("yyyy-mm-dd"), ..column(T_REQUESTED_ON, true) },
                Column { format: Some("yyyy-mm-dd"), ..column(T_PLANNED_EXIT_ON, true) },
            ];
            let rows = prefilled_rows(&columns, requests, SPARE_ROWS);
            (columns, rows)
        }
        Template::AuditExclusions { month, fees, reasons } => {
            let columns = vec![
                column(T_PERIOD_MONTH, false),
                column(T_FEE, false),
                column(T_CONTRACT, false),
                column(T_PARTNER, false),
                column(l("records_col_partner_name"), false),
                Column { format: Some("#,##0.00"), ..column(l("records_col_amount"), false) },
                column(l("records_col_fee_description"), false),
                column(T_REASON, true),
                Column { format: Some("yyyy-mm-dd"), ..column(T_FOUND_ON, true) },
            ];
            let rows = fees
                .iter()
                .map(|f| {
                    let (reason, found) = reasons.get(&f.fee_id).cloned().unwrap_or_default();
                    let or_empty = |s: String| if s.is_empty() { Value::Empty } else { Value::Text(s) };
                    vec![
                        text(month),
                        text(&f.fee_id),
                        text(&f.contract_id),
                        text(&f.partner_id),
                        text(&f.partner_name),
                        Value::Number(f.amount.clone()),
                        text(&f.description),
                        or_empty(reason),
                        or_empty(found),
                    ]
                })
                .collect();
            (columns, rows)
        }
        Template::Presales { quarter, lines } => {
            let columns = vec![
                column(T_PERIOD_QUARTER, false),
                column(T_PROJECT, false),
                column(l("records_col_project_name"), false),
                column(l("records_col_unit"), false),
                column(T_PARTNER, false),
                column(l("records_col_partner_name"), false),
                Column { format: Some("0.00%"), ..column(l("records_col_share"), false) },
                Column { format: Some("0.00"), ..column(T_POINTS, true) },
            ];
            let rows = lines
                .iter()
                .map(|line| {
                    vec![
                        text(quarter),
                        text(&line.project_id),
                        text(&line.project_name),
                        text(&line.unit),
                        text(&line.partner_id),
                        text(&line.partner_name),
                        Value::Number(line.share.clone()),
                        line.score.as_ref().map_or(Value::Empty, |s| Value::Number(s.clone())),
                    ]
                })
                .collect();
            (columns, rows)
        }
    }
}

/// The rows of a template to add to: the entered ones first (each value under its title), then
/// empty rows to fill.
fn prefilled_rows(columns: &[Column], entered: &Prefilled, spare: u32) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = entered
        .iter()
        .map(|e| {
            columns.iter().map(|c| e.get(c.title.as_str()).map_or(Value::Empty, |v| Value::Text(v.clone()))).collect()
        })
        .collect();
    rows.extend((0..spare).map(|_| columns.iter().map(|_| Value::Empty).collect()));
    rows
}

/// Writes the header and rows: locked grey where nothing is to be typed, unlocked yellow where a
/// person fills in; widths that fit (a CJK character is two columns wide), the header frozen
/// and filtered.
fn write_sheet(sheet: &mut Worksheet, columns: &[Column], rows: &[Vec<Value>]) -> Result<(), XlsxError> {
    let head = Format::new()
        .set_bold()
        .set_background_color("#DCE6F1")
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_text_wrap();
    let cell_format = |c: &Column| {
        let f = Format::new().set_border(FormatBorder::Thin).set_border_color("#BFBFBF").set_text_wrap();
        let f =
            if c.input { f.set_unlocked().set_background_color("#FFF2CC") } else { f.set_background_color("#F2F2F2") };
        match c.format {
            Some(n) => f.set_num_format(n),
            None => f,
        }
    };
    for (i, c) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, &c.title, &head)?;
        let widest = rows
            .iter()
            .filter_map(|r| match r.get(i) {
                Some(Value::Text(s)) | Some(Value::Number(s)) => Some(s.width()),
                _ => None,
            })
            .chain([c.title.width(), if c.input { 10 } else { 6 }])
            .max()
            .unwrap_or(8);
        // A long text (a project's name) wraps at 36 rather than widen the sheet past what
        // prints at 8 pt on A4 landscape.
        sheet.set_column_width(i as u16, (widest + 2).min(36) as f64)?;
    }
    let formats: Vec<Format> = columns.iter().map(cell_format).collect();
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, value) in row.iter().enumerate() {
            let (c16, f) = (c as u16, &formats[c]);
            match value {
                Value::Text(s) => sheet.write_string_with_format(r, c16, s, f)?,
                Value::Number(s) => match s.parse::<f64>() {
                    Ok(n) => sheet.write_number_with_format(r, c16, n, f)?,
                    Err(_) => sheet.write_string_with_format(r, c16, s, f)?,
                },
                Value::Empty => sheet.write_blank(r, c16, f)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_row = rows.len().max(1) as u32;
    sheet.autofilter(0, 0, last_row, columns.len().saturating_sub(1) as u16)?;
    Ok(())
}

/// Where a problem is and what it is, in the locale's words: one line each.
pub(crate) fn problem_lines(locale: &str, problems: &[Problem]) -> Vec<String> {
    problems.iter().map(|p| problem_line(locale, p)).collect()
}

fn problem_line(locale: &str, p: &Problem) -> String {
    let what = issue(locale, &p.issue);
    let row = p.row.map(|r| r.to_string());
    match (&row, p.column) {
        (Some(row), Some((col, title))) => label(
            locale,
            "records_at_cell",
            &[("sheet", &p.sheet), ("row", row), ("column", &column_letters(col)), ("title", title), ("what", &what)],
        ),
        (Some(row), None) => label(locale, "records_at_row", &[("sheet", &p.sheet), ("row", row), ("what", &what)]),
        (None, _) => label(locale, "records_at_sheet", &[("sheet", &p.sheet), ("what", &what)]),
    }
}

fn issue(locale: &str, issue: &Issue) -> String {
    let l = |key: &str, args: &[(&str, &str)]| label(locale, key, args);
    match issue {
        Issue::MissingColumn(t) => l("records_missing_column", &[("title", t)]),
        Issue::DuplicateColumn(t) => l("records_duplicate_column", &[("title", t)]),
        Issue::TooManyRows(n) => {
            l("records_too_many_rows", &[("count", &n.to_string()), ("max", &MAX_ROWS.to_string())])
        }
        Issue::NoRows => l("records_no_rows", &[]),
        Issue::Required => l("records_required", &[]),
        Issue::NotANumber(v) => l("records_not_a_number", &[("value", v)]),
        Issue::TooManyDecimals(v) => l("records_too_many_decimals", &[("value", v)]),
        Issue::OutOfRange { value, min, max } => {
            l("records_out_of_range", &[("value", value), ("min", min), ("max", max)])
        }
        Issue::NotADate(v) => l("records_not_a_date", &[("value", v)]),
        Issue::DateOutsidePeriod { date, first, last } => l(
            "records_date_outside",
            &[("date", &date.to_string()), ("first", &first.to_string()), ("last", &last.to_string())],
        ),
        Issue::LineBreak => l("records_line_break", &[]),
        Issue::Unsafe(c) => l("records_unsafe_character", &[("code", &format!("U+{c:04X}"))]),
        Issue::ErrorValue(v) => l("records_error_value", &[("value", v)]),
        Issue::WrongPeriod { found, .. } => l("records_wrong_period", &[("value", found)]),
        Issue::PeriodMismatch { found, given } => l("records_period_mismatch", &[("value", found), ("given", given)]),
        Issue::MixedPeriods { found, first } => l("records_mixed_periods", &[("value", found), ("first", first)]),
        Issue::MixedDepartments { found, first } => {
            l("records_mixed_departments", &[("value", found), ("first", first)])
        }
        Issue::UnknownPartner(v) => l("records_unknown_partner", &[("value", v)]),
        Issue::NotAssessed(v) => l("records_not_assessed", &[("value", v)]),
        Issue::NotOfDepartment { partner, department } => {
            l("records_not_of_department", &[("value", partner), ("department", department)])
        }
        Issue::NotManualIndicator(v) => l("records_not_manual", &[("value", v)]),
        Issue::NotAClass(v) => l("records_not_a_class", &[("value", v)]),
        Issue::NotYesNo(v) => l("records_not_yes_no", &[("value", v)]),
        Issue::UnknownSupport { project, partner } => {
            l("records_unknown_support", &[("project", project), ("value", partner)])
        }
        Issue::Duplicate(v) => l("records_duplicate", &[("value", v)]),
        Issue::UnknownContract { contract, partner } => {
            l("records_unknown_contract", &[("value", contract), ("partner", partner)])
        }
        Issue::NotAnExitType(v) => l("records_not_an_exit_type", &[("value", v)]),
        Issue::ExitBeforeRequest { requested, planned } => l(
            "records_exit_before_request",
            &[("planned", &planned.to_string()), ("requested", &requested.to_string())],
        ),
        Issue::UnknownFee(v) => l("records_unknown_fee", &[("value", v)]),
        Issue::EnteredElsewhere(d) if d.is_empty() => l("records_entered_by_all", &[]),
        Issue::EnteredElsewhere(d) => l("records_entered_elsewhere", &[("department", d)]),
        Issue::TooLong { chars, max } => {
            l("records_too_long", &[("count", &chars.to_string()), ("max", &max.to_string())])
        }
    }
}

/// A stored column's name for people: the workbook's title in Chinese, the contract's name in
/// English.
fn field_title(locale: &str, kind: RecordKind, field: &str) -> String {
    if locale == "en" {
        return field.to_string();
    }
    match (kind, field) {
        (_, "partner_id") => T_PARTNER,
        (_, "month") => T_PERIOD_MONTH,
        (_, "indicator") => T_INDICATOR,
        (RecordKind::Violations, "points") => T_DEDUCTION,
        (_, "points" | "assessment_score") => T_POINTS,
        (_, "scored_by") => "评分人",
        (_, "violation_id") => T_VIOLATION,
        (_, "confirmed_on") => T_CONFIRMED_ON,
        (_, "class") => T_CLASS,
        (_, "category") => T_CATEGORY,
        (_, "severe") => T_SEVERE,
        (_, "description") => T_DESCRIPTION,
        (_, "project_id") => T_PROJECT,
        (_, "decided_on") => T_DECIDED_ON,
        (_, "reason") => T_REASON,
        (_, "request_id") => T_REQUEST,
        (_, "contract_id") => T_CONTRACT,
        (_, "exit_type") => T_EXIT_TYPE,
        (_, "requested_on") => T_REQUESTED_ON,
        (_, "planned_exit_on") => T_PLANNED_EXIT_ON,
        (_, "fee_id") => T_FEE,
        (_, "found_on") => T_FOUND_ON,
        _ => field,
    }
    .to_string()
}

fn fields_text(locale: &str, kind: RecordKind, fields: &Fields) -> String {
    let sep = if locale == "en" { "; " } else { "；" };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", field_title(locale, kind, k), v.as_deref().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(sep)
}

/// What an import changes, a line per row: `+` added, `~` changed (old → new), `-` removed.
pub(crate) fn change_lines(locale: &str, kind: RecordKind, changes: &Changes) -> Vec<String> {
    let mut lines = Vec::new();
    for (key, new) in &changes.added {
        lines.push(format!("+ {key}  {}", fields_text(locale, kind, new)));
    }
    for (key, old, new) in &changes.changed {
        // Only what differs: a person checks the points, not the unchanged columns.
        let diff = |a: &Fields, b: &Fields| -> Fields {
            a.iter().filter(|(k, v)| b.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let (was, is) = (diff(old, new), diff(new, old));
        lines.push(format!("~ {key}  {} → {}", fields_text(locale, kind, &was), fields_text(locale, kind, &is)));
    }
    for (key, old) in &changes.removed {
        lines.push(format!("- {key}  {}", fields_text(locale, kind, old)));
    }
    lines
}

/// Why a file could not be read at all, in the locale's words.
pub(crate) fn unreadable(locale: &str, e: &WorkbookError) -> String {
    let l = |key: &str, args: &[(&str, &str)]| label(locale, key, args);
    match e {
        WorkbookError::Empty => l("records_empty", &[]),
        WorkbookError::TooLarge(n) => l("records_too_large", &[("bytes", &n.to_string())]),
        WorkbookError::Encrypted => l("records_encrypted", &[]),
        WorkbookError::Ambiguous(part) => {
            l("records_ambiguous", &[("part", &crate::domain::text::escape(part, false))])
        }
        WorkbookError::Hidden { rows, columns } => {
            let rows: Vec<String> = rows.iter().map(u32::to_string).collect();
            l("records_hidden_cells", &[("rows", &rows.join("、")), ("columns", &columns.join("、"))])
        }
        WorkbookError::TooManyCells(n) => l("records_too_many_cells", &[("count", &n.to_string())]),
        WorkbookError::TooMuchText(n) => l("records_too_much_text", &[("bytes", &(n >> 20).to_string())]),
        WorkbookError::NotXlsx(NotXlsx::OldFormat) => l("records_not_xlsx_xls", &[]),
        WorkbookError::NotXlsx(NotXlsx::Text) => l("records_not_xlsx_text", &[]),
        WorkbookError::NotXlsx(NotXlsx::Other) => l("records_not_xlsx", &[]),
        WorkbookError::Damaged(detail) => l("records_damaged", &[("detail", detail)]),
        WorkbookError::Inflates(n) => l("records_inflates", &[("bytes", &n.to_string())]),
        WorkbookError::NoSheet => l("records_no_sheet", &[]),
        WorkbookError::TooManyRows(n) => {
            l("records_too_many_rows", &[("count", &n.to_string()), ("max", &MAX_ROWS.to_string())])
        }
        WorkbookError::HiddenSheets(s) => l("records_hidden_sheets", &[("sheets", &s.join("、"))]),
        WorkbookError::Formulas(c) => l("records_formulas", &[("cells", &c.join(", "))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_sheet_row_column_and_title_in_chinese() {
        let p = Problem {
            sheet: "支撑配合评分".into(),
            row: Some(7),
            column: Some((7, T_POINTS)),
            issue: Issue::OutOfRange { value: "20.5".into(), min: "0".into(), max: "20".into() },
        };
        assert_eq!(
            problem_lines("zh-CN", &[p])[0],
            "工作表「支撑配合评分」第 7 行 H 列「得分」：「20.5」不在 0 至 20 之间"
        );
        let whole = Problem { sheet: "S".into(), row: None, column: None, issue: Issue::NoRows };
        assert_eq!(problem_lines("en", &[whole])[0], "sheet S: no row is filled in");
    }

    #[test]
    fn every_issue_has_words_in_both_locales() {
        let v = || "x".to_string();
        let day = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
        // Every kind of issue (a new one fails to compile here until it has words).
        let issues: Vec<Issue> = vec![
            Issue::MissingColumn(T_POINTS),
            Issue::DuplicateColumn(T_POINTS),
            Issue::TooManyRows(3),
            Issue::NoRows,
            Issue::Required,
            Issue::NotANumber(v()),
            Issue::TooManyDecimals(v()),
            Issue::OutOfRange { value: v(), min: v(), max: v() },
            Issue::NotADate(v()),
            Issue::DateOutsidePeriod { date: day, first: day, last: day },
            Issue::LineBreak,
            Issue::Unsafe(0x202e),
            Issue::ErrorValue(v()),
            Issue::WrongPeriod { found: v(), expected: v() },
            Issue::PeriodMismatch { found: v(), given: v() },
            Issue::MixedPeriods { found: v(), first: v() },
            Issue::MixedDepartments { found: v(), first: v() },
            Issue::UnknownPartner(v()),
            Issue::NotAssessed(v()),
            Issue::NotOfDepartment { partner: v(), department: v() },
            Issue::NotManualIndicator(v()),
            Issue::NotAClass(v()),
            Issue::NotYesNo(v()),
            Issue::UnknownSupport { project: v(), partner: v() },
            Issue::Duplicate(v()),
            Issue::UnknownContract { contract: v(), partner: v() },
            Issue::NotAnExitType(v()),
            Issue::ExitBeforeRequest { requested: day, planned: day },
            Issue::UnknownFee(v()),
            Issue::EnteredElsewhere(v()),
            Issue::EnteredElsewhere(String::new()),
            Issue::TooLong { chars: 201, max: 100 },
        ];
        for i in &issues {
            // The match below must name every variant: a new one fails to compile until listed.
            match i {
                Issue::MissingColumn(_)
                | Issue::DuplicateColumn(_)
                | Issue::TooManyRows(_)
                | Issue::NoRows
                | Issue::Required
                | Issue::NotANumber(_)
                | Issue::TooManyDecimals(_)
                | Issue::OutOfRange { .. }
                | Issue::NotADate(_)
                | Issue::DateOutsidePeriod { .. }
                | Issue::LineBreak
                | Issue::Unsafe(_)
                | Issue::ErrorValue(_)
                | Issue::WrongPeriod { .. }
                | Issue::PeriodMismatch { .. }
                | Issue::MixedPeriods { .. }
                | Issue::MixedDepartments { .. }
                | Issue::UnknownPartner(_)
                | Issue::NotAssessed(_)
                | Issue::NotOfDepartment { .. }
                | Issue::NotManualIndicator(_)
                | Issue::NotAClass(_)
                | Issue::NotYesNo(_)
                | Issue::UnknownSupport { .. }
                | Issue::Duplicate(_)
                | Issue::UnknownContract { .. }
                | Issue::NotAnExitType(_)
                | Issue::ExitBeforeRequest { .. }
                | Issue::UnknownFee(_)
                | Issue::EnteredElsewhere(_)
                | Issue::TooLong { .. } => {}
            }
        }
        for locale in ["zh-CN", "en"] {
            for i in &issues {
                let text = issue(locale, i);
                assert!(!text.starts_with("records_") && !text.contains('{'), "{locale}: {text}");
            }
        }
        assert!(!unreadable("zh-CN", &WorkbookError::Formulas(vec!["C2".into()])).contains("records_"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Any template filled with valid points imports to exactly those points: through the
        /// xlsx double and back, 14.5 stays 14.5 and 0.07 stays 0.07.
        #[test]
        fn a_filled_template_imports_to_exactly_its_points(
            partners in proptest::collection::btree_set("[A-Z]{1,3}[0-9]{1,4}", 1..40),
            limits in proptest::collection::vec(1u32..=100, 1..3),
            cents in proptest::collection::vec(0u32..=10_000, 120),
            department in proptest::option::of("[网络政企部]{2,4}"),
        ) {
            use crate::domain::records::{read, Context};
            let indicators: Vec<(String, Decimal)> =
                limits.iter().enumerate().map(|(i, l)| (format!("manual_{i}"), Decimal::from(*l))).collect();
            let mut lines = Vec::new();
            let mut expected = std::collections::BTreeMap::new();
            for (indicator, limit) in &indicators {
                for (i, p) in partners.iter().enumerate() {
                    // Every third row is left for later.
                    let points = (i % 3 != 2).then(|| {
                        Decimal::new(i64::from(cents[(i + indicator.len()) % cents.len()]), 2).min(*limit).normalize()
                    });
                    if let Some(v) = points {
                        expected.insert(format!("{p}/2026-11/{indicator}"), v.to_string());
                    }
                    lines.push(ManualLine {
                        partner_id: p.clone(),
                        partner_name: format!("{p} 有限公司"),
                        departments: "网络部".into(),
                        indicator: indicator.clone(),
                        limit: *limit,
                        points,
                    });
                }
            }
            let t = Template::Manual { month: "2026-11", department: department.as_deref(), lines: &lines };
            let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            let bytes = template("zh-CN", &t, day).unwrap();
            let sheet = crate::workbooks::first_sheet(&bytes).unwrap();
            let dept: std::collections::BTreeSet<String> = department.iter().cloned().chain(["网络部".to_string()]).collect();
            let cx = Context {
                assessed: partners.iter().map(|p| (p.clone(), dept.clone())).collect(),
                known: partners.iter().cloned().collect(),
                manual: indicators.iter().cloned().collect(),
                ..Context::default()
            };
            match read(RecordKind::ManualScores, &sheet, &cx, "张经理") {
                Ok(entered) => {
                    let got: std::collections::BTreeMap<String, String> = entered
                        .rows
                        .iter()
                        .map(|(k, f)| (k.clone(), f["points"].clone().unwrap_or_default()))
                        .collect();
                    proptest::prop_assert_eq!(got, expected.clone());
                    proptest::prop_assert_eq!(entered.department, department.clone().unwrap_or_default());
                    proptest::prop_assert_eq!(entered.blank, lines.len() - expected.len());
                }
                // Only a template with nothing filled in is refused (no row).
                Err(problems) => {
                    proptest::prop_assert!(expected.is_empty(), "{:?}", problems);
                }
            }
        }
    }
}
