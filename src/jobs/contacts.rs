//! Who to tell about a partner, from the source of record: its contact address, and the managing
//! departments of its contracts. Read before anything is recorded, so that a source that cannot
//! be read (exit 69) leaves nothing committed.

use super::Context;
use crate::domain::inputs::{values, CONTRACTS, PARTNERS};
use crate::domain::job::{Job, JobKind};
use crate::sources::{Sources, Window};
use std::collections::{BTreeSet, HashMap};

/// The partners' contact addresses and managing departments.
pub(crate) struct Contacts {
    pub(crate) emails: HashMap<String, String>,
    pub(crate) names: HashMap<String, String>,
    pub(crate) departments: HashMap<String, BTreeSet<String>>,
}

impl Contacts {
    /// A partner's own address (none when the source has none).
    pub(crate) fn email(&self, partner: &str) -> Vec<String> {
        self.emails.get(partner).cloned().into_iter().collect()
    }
}

/// The contacts as of the period of `job`.
pub(crate) async fn contacts(cx: &Context, job: Job) -> anyhow::Result<Contacts> {
    let window = Window::between(job.first_month().start(), job.period_end());
    let source = Sources::connect(&cx.settings).await?;
    let read = source.fetch_all(&[PARTNERS, CONTRACTS], &window).await;
    source.close().await;
    let mut read = read?;
    let (partners, contracts) = (read.take(PARTNERS), read.take(CONTRACTS));
    let names = values(&partners, "partner_id")
        .zip(values(&partners, "name"))
        .filter_map(|(p, n)| Some((p?.to_string(), n.unwrap_or("").to_string())))
        .collect();
    let emails = values(&partners, "partner_id")
        .zip(values(&partners, "contact_email"))
        .filter_map(|(p, e)| Some((p?.to_string(), e?.to_string())))
        .collect();
    // A month (and a year) is the after-sales partners' assessment, a quarter the presales
    // settlement: the departments that manage those contracts are the ones told.
    let kind = if job.kind() == JobKind::Quarterly { "presales" } else { "aftersales" };
    let mut departments: HashMap<String, BTreeSet<String>> = HashMap::new();
    let rows = values(&contracts, "partner_id").zip(values(&contracts, "department")).zip(values(&contracts, "kind"));
    for ((p, d), k) in rows {
        if let (Some(p), Some(d), Some(k)) = (p, d, k) {
            if k.trim() == kind {
                departments.entry(p.to_string()).or_default().insert(d.to_string());
            }
        }
    }
    Ok(Contacts { emails, names, departments })
}

/// The managers of the departments that manage a partner.
pub(crate) fn managers(cx: &Context, contacts: &Contacts, partner: &str) -> Vec<String> {
    let mut to: Vec<String> = contacts
        .departments
        .get(partner)
        .into_iter()
        .flatten()
        .flat_map(|d| cx.settings.departments.get(d).cloned().unwrap_or_default())
        .collect();
    to.sort();
    to.dedup();
    to
}
