//! The query builders both backends use as they are: each value bound, `$n`
//! placeholders (both dialects accept them), generic over sqlx's database.

use sqlx::QueryBuilder;

use crate::db::binds::Binds;

use super::{DoraScope, EventFilter, Order, Page};

/// `WHERE` terms for `filter` on the table aliased `e`, each value bound.
/// Starts with ` AND `, so it follows a `WHERE TRUE` or another term.
pub(crate) fn push_filter<DB: Binds>(qb: &mut QueryBuilder<DB>, filter: &EventFilter) {
    if let Some(from) = filter.from_ms {
        qb.push(" AND e.time_ms >= ");
        DB::bind_i64(qb, from);
    }
    if let Some(to) = filter.to_ms {
        qb.push(" AND e.time_ms < ");
        DB::bind_i64(qb, to);
    }
    if let Some(actor) = &filter.actor {
        qb.push(" AND e.actor = ");
        DB::bind_text(qb, actor.clone());
    }
    if let Some(service) = &filter.service {
        qb.push(" AND e.service = ");
        DB::bind_text(qb, service.clone());
    }
    if let Some(environment) = &filter.environment {
        qb.push(" AND e.environment = ");
        DB::bind_text(qb, environment.clone());
    }
    push_kinds(qb, &filter.kinds);
}

fn push_kinds<DB: Binds>(qb: &mut QueryBuilder<DB>, kinds: &[String]) {
    match kinds {
        [] => {}
        [one] => {
            qb.push(" AND e.kind = ");
            DB::bind_text(qb, one.clone());
        }
        many => {
            qb.push(" AND e.kind IN (");
            for (i, kind) in many.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                DB::bind_text(qb, kind.clone());
            }
            qb.push(")");
        }
    }
}

/// `SELECT <columns> FROM events e WHERE <filter and cursor> ORDER BY ... LIMIT`.
pub(crate) fn list_query<DB: Binds>(
    columns: &str,
    filter: &EventFilter,
    page: &Page,
) -> QueryBuilder<DB> {
    let mut qb = DB::query(format!("SELECT {columns} FROM events e WHERE TRUE"));
    push_filter(&mut qb, filter);
    let (op, direction) = match page.order {
        Order::Ascending => (">", "ASC"),
        Order::Descending => ("<", "DESC"),
    };
    if let Some(cursor) = page.after {
        // Written so that the time index bounds the scan: time first, then the tie.
        qb.push(format!(" AND e.time_ms {op}= "));
        DB::bind_i64(&mut qb, cursor.time_ms);
        qb.push(format!(" AND (e.time_ms {op} "));
        DB::bind_i64(&mut qb, cursor.time_ms);
        qb.push(format!(" OR e.seq {op} "));
        DB::bind_i64(&mut qb, cursor.seq);
        qb.push(")");
    }
    qb.push(format!(
        " ORDER BY e.time_ms {direction}, e.seq {direction} LIMIT "
    ));
    DB::bind_i64(&mut qb, i64::from(page.limit));
    qb
}

/// The first (or last) matching event's time.
pub(crate) fn edge_query<DB: Binds>(filter: &EventFilter, last: bool) -> QueryBuilder<DB> {
    let mut qb = DB::query("SELECT e.time_ms FROM events e WHERE TRUE");
    push_filter(&mut qb, filter);
    qb.push(if last {
        " ORDER BY e.time_ms DESC LIMIT 1"
    } else {
        " ORDER BY e.time_ms ASC LIMIT 1"
    });
    qb
}

pub(crate) fn actors_query<DB: Binds>(filter: &EventFilter) -> QueryBuilder<DB> {
    let mut qb = DB::query(
        "SELECT e.actor AS actor, COUNT(*) AS events, MIN(e.time_ms) AS first_ms, \
         MAX(e.time_ms) AS last_ms FROM events e WHERE e.actor IS NOT NULL",
    );
    push_filter(&mut qb, filter);
    qb.push(" GROUP BY e.actor ORDER BY e.actor");
    qb
}

/// Every distinct kind, by walking the kind index from one kind to the next
/// (a loose index scan): a handful of lookups, however many events there are.
pub(crate) const KINDS_SQL: &str = "WITH RECURSIVE k(kind) AS ( \
       SELECT MIN(kind) FROM events \
       UNION ALL \
       SELECT (SELECT MIN(e.kind) FROM events e WHERE e.kind > k.kind) FROM k WHERE k.kind IS NOT NULL) \
     SELECT kind FROM k WHERE kind IS NOT NULL";

/// The terms of a DORA scope on alias `d`. An incident that names no
/// environment belongs to every environment.
pub(crate) fn push_dora_scope<DB: Binds>(
    qb: &mut QueryBuilder<DB>,
    scope: &DoraScope,
    incidents: bool,
) {
    if let Some(service) = &scope.service {
        qb.push(" AND d.service = ");
        DB::bind_text(qb, service.clone());
    }
    match &scope.environment {
        Some(environment) => {
            qb.push(" AND (d.environment = ");
            DB::bind_text(qb, environment.clone());
            qb.push(if incidents {
                " OR d.environment IS NULL)"
            } else {
                ")"
            });
        }
        None => {
            qb.push(" AND (d.environment = 'production' OR d.environment IS NULL)");
        }
    }
}

/// Results that mean a deployment failed, as SQL (a constant, no input).
const FAILED_RESULT_SQL: &str = "LOWER(COALESCE(r.result, '')) IN ('failure', 'failed', 'error')";

pub(crate) fn deployments_query<DB: Binds>(scope: &DoraScope) -> QueryBuilder<DB> {
    // Redeploy: a successful deployment of the same sha, in the same service
    // and environment, came earlier.
    let mut qb = DB::query(format!(
        "SELECT d.time_ms AS time_ms, d.service AS service, d.sha AS sha, d.result AS result, \
           (SELECT MIN(c.time_ms) FROM events c WHERE c.sha = d.sha \
              AND c.kind IN ('commit', 'stage', 'change_merged') AND c.time_ms <= d.time_ms) \
             AS change_started_ms, \
           EXISTS (SELECT 1 FROM events r WHERE r.sha = d.sha AND r.kind = 'deploy' \
              AND r.time_ms < d.time_ms \
              AND r.service IS NOT DISTINCT FROM d.service \
              AND r.environment IS NOT DISTINCT FROM d.environment \
              AND NOT ({FAILED_RESULT_SQL})) AS redeploy \
         FROM events d WHERE d.kind = 'deploy'"
    ));
    push_dora_scope(&mut qb, scope, false);
    qb.push(" AND d.time_ms >= ");
    DB::bind_i64(&mut qb, scope.from_ms);
    qb.push(" AND d.time_ms < ");
    DB::bind_i64(&mut qb, scope.to_ms);
    qb.push(" ORDER BY d.time_ms, d.seq");
    qb
}

/// The time of `service`'s first successful deployment at or after the
/// window's end (`None`: the deployments that name no service). Read in time
/// order from the window's end and stopped at the first match, rather than
/// over every later deployment.
pub(crate) fn next_deployment_query<DB: Binds>(
    scope: &DoraScope,
    service: Option<&str>,
) -> QueryBuilder<DB> {
    let mut qb = DB::query(format!(
        "SELECT d.time_ms FROM events d WHERE d.kind = 'deploy' AND NOT ({})",
        FAILED_RESULT_SQL.replace("r.result", "d.result")
    ));
    match service {
        Some(service) => {
            qb.push(" AND d.service = ");
            DB::bind_text(&mut qb, service.to_owned());
        }
        None => {
            qb.push(" AND d.service IS NULL");
        }
    }
    let environment_only = DoraScope {
        service: None,
        ..scope.clone()
    };
    push_dora_scope(&mut qb, &environment_only, false);
    qb.push(" AND d.time_ms >= ");
    DB::bind_i64(&mut qb, scope.to_ms);
    qb.push(" ORDER BY d.time_ms LIMIT 1");
    qb
}

pub(crate) fn incidents_query<DB: Binds>(attributes: &str, scope: &DoraScope) -> QueryBuilder<DB> {
    let mut qb = DB::query(format!(
        "SELECT d.id AS id, d.time_ms AS time_ms, d.service AS service, d.kind AS kind, \
           d.sha AS sha, \
           {attributes} AS attributes \
         FROM events d WHERE d.kind IN ('incident_opened', 'incident_resolved')"
    ));
    push_dora_scope(&mut qb, scope, true);
    qb.push(" ORDER BY d.time_ms, d.seq");
    qb
}
