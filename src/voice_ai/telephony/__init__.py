"""Telephony integration assets and helpers (FreeSWITCH Lua call flow, sounds, dialplan templates)."""
