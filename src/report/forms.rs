//! 结算确认表 (附件三): one printable settlement confirmation per (partner, commissioning unit),
//! as an HTML page and as a sheet of the quarter's workbook. Pure: rows in, bytes out.

use crate::domain::money::{fmt2, fmt_plain, rmb_uppercase};
use crate::domain::period::Quarter;
use crate::domain::presales::{PresalesRow, QuarterResult};
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One form: a partner's settled shares for one commissioning unit (谁委托、谁付费).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Form {
    pub(crate) quarter: String,
    pub(crate) partner_id: String,
    pub(crate) partner_name: String,
    pub(crate) unit: String,
    pub(crate) rows: Vec<FormRow>,
    pub(crate) total: String,
    pub(crate) total_upper: String,
    #[serde(skip)]
    pub(crate) total_amount: Decimal,
    /// Whether there is anything to pay: nobody is asked to sign for ¥0.00.
    pub(crate) payable: bool,
    pub(crate) preview: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FormRow {
    pub(crate) project_id: String,
    pub(crate) project_name: String,
    pub(crate) project_class: String,
    pub(crate) fee_type: String,
    pub(crate) base_fee: String,
    pub(crate) coefficient: String,
    pub(crate) workload_share: String,
    pub(crate) assessment_score: String,
    pub(crate) amount: String,
    #[serde(skip)]
    pub(crate) numbers: [Decimal; 5],
}

/// 专线类 / 综合类, the regulation's names of the fee types.
pub(crate) fn fee_type_label(fee_type: &str) -> &str {
    match fee_type {
        "dedicated_line" => "专线类",
        "integrated" => "综合类",
        other => other,
    }
}

/// Groups the settled rows into forms, sorted by partner then unit.
pub(crate) fn forms(result: &QuarterResult, names: &HashMap<String, String>, preview: bool) -> Vec<Form> {
    let mut groups: BTreeMap<(String, String), Vec<&PresalesRow>> = BTreeMap::new();
    for row in &result.rows {
        if let Some(share) = &row.share {
            groups.entry((share.partner_id.clone(), row.commissioning_unit.clone())).or_default().push(row);
        }
    }
    groups
        .into_iter()
        .map(|((partner_id, unit), rows)| {
            let total: Decimal = rows.iter().filter_map(|r| r.share.as_ref()).map(|s| s.amount).sum();
            Form {
                quarter: quarter_label(result.quarter),
                partner_name: names.get(&partner_id).cloned().unwrap_or_else(|| partner_id.clone()),
                partner_id,
                unit,
                rows: rows
                    .iter()
                    .filter_map(|r| {
                        let s = r.share.as_ref()?;
                        Some(FormRow {
                            project_id: r.project_id.clone(),
                            project_name: r.project_name.clone(),
                            project_class: r.project_class.clone(),
                            fee_type: fee_type_label(&s.fee_type).to_string(),
                            base_fee: fmt2(s.base_fee),
                            coefficient: fmt_plain(s.coefficient),
                            workload_share: fmt_plain(s.workload_share),
                            assessment_score: fmt2(s.assessment_score),
                            amount: fmt2(s.amount),
                            numbers: [s.base_fee, s.coefficient, s.workload_share, s.assessment_score, s.amount],
                        })
                    })
                    .collect(),
                total: fmt2(total),
                total_upper: rmb_uppercase(total),
                total_amount: total,
                payable: !total.is_zero(),
                preview,
            }
        })
        .collect()
}

fn quarter_label(q: Quarter) -> String {
    let s = q.to_string();
    let (year, n) = s.split_once("-Q").expect("quarter format");
    format!("{year}年第{n}季度")
}

/// The form as an HTML page (escaped by the template engine).
pub(crate) fn html(form: &Form) -> Result<String, minijinja::Error> {
    super::templates::render("confirmation_form.html", form)
}

/// The covering letter for a set of forms (a commissioning unit's, or a partner's).
pub(crate) fn letter(title: &str, quarter: &str, forms: &[&Form]) -> Result<crate::report::Letter, minijinja::Error> {
    let html = super::templates::render("forms_letter.html", minijinja::context! { title, quarter, forms })?;
    let mut text = format!("{title}\n\n");
    for f in forms {
        if f.payable {
            text.push_str(&format!(
                "{}（{}） {}：{} 元（人民币{}）\n",
                f.partner_name, f.partner_id, f.unit, f.total, f.total_upper
            ));
        } else {
            text.push_str(&format!("{}（{}） {}：本季度无应结算金额\n", f.partner_name, f.partner_id, f.unit));
        }
    }
    Ok(crate::report::Letter { subject: title.to_string(), html, text, images: vec![] })
}

/// The quarter's workbook: one sheet per form, laid out like the paper form.
pub(crate) fn workbook(quarter: Quarter, forms: &[Form]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    book.set_properties(&super::stable_properties(quarter.first_day())?);
    let title = Format::new().set_bold().set_font_size(14).set_align(FormatAlign::Center);
    let head = Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color("#EEEEEE");
    let cell = Format::new().set_border(FormatBorder::Thin);
    let money = Format::new().set_border(FormatBorder::Thin).set_num_format("#,##0.00");
    let plain = Format::new().set_border(FormatBorder::Thin).set_num_format("0.####");
    let bold = Format::new().set_bold().set_border(FormatBorder::Thin);
    if forms.is_empty() {
        book.add_worksheet().set_name("无结算")?.write_string(0, 0, "本季度没有结算的售前支撑项目。")?;
    }
    for (k, form) in forms.iter().enumerate() {
        let sheet = book.add_worksheet();
        let name: String =
            format!("{}-{}", k + 1, crate::files::safe_name(&form.partner_id)).chars().take(31).collect();
        sheet.set_name(name)?;
        sheet.merge_range(0, 0, 0, 9, "ICT支撑合作伙伴售前支撑费用结算确认表（附件三）", &title)?;
        sheet.write_string(1, 0, format!("结算季度：{}", form.quarter))?;
        sheet.write_string(2, 0, format!("ICT支撑商：{}（{}）", form.partner_name, form.partner_id))?;
        sheet.write_string(3, 0, format!("委托单位：{}", form.unit))?;
        let headers = [
            "序号",
            "项目编号",
            "项目名称",
            "项目类别",
            "费用类型",
            "基准费用（元）",
            "成功系数",
            "工作量占比",
            "考核得分",
            "结算金额（元）",
        ];
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string_with_format(5, c as u16, *h, &head)?;
        }
        let mut r = 6u32;
        for (i, row) in form.rows.iter().enumerate() {
            sheet.write_number_with_format(r, 0, (i + 1) as f64, &cell)?;
            for (c, v) in [(1, &row.project_id), (2, &row.project_name), (3, &row.project_class), (4, &row.fee_type)] {
                sheet.write_string_with_format(r, c, v, &cell)?;
            }
            // Spreadsheet numbers are binary floats: written for display only, from the exact values.
            let [base, coef, share, score, amount] = row.numbers.map(|d| d.to_string().parse::<f64>().unwrap_or(0.0));
            sheet.write_number_with_format(r, 5, base, &money)?;
            sheet.write_number_with_format(r, 6, coef, &plain)?;
            sheet.write_number_with_format(r, 7, share, &plain)?;
            sheet.write_number_with_format(r, 8, score, &money)?;
            sheet.write_number_with_format(r, 9, amount, &money)?;
            r += 1;
        }
        sheet.merge_range(r, 0, r, 8, "合计（小写）", &bold)?;
        sheet.write_number_with_format(r, 9, form.total_amount.to_string().parse::<f64>().unwrap_or(0.0), &money)?;
        sheet.merge_range(r + 1, 0, r + 1, 1, "合计（大写）", &bold)?;
        sheet.merge_range(r + 1, 2, r + 1, 9, &format!("人民币{}", form.total_upper), &bold)?;
        // The signatures, each with room for a seal (a row about 4 cm tall) and a date to write.
        let sign = r + 3;
        let date = "日期：　　　　年　　月　　日";
        let unit_side =
            [format!("考核单位：{}", form.unit), "授权代表（签章）：".into(), "部门分管领导（签章）：".into()];
        for (i, line) in unit_side.iter().enumerate() {
            sheet.write_string(sign + i as u32, 0, line)?;
        }
        let partner_side = [format!("ICT支撑商：{}", form.partner_name), "授权代表（签章）：".into()];
        for (i, line) in partner_side.iter().enumerate() {
            sheet.write_string(sign + i as u32, 6, line)?;
        }
        sheet.set_row_height(sign + 3, 110.0)?;
        sheet.write_string(sign + 4, 0, date)?;
        sheet.write_string(sign + 4, 6, date)?;
        for (c, w) in
            [(0, 6.0), (1, 12.0), (2, 30.0), (3, 9.0), (4, 10.0), (5, 14.0), (6, 10.0), (7, 11.0), (8, 10.0), (9, 15.0)]
        {
            sheet.set_column_width(c, w)?;
        }
        // A4 landscape, one page wide: the columns total about 127 units, which fits at about
        // 85 %, keeping the 11 pt type above 9 pt; the form's header and the signatures print
        // with the rows.
        sheet.set_landscape().set_paper_size(9).set_print_fit_to_pages(1, 0);
        sheet.set_header(format!("&C{}", form.quarter)).set_footer("&C&P / &N");
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::presales::{Share, Status};
    use rust_decimal_macros::dec;
    use std::collections::BTreeSet;

    fn result() -> QuarterResult {
        let row = |project: &str, partner: &str, unit: &str, amount| PresalesRow {
            project_id: project.into(),
            project_name: "<script>alert(1)</script>".into(),
            commissioning_unit: unit.into(),
            project_class: "A1".into(),
            status: Status::Settled,
            share: Some(Share {
                partner_id: partner.into(),
                fee_type: "dedicated_line".into(),
                base_fee: dec!(3000),
                coefficient: dec!(1.2),
                workload_share: dec!(0.3333),
                assessment_score: dec!(85.5),
                amount,
            }),
            reasons: BTreeSet::new(),
        };
        QuarterResult {
            quarter: "2026-Q1".parse().unwrap(),
            rows: vec![
                row("PJ1", "P1", "成都分公司政企客户部", dec!(1025.90)),
                row("PJ2", "P1", "成都分公司政企客户部", dec!(9177.50)),
                row("PJ3", "P1", "省公司政企客户部", dec!(10.00)),
                PresalesRow {
                    status: Status::Held, share: None, ..row("PJ4", "P2", "省公司政企客户部", dec!(0))
                },
            ],
        }
    }

    #[test]
    fn one_form_per_partner_and_unit_with_totals_in_words() {
        let f = forms(&result(), &HashMap::from([("P1".into(), "成都天府".into())]), false);
        assert_eq!(f.len(), 2);
        // 1025.90 + 9177.50 = 10203.40
        assert_eq!(
            (f[0].unit.as_str(), f[0].total.as_str(), f[0].total_upper.as_str()),
            ("成都分公司政企客户部", "10203.40", "壹万零贰佰零叁元肆角")
        );
        assert_eq!(f[1].total_upper, "壹拾元整");
    }

    #[test]
    fn html_has_the_signature_block_and_escapes_names() {
        let f = forms(&result(), &HashMap::new(), false);
        let page = html(&f[0]).unwrap();
        for needle in [
            "考核单位",
            "授权代表（签章）",
            "部门分管领导（签章）",
            "年　　月　　日",
            "ICT支撑商",
            "日期",
            "人民币壹万零贰佰零叁元肆角",
            "2026年第1季度",
        ] {
            assert!(page.contains(needle), "missing {needle}");
        }
        assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"));
    }

    #[test]
    fn workbook_is_a_zip_with_a_sheet_per_form() {
        let r = result();
        let bytes = workbook(r.quarter, &forms(&r, &HashMap::new(), false)).unwrap();
        assert_eq!(
            bytes,
            workbook(r.quarter, &forms(&r, &HashMap::new(), false)).unwrap(),
            "the same input gives the same file"
        );
        assert_eq!(&bytes[..2], b"PK");
    }
}
