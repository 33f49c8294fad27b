"""A tenant's HTTP tools: what the LLM may call during a call turn (check an appointment, open a ticket, look up an
order), and how such a call is made safe.

- :mod:`~voice_ai.tools.spec`: a tool as a turn sees it (its secrets already decrypted) and the checks of its
  parameter schema;
- :mod:`~voice_ai.tools.urls`: which addresses a tool may reach (public ones; others only when the operator
  allows their networks), checked on every call against the address really connected to;
- :mod:`~voice_ai.tools.executor`: one bounded HTTP call (time, response size, no redirects);
- :mod:`~voice_ai.tools.toolbox`: what a turn hands to the LLM: the tools, the per-turn bounds (calls, time), the
  model's arguments checked against each tool's schema, and the log stored with the turn.

The LLM vendors with function calling (OpenAI and compatible servers, Anthropic, Gemini) drive the loop in
their own protocol; the built-in dialog policy never calls a tool. See ``docs/tools.md``.
"""
