-- The operations-data contract in PostgreSQL types (gen-data writes it; tests load it).
-- The operations-data contract: the shapes the pipeline reads.
-- SQLite dialect shown; PostgreSQL and MySQL/MariaDB use the same table and column names with
-- their natural types (DATE, TIMESTAMP without time zone / DATETIME, NUMERIC(14,2) / DECIMAL(14,2)).
-- Timestamps are local wall-clock times in the configured time zone (default Asia/Shanghai),
-- written 'YYYY-MM-DD HH:MM:SS'. Dates are 'YYYY-MM-DD'. Months are 'YYYY-MM'.
-- Booleans are 0/1 integers. Money is CNY with at most 2 decimals.
-- A real deployment maps its own EOMS / CRM / billing tables onto these shapes with the
-- extraction queries in the project's sql/ folder; nothing here is written by the pipeline.

CREATE TABLE partners (
  partner_id    TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  contact_email TEXT               -- receives the partner's own published results
);

CREATE TABLE contracts (
  contract_id   TEXT PRIMARY KEY,
  partner_id    TEXT NOT NULL,
  kind          TEXT NOT NULL,     -- 'presales' | 'aftersales'
  start_date    DATE NOT NULL,     -- inclusive
  end_date      DATE NOT NULL,     -- inclusive
  department    TEXT NOT NULL,     -- 归口管理部门; config maps it to manager e-mail addresses
  owner_email   TEXT NOT NULL,     -- contract owner: receives the renewal notice
  terminated_on DATE               -- NULL unless the contract ended early
);

CREATE TABLE tickets (             -- fault tickets (故障工单) from the EOMS
  ticket_id          TEXT PRIMARY KEY,
  partner_id         TEXT NOT NULL,     -- the O&M partner responsible
  customer_id        TEXT NOT NULL,
  sla_class          TEXT NOT NULL,     -- a key of [sla.classes] in the rules
  responsibility     TEXT NOT NULL,     -- 'partner' | 'customer' | 'third_party' | 'force_majeure'
  opened_at          TIMESTAMP NOT NULL,
  resolved_at        TIMESTAMP,         -- NULL while unresolved
  critical_outage    INTEGER NOT NULL DEFAULT 0,  -- 重要客户业务全阻
  dispatch_violation INTEGER NOT NULL DEFAULT 0,  -- 未按规定渠道派单
  false_info         INTEGER NOT NULL DEFAULT 0   -- 工单虚假信息 / 未按时反馈
);

CREATE TABLE ticket_pauses (       -- 挂起: waits caused by the customer, excluded from SLA time
  ticket_id  TEXT NOT NULL,
  paused_at  TIMESTAMP NOT NULL,
  resumed_at TIMESTAMP             -- NULL while still paused
);

CREATE TABLE orders (              -- service provisioning orders (业务开通)
  order_id     TEXT PRIMARY KEY,
  partner_id   TEXT NOT NULL,
  accepted_at  TIMESTAMP NOT NULL,
  due_at       TIMESTAMP NOT NULL, -- committed completion time
  completed_at TIMESTAMP           -- NULL while open
);

CREATE TABLE complaints (
  complaint_id     TEXT PRIMARY KEY,
  partner_id       TEXT NOT NULL,
  received_at      TIMESTAMP NOT NULL,
  channel          TEXT NOT NULL,  -- 'miit' (工信部) | 'group' (集团/省公司领导, 投诉中心, 网站) | 'account_manager'
  escalation_steps INTEGER NOT NULL DEFAULT 0,  -- levels escalated above the account manager
  justified        INTEGER NOT NULL              -- 1 = 有理由投诉 (counts), 0 = does not count
);

CREATE TABLE surveys (             -- customer satisfaction returns
  survey_id   TEXT PRIMARY KEY,
  partner_id  TEXT NOT NULL,
  answered_at TIMESTAMP NOT NULL,
  score       NUMERIC NOT NULL     -- 0..100
);

CREATE TABLE manual_scores (       -- points entered by managers (e.g. 支撑配合)
  partner_id TEXT NOT NULL,
  month      TEXT NOT NULL,        -- 'YYYY-MM'
  indicator  TEXT NOT NULL,        -- id of a 'manual' indicator in the rules
  points     NUMERIC NOT NULL,     -- 0..weight of that indicator
  scored_by  TEXT NOT NULL,
  PRIMARY KEY (partner_id, month, indicator)
);

CREATE TABLE violations (          -- 信用考核 events
  violation_id TEXT PRIMARY KEY,
  partner_id   TEXT NOT NULL,
  confirmed_on DATE NOT NULL,      -- 认定日期: the month the deduction falls in
  class        INTEGER NOT NULL,   -- 1 = 一类违约, 2 = 二类违约
  category     TEXT NOT NULL,
  points       NUMERIC,            -- class 2: 1..10; ignored for class 1
  severe       INTEGER NOT NULL DEFAULT 0,  -- 情节恶劣 (class 1 only): blacklist recommended
  description  TEXT
);

CREATE TABLE fee_items (           -- 当月支撑费 line items of after-sales contracts
  fee_id        TEXT PRIMARY KEY,
  contract_id   TEXT NOT NULL,
  service_month TEXT NOT NULL,     -- 'YYYY-MM'
  amount        NUMERIC(14,2) NOT NULL,  -- CNY, >= 0, at most 2 decimals
  description   TEXT
);

CREATE TABLE audit_exclusions (    -- 稽核发现的异常费用: never settled
  fee_id   TEXT PRIMARY KEY,
  reason   TEXT NOT NULL,
  found_on DATE NOT NULL
);

CREATE TABLE presales_projects (   -- 附件一 售前ICT项目支撑申请表
  project_id           TEXT PRIMARY KEY,
  name                 TEXT NOT NULL,
  customer_name        TEXT NOT NULL,
  project_class        TEXT NOT NULL,  -- 'A1' | 'A2' | 'B' | 'C'
  project_type         TEXT NOT NULL,  -- 'dedicated_line' | 'integrated' | 'mixed' | 'single_own_business'
  commissioning_unit   TEXT NOT NULL,  -- 委托方, who pays (谁委托、谁付费)
  applied_on           DATE NOT NULL,
  support_completed_on DATE,
  deliverables         TEXT,           -- reference to the 支撑成果; NULL or '' = none submitted
  outcome              TEXT NOT NULL,  -- 'pending' | 'won_other_implementer' | 'won_by_supporter'
                                       -- | 'not_implemented_other_cause' | 'not_implemented_supporter_cause'
  outcome_on           DATE,
  contract_value       NUMERIC(14,2)         -- project scale in CNY
);

CREATE TABLE presales_supports (   -- who supported a project, their share, their 附件二 score
  project_id       TEXT NOT NULL,
  partner_id       TEXT NOT NULL,
  workload_share   NUMERIC NOT NULL, -- (0, 1]; the shares of one project sum to 1
  assessment_score NUMERIC,          -- 0..100; NULL = not yet assessed
  PRIMARY KEY (project_id, partner_id)
);

CREATE TABLE exit_requests (
  request_id      TEXT PRIMARY KEY,
  partner_id      TEXT NOT NULL,
  contract_id     TEXT NOT NULL,
  exit_type       TEXT NOT NULL,   -- 'voluntary' | 'breach' | 'assessment' | 'qualification_change' | 'blacklist'
  requested_on    DATE NOT NULL,
  planned_exit_on DATE NOT NULL
);

CREATE TABLE blacklist_entries (   -- 不良信用记录名单 decisions
  partner_id TEXT NOT NULL,
  decided_on DATE NOT NULL,
  reason     TEXT NOT NULL
);
