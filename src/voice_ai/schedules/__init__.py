"""Opening hours and holidays: schedules (ours or FusionPBX time conditions), evaluated per call (docs/opening-hours.md)."""
