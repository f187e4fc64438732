"""Service metrics and the dashboard (issue 16): facts from what horseshoe sees, figures from the
hourly rollup, charts drawn server-side, the same figures as JSON at ``/api/metrics``."""
