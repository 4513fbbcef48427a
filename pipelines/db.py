"""The warehouse: opening the DuckDB file and migrating its schema.

Schema changes are ordered migrations recorded in `schema_version`; a migration never drops
user data. DuckDB allows one writing process per file: `connect` turns the lock error into a
Chinese message that says what to do (the dashboard server owns the warehouse while it runs).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import duckdb

DEFAULT_DB = "data/warehouse.duckdb"


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file."""


# Each entry: (version, description, SQL). Append only; never edit an applied migration.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", """
    CREATE TABLE regions (
        code VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        parent_code VARCHAR,
        jurisdiction_code VARCHAR NOT NULL,
        level VARCHAR,
        depth INTEGER NOT NULL,
        sort_order INTEGER NOT NULL,
        active BOOLEAN NOT NULL DEFAULT TRUE
    );
    CREATE TABLE region_aliases (
        alias VARCHAR PRIMARY KEY,
        region_code VARCHAR NOT NULL
    );
    CREATE TABLE indicators (
        code VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        unit VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,            -- ratio | count | mean
        frequency VARCHAR NOT NULL,       -- 月度 | 季度 | 年度
        aggregation VARCHAR NOT NULL,     -- flow | stock
        direction VARCHAR NOT NULL,       -- higher | lower
        numerator_label VARCHAR NOT NULL,
        denominator_label VARCHAR,
        is_share BOOLEAN NOT NULL,
        scale DOUBLE NOT NULL,            -- 100 for %, 1 otherwise
        tolerance DOUBLE NOT NULL,        -- pp for %, fraction of the target otherwise
        source VARCHAR,
        sort_order INTEGER NOT NULL
    );
    CREATE TABLE indicator_aliases (
        alias VARCHAR PRIMARY KEY,
        indicator_code VARCHAR NOT NULL
    );
    CREATE TABLE plans (
        code VARCHAR PRIMARY KEY,
        title VARCHAR NOT NULL,
        doc_number VARCHAR,
        issued DATE,
        jurisdiction_code VARCHAR NOT NULL,
        year_from INTEGER NOT NULL,
        year_to INTEGER NOT NULL,
        source_file VARCHAR
    );
    -- Versioned: a changed target closes the old row (valid_to) and opens a new one.
    CREATE SEQUENCE target_seq;
    CREATE TABLE targets (
        target_id BIGINT PRIMARY KEY DEFAULT nextval('target_seq'),
        target_key VARCHAR NOT NULL,      -- plan|indicator|region|tier|timing|effective
        plan_code VARCHAR NOT NULL,
        indicator_code VARCHAR NOT NULL,
        region_code VARCHAR NOT NULL,
        tier VARCHAR NOT NULL,
        comparator VARCHAR NOT NULL,      -- >= | <=
        value DOUBLE NOT NULL,
        timing VARCHAR NOT NULL,          -- year | deadline | from
        year_from INTEGER NOT NULL,       -- first year whose periods are measured against it
        deadline DATE,
        effective DATE NOT NULL,          -- applies to periods ending on/after this date
        basis VARCHAR NOT NULL,
        clause VARCHAR,
        text VARCHAR,
        origin VARCHAR NOT NULL,          -- file it was loaded from, or 'web:<user>'
        valid_from TIMESTAMP NOT NULL,
        valid_to TIMESTAMP
    );
    CREATE SEQUENCE baseline_seq;
    CREATE TABLE baselines (
        baseline_id BIGINT PRIMARY KEY DEFAULT nextval('baseline_seq'),
        baseline_key VARCHAR NOT NULL,
        plan_code VARCHAR NOT NULL,
        indicator_code VARCHAR NOT NULL,
        region_code VARCHAR NOT NULL,
        period VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        clause VARCHAR,
        origin VARCHAR NOT NULL,
        valid_from TIMESTAMP NOT NULL,
        valid_to TIMESTAMP
    );
    CREATE SEQUENCE submission_seq;
    CREATE TABLE submissions (
        submission_id BIGINT PRIMARY KEY DEFAULT nextval('submission_seq'),
        content_hash VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        archive_path VARCHAR,
        uploaded_by VARCHAR NOT NULL,
        channel VARCHAR NOT NULL,         -- cli | web | api | demo
        uploaded_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL,          -- accepted | rejected
        layout VARCHAR,                   -- template | long
        row_count INTEGER NOT NULL DEFAULT 0,
        revision_count INTEGER NOT NULL DEFAULT 0,
        regions VARCHAR[],
        periods VARCHAR[],
        warnings JSON,
        errors JSON
    );
    -- One row per reported value. The current value of (region, period, indicator) is the one
    -- with superseded_at NULL; earlier ones stay with the time they were replaced.
    CREATE SEQUENCE value_seq;
    CREATE TABLE return_values (
        value_id BIGINT PRIMARY KEY DEFAULT nextval('value_seq'),
        submission_id BIGINT NOT NULL,
        region_code VARCHAR NOT NULL,
        indicator_code VARCHAR NOT NULL,
        period VARCHAR NOT NULL,          -- 2024-03 | 2024Q1 | 2024
        period_type VARCHAR NOT NULL,     -- M | Q | Y
        year INTEGER NOT NULL,
        month_from INTEGER NOT NULL,      -- first and last month the value covers
        month_to INTEGER NOT NULL,
        numerator DOUBLE NOT NULL,
        denominator DOUBLE,
        note VARCHAR,
        loaded_at TIMESTAMP NOT NULL,
        superseded_at TIMESTAMP,
        superseded_by BIGINT
    );
    CREATE INDEX return_values_key ON return_values(region_code, indicator_code, period);
    CREATE TABLE value_lineage (
        value_id BIGINT PRIMARY KEY,
        file_name VARCHAR NOT NULL,
        sheet VARCHAR NOT NULL,
        row_number INTEGER NOT NULL,
        numerator_cell VARCHAR NOT NULL,
        denominator_cell VARCHAR
    );
    CREATE TABLE users (
        name VARCHAR PRIMARY KEY,
        role VARCHAR NOT NULL,            -- admin | reporter | viewer
        region_code VARCHAR,
        password_hash VARCHAR NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMP NOT NULL
    );
    CREATE TABLE api_tokens (
        token_hash VARCHAR PRIMARY KEY,
        user_name VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP
    );
    CREATE SEQUENCE audit_seq;
    CREATE TABLE audit_log (
        audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
        logged_at TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        subject VARCHAR,
        outcome VARCHAR NOT NULL,
        detail JSON
    );
    CREATE TABLE settings (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    );
    INSERT INTO settings VALUES ('due_day.月度', '10'), ('due_day.季度', '15'), ('due_day.年度', '31');
    """),
    (2, "region edits made on the web, replayed over targets/ by init", """
    CREATE SEQUENCE region_edit_seq;
    CREATE TABLE region_edits (
        edit_id INTEGER PRIMARY KEY DEFAULT nextval('region_edit_seq'),
        applied_at TIMESTAMP NOT NULL,
        applied_by VARCHAR,
        code VARCHAR NOT NULL,
        change VARCHAR NOT NULL,          -- 新增 | 修改 | 停用
        region JSON                       -- the region as applied (NULL for 停用)
    );
    """),
    (3, "reporting cycle: who reports what, how targets judge, targets known from issue date", """
    -- Who reports each indicator in a jurisdiction (targets/plans/*.yaml `reporting`); an
    -- indicator not listed is reported by the jurisdiction's units (its leaf regions).
    CREATE TABLE reporting (
        jurisdiction_code VARCHAR NOT NULL,
        indicator_code VARCHAR NOT NULL,
        reported_by VARCHAR NOT NULL,     -- units | self | every_level
        reason VARCHAR NOT NULL,
        PRIMARY KEY (jurisdiction_code, indicator_code)
    );
    ALTER TABLE targets ADD COLUMN judge VARCHAR;
    UPDATE targets SET judge = CASE
        WHEN timing IN ('year', 'deadline')
             AND (SELECT kind FROM indicators i WHERE i.code = targets.indicator_code) = 'count'
        THEN 'reach' ELSE 'hold' END;
    -- A target (or baseline) first loaded from a plan file is known from the plan's issue date.
    UPDATE targets SET valid_from = (SELECT p.issued::TIMESTAMP FROM plans p WHERE p.code = targets.plan_code)
    WHERE origin LIKE 'targets/%'
      AND target_id IN (SELECT min(target_id) FROM targets GROUP BY target_key)
      AND (SELECT p.issued FROM plans p WHERE p.code = targets.plan_code) IS NOT NULL
      AND (SELECT p.issued::TIMESTAMP FROM plans p WHERE p.code = targets.plan_code) < valid_from;
    UPDATE baselines SET valid_from = (SELECT p.issued::TIMESTAMP FROM plans p WHERE p.code = baselines.plan_code)
    WHERE origin LIKE 'targets/%'
      AND baseline_id IN (SELECT min(baseline_id) FROM baselines GROUP BY baseline_key)
      AND (SELECT p.issued FROM plans p WHERE p.code = baselines.plan_code) IS NOT NULL
      AND (SELECT p.issued::TIMESTAMP FROM plans p WHERE p.code = baselines.plan_code) < valid_from;
    -- The share of owing units a roll-up needs complete before it is rated (1 = all).
    INSERT INTO settings VALUES ('rollup.min_share', '1');
    """),
    (4, "figures computed when data changes (pipelines/metrics/figure_table.py)", """
    -- One row per (region, indicator, figure period, view basis): the figure a view shows,
    -- judged. snapshot_id 0 is the present; a frozen meeting replay has its own id.
    CREATE TABLE figures (
        snapshot_id INTEGER NOT NULL,
        region_code VARCHAR NOT NULL, indicator_code VARCHAR NOT NULL,
        figure_period VARCHAR NOT NULL, fp_type VARCHAR NOT NULL, fp_year INTEGER NOT NULL,
        fp_end INTEGER NOT NULL, view_basis VARCHAR NOT NULL, parent_code VARCHAR,
        row_kind VARCHAR, judged_on VARCHAR,
        numerator DOUBLE, denominator DOUBLE, actual DOUBLE, value_source VARCHAR,
        complete BOOLEAN, months_covered DOUBLE, months_expected DOUBLE, last_month DOUBLE,
        missing_months VARCHAR,
        reporters INTEGER, expected_reporters INTEGER, partial_reporters INTEGER,
        target DOUBLE, comparator VARCHAR, tier VARCHAR, target_scope VARCHAR, target_plan VARCHAR,
        target_source VARCHAR, target_deadline DATE, target_basis VARCHAR, judge VARCHAR,
        standing BOOLEAN, gap DOUBLE, completion DOUBLE, status VARCHAR, rated BOOLEAN,
        tolerance DOUBLE, rank DOUBLE, rank_of DOUBLE, rank_ties DOUBLE, streak INTEGER,
        baseline DOUBLE, expected DOUBLE, on_track BOOLEAN, forecast DOUBLE,
        needed_per_month DOUBLE, months_left DOUBLE, own_actual DOUBLE, own_complete BOOLEAN
    );
    -- The years each jurisdiction's figures are kept for, per snapshot.
    CREATE TABLE figure_coverage (
        snapshot_id INTEGER NOT NULL, jurisdiction_code VARCHAR NOT NULL,
        year_from INTEGER NOT NULL, year_to INTEGER NOT NULL, built_at TIMESTAMP NOT NULL,
        PRIMARY KEY (snapshot_id, jurisdiction_code)
    );
    -- What changed since the figures were last refreshed (written in the change's own
    -- transaction); while a mark stands, readers of that jurisdiction and indicator compute.
    CREATE TABLE figure_dirty (
        jurisdiction_code VARCHAR NOT NULL, indicator_code VARCHAR,   -- NULL: every indicator
        region_code VARCHAR,                                           -- NULL: every region
        year INTEGER,                                                  -- NULL: every year
        marked_at TIMESTAMP NOT NULL
    );
    -- Frozen replays of a moment (a meeting): their figures are kept under their id.
    CREATE SEQUENCE figure_snapshot_seq START 1;
    CREATE TABLE figure_snapshots (
        snapshot_id INTEGER PRIMARY KEY DEFAULT nextval('figure_snapshot_seq'),
        as_of TIMESTAMP NOT NULL UNIQUE, created_at TIMESTAMP NOT NULL
    );
    """),
    (5, "accounts on the web (forced password change, session generation, e-mail); region contacts and reminders", """
    -- must_change_password: an initial or reset password, to be replaced at the next login.
    -- session_gen: bumped by a password change, a reset or a disable; a session signed with an
    -- older generation is refused everywhere (dashboards/security.py).
    ALTER TABLE users ADD COLUMN must_change_password BOOLEAN DEFAULT FALSE;
    ALTER TABLE users ADD COLUMN session_gen INTEGER DEFAULT 0;
    ALTER TABLE users ADD COLUMN email VARCHAR;
    UPDATE users SET must_change_password = FALSE, session_gen = 0;
    -- Who to call about a region's returns (联系人, 电话, 邮箱), maintained like the region tree.
    CREATE TABLE region_contacts (
        region_code VARCHAR PRIMARY KEY,
        contact VARCHAR, phone VARCHAR, email VARCHAR,
        updated_at TIMESTAMP NOT NULL, updated_by VARCHAR
    );
    -- Reminder e-mails sent: at most one per region, frequency, period and kind (before/after).
    CREATE TABLE reminders_sent (
        region_code VARCHAR NOT NULL, frequency VARCHAR NOT NULL, period VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,            -- before | after (the deadline)
        due_date DATE NOT NULL, recipients VARCHAR NOT NULL, sent_at TIMESTAMP NOT NULL,
        PRIMARY KEY (region_code, frequency, period, kind)
    );
    INSERT INTO settings VALUES ('reminder.days_before', '3'), ('reminder.days_after', '3');
    """),
    (6, "bulletin settings per jurisdiction (pipelines/bulletin/settings.py validates them)", """
    -- 发文机关, 机关代字 of the 发文字号, 抄送机关 (separated by '，'), 印发机关, and the days
    -- after the 成文日期 by which units report their 整改 back. Keys: bulletin.<code>.<name>.
    INSERT INTO settings VALUES
      ('bulletin.331081.authority', '温岭市医疗保障局'),
      ('bulletin.331081.doc_prefix', '温医保发'),
      ('bulletin.331081.cc', '温岭市人民政府办公室，台州市医疗保障局'),
      ('bulletin.331081.printer', '温岭市医疗保障局办公室'),
      ('bulletin.331081.report_days', '15'),
      ('bulletin.350900.authority', '宁德市医疗保障局'),
      ('bulletin.350900.doc_prefix', '宁医保发'),
      ('bulletin.350900.cc', '宁德市人民政府办公室，福建省医疗保障局'),
      ('bulletin.350900.printer', '宁德市医疗保障局办公室'),
      ('bulletin.350900.report_days', '15'),
      ('bulletin.350102.authority', '福州市鼓楼区医疗保障局'),
      ('bulletin.350102.doc_prefix', '鼓医保'),
      ('bulletin.350102.cc', '鼓楼区人民政府办公室，福州市医疗保障局'),
      ('bulletin.350102.printer', '福州市鼓楼区医疗保障局办公室'),
      ('bulletin.350102.report_days', '10'),
      ('bulletin.431000.authority', '郴州市医疗保障局'),
      ('bulletin.431000.doc_prefix', '郴医保发'),
      ('bulletin.431000.cc', '郴州市人民政府办公室，湖南省医疗保障局'),
      ('bulletin.431000.printer', '郴州市医疗保障局办公室'),
      ('bulletin.431000.report_days', '15'),
      ('bulletin.370800.authority', '济宁市医疗保障局'),
      ('bulletin.370800.doc_prefix', '济医保字'),
      ('bulletin.370800.cc', '济宁市人民政府办公室，山东省医疗保障局'),
      ('bulletin.370800.printer', '济宁市医疗保障局办公室'),
      ('bulletin.370800.report_days', '15');
    """),
    (7, "review of accepted submissions by the parent level (pipelines/review.py)", """
    -- One row per decided submission: an accepted submission without a row is 待审核.
    -- Submissions accepted before this migration count as 通过 (marked here, reviewer 系统迁移).
    CREATE TABLE submission_reviews (
        submission_id BIGINT PRIMARY KEY,
        decision VARCHAR NOT NULL,            -- approved | returned
        reviewer VARCHAR NOT NULL,
        comment VARCHAR,
        decided_at TIMESTAMP NOT NULL
    );
    -- A corrected upload of the same regions and periods as a returned one links to it.
    CREATE TABLE submission_corrections (
        submission_id BIGINT PRIMARY KEY,     -- the corrected upload
        corrects_id BIGINT NOT NULL,          -- the returned submission it answers
        linked_at TIMESTAMP NOT NULL
    );
    INSERT INTO submission_reviews
    SELECT submission_id, 'approved', '系统迁移', '审核功能启用前已接收的报送，视为通过', now()::TIMESTAMP
    FROM submissions WHERE status = 'accepted';
    """),
    (8, "review in the figures: unreviewed marks, reviewed-only figures, value confirmations", """
    -- A value an upload sent again unchanged (no new revision) is confirmed by that upload:
    -- approving the upload approves the value (metrics: reviewed_only, unreviewed).
    CREATE TABLE value_confirmations (
        submission_id BIGINT NOT NULL,
        value_id BIGINT NOT NULL,
        PRIMARY KEY (submission_id, value_id)
    );
    -- figures.unreviewed: a value counted in the figure is not (yet) approved (待审核 or 退回).
    ALTER TABLE figures ADD COLUMN unreviewed BOOLEAN;
    -- Submissions approved by migration 7 count as approved since their upload, so that a
    -- replayed moment does not show them as unreviewed.
    UPDATE submission_reviews AS r SET decided_at = s.uploaded_at
    FROM submissions s WHERE s.submission_id = r.submission_id AND r.reviewer = '系统迁移';
    -- The bulletin counts approved values only (Metrics(reviewed_only=True)) unless set to false.
    INSERT INTO settings VALUES ('bulletin.reviewed_only', 'true');
    -- Every figure is recomputed with its mark (and frozen snapshots, which lack it, dropped).
    DELETE FROM figures WHERE snapshot_id <> 0;
    DELETE FROM figure_coverage WHERE snapshot_id <> 0;
    DELETE FROM figure_snapshots;
    INSERT INTO figure_dirty SELECT code, NULL, NULL, NULL, now()::TIMESTAMP FROM regions
    WHERE parent_code IS NULL;
    """),
    (9, "period locks with admin unlocks; answers to warnings (pipelines/workflow/period_locks.py, warning_answers.py)", """
    -- A period locks lock_days.<频度> days after its deadline (no setting: never locks). An
    -- admin's unlock lets one region (and, with subtree, the regions below it) change one
    -- period until expires_at; revoked_at ends it early.
    CREATE SEQUENCE unlock_seq;
    CREATE TABLE period_unlocks (
        unlock_id BIGINT PRIMARY KEY DEFAULT nextval('unlock_seq'),
        region_code VARCHAR NOT NULL,
        period VARCHAR NOT NULL,              -- 2024-03 | 2024Q1 | 2024: covers the periods within it
        subtree BOOLEAN NOT NULL,
        reason VARCHAR NOT NULL,
        expires_at TIMESTAMP NOT NULL,
        granted_by VARCHAR NOT NULL,
        granted_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP,
        revoked_by VARCHAR
    );
    -- The 说明 answering a warning of an accepted submission (from the row's 备注 or the upload page).
    CREATE TABLE warning_answers (
        submission_id BIGINT NOT NULL,
        kind VARCHAR NOT NULL,                -- rate_jump | den_swing | stock_fall | outlier_history | outlier_peers
        sheet VARCHAR,
        cell VARCHAR,
        region_code VARCHAR,
        indicator_code VARCHAR,
        period VARCHAR,
        warning VARCHAR NOT NULL,
        answer VARCHAR NOT NULL,
        source VARCHAR NOT NULL,              -- note (备注 column) | page (upload page)
        answered_by VARCHAR NOT NULL,
        answered_at TIMESTAMP NOT NULL
    );
    INSERT INTO settings VALUES ('outlier.threshold', '3.5'), ('outlier.min_points', '6');
    """),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def connect(path: str | os.PathLike = DEFAULT_DB, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, turning DuckDB's lock error into a message that says what to do."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"数据仓库 {path} 不存在：请先运行 python -m pipelines init --db {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                f"数据仓库 {path} 正被另一个进程占用（通常是正在运行的看板服务 app.py）。"
                "请通过网页“报送”页面或 POST /api/returns 提交，或先停止该服务后再运行此命令。"
            ) from exc
        raise


@contextmanager
def transaction(con):
    """`with transaction(con):` — BEGIN, the block, COMMIT; ROLLBACK and re-raise when the
    block (or the commit) fails, whatever the exception (a kill or Ctrl-C included)."""
    con.execute("BEGIN")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations in order, each in its own transaction. Returns those applied."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "description VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)")
    done = {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}
    applied = []
    for version, description, sql in MIGRATIONS:
        if version in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)",
                        [version, description])
        applied.append(version)
    return applied


def first_row(result):
    """The first row of a query result (None when there is none), the result read to its end:
    a result left open blocks `register` on the same connection (DuckDB 2)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, subject: str | None,
          outcome: str, detail: dict | None = None) -> None:
    """Append one line to the audit log (never updated or deleted by the app)."""
    audit_many(con, [(actor, action, subject, outcome, detail)])


def audit_many(con: duckdb.DuckDBPyConnection, lines: list[tuple]) -> None:
    """Append lines (actor, action, subject, outcome, detail) to the audit log, in one statement."""
    import json
    if not lines:
        return
    cols = list(zip(*[(a, b, c, d, json.dumps(e or {}, ensure_ascii=False)) for a, b, c, d, e in lines]))
    con.execute(
        "INSERT INTO audit_log (logged_at, actor, action, subject, outcome, detail) "
        "SELECT now()::TIMESTAMP, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
        "unnest(?::VARCHAR[]), unnest(?::VARCHAR[])", [list(c) for c in cols])


def database_file(con) -> Path | None:
    """The file of the connection's main database (None: in memory)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal "
                       "AND path IS NOT NULL").fetchall()
    return Path(rows[0][0]) if rows else None


def setting_or_create(con, key: str, make) -> str:
    """The value of setting `key`, created as `make()` the first time it is asked for."""
    row = first_row(con.execute("SELECT value FROM settings WHERE key = ?", [key]))
    if row:
        return row[0]
    value = make()
    con.execute("INSERT INTO settings VALUES (?, ?)", [key, value])
    return value


def subtree(con, code: str) -> set[str]:
    """`code` and every region below it (active or not)."""
    rows = con.execute(
        "WITH RECURSIVE sub(code) AS (SELECT ?::VARCHAR UNION ALL "
        "SELECT r.code FROM regions r JOIN sub ON r.parent_code = sub.code) "
        "SELECT code FROM sub", [code]).fetchall()
    return {r[0] for r in rows}
