// The worker's operations surface: the ops HTTP server (/metrics, /healthz, /readyz), the metrics bootstrap and the
// JSON log handler.
