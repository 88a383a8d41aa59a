-- partners: every ICT support partner (all rows).
SELECT partner_id, name, contact_email FROM partners
