"""HTTP handlers of the public API; `router.app` mounts them under /v1 and /api/v1."""
