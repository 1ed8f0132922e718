"""Collection channels beside the HTTP API: the XLSForm for ODK Collect / KoboCollect and the
reading of those platforms' submission exports (files go through the one ingest contract)."""
