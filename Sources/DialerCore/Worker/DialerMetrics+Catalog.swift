extension DialerMetrics {
    /// Every metric the dialer exports, with its `# HELP` text: the Prometheus backend reads it when it creates a
    /// metric, so every family is described (dashboards show it, `promtool check metrics` asks for it). The README's
    /// metrics table says the same.
    public static let catalog: [String: String] = [
        "dialer_jobs_claimed_total": "Jobs claimed by this process.",
        "dialer_jobs_dialed_total": "Jobs whose call Twilio created: accepted with 201 (path=dial) or found by reconciliation (path=reconcile).",
        "dialer_jobs_failed_total": "Jobs that ended failed, by OpenPhn error code.",
        "dialer_jobs_deferred_total": "Gate deferrals (no attempt spent), by OpenPhn error code.",
        "dialer_jobs_retried_total": "Retries scheduled, by failure class.",
        "dialer_jobs_in_doubt_total": "Dial attempts that may have reached Twilio (reconciled before any re-dial).",
        "dialer_jobs_released_total": "Claimed jobs handed back before dialing (attempt refunded), by reason.",
        "dialer_outcomes_fenced_total": "Late outcome writes of a worker that had lost the lease, ignored.",
        "dialer_twilio_request_duration_seconds": "Twilio Create Call request time, by response class.",
        "dialer_dials_in_flight": "Claimed jobs this process is working on (gate, pacing wait, dial, record).",
        "dialer_pacing_waits_total": "Waits for a subaccount's next dial slot.",
        "dialer_pacing_wait_seconds": "Time spent waiting for a subaccount's dial slot.",
        "dialer_queue_jobs": "Unfinished jobs by state, as last read from the database (the same on every worker: aggregate with max).",
        "dialer_queue_oldest_due_age_seconds": "Age of the oldest job due and not yet claimed, as last read from the database.",
        "dialer_queue_paused_scopes": "Paused tenants and campaigns, as last read from the database.",
        "dialer_lease_recoveries_total": "Expired leases taken back into in_doubt (a worker died or hung).",
        "dialer_reconciliations_total": "Lookups at Twilio of in-doubt jobs, by result.",
        "dialer_claim_errors_total": "Claim statements that failed.",
        "dialer_retention_pruned_total": "Rows deleted by retention, by table.",
        "dialer_retention_last_run_timestamp_seconds": "Unix time this process last finished a retention pass.",
        "dialer_ready": "1 while /readyz would answer 200, else 0.",
        "dialer_call_outcomes_total": "Calls whose final status was applied to their job, by result (human, unknown, completed, machine, busy, no_answer, failed, canceled).",
        "dialer_settlements_total": "What the campaign policy made of each call outcome, by decision (contact, retry, exhausted, not_retried, invalid_number, declined, canceled, expired).",
        "dialer_outcome_lookups_total": "Sweeper lookups of calls with no final callback past their deadline, by result (stored, final, in_progress, unreachable).",
        "dialer_outcomes_overdue": "Jobs waiting for a call outcome past their deadline (no final callback), as last read from the database.",
        "dialer_opt_outs_total": "Opt-outs the AI agent reported to dialer serve (POST /v1/opt-outs), by result (recorded, refused: bad token or body, error).",
        "dialer_opt_out_cancelled_jobs_total": "Waiting jobs cancelled by opt-outs reported to dialer serve.",
        "dialer_status_callbacks_total": "Twilio status callbacks answered by dialer serve, by result (stored, duplicate, bad_signature, malformed, error).",
    ]
}
