"""The browser console: a tenant's admin talks to a secretary with the microphone (see ``docs/streaming.md``).

``GET /console?token=…`` serves the page (HTML, JS, CSS and the AudioWorklet from this package: no CDN, no build
step); the page streams the microphone to ``/api/v1/stream/console?token=…`` and plays what comes back. The token
is minted by ``POST /api/v1/domains/{domain}/secretaries/{id}/console-token`` (:mod:`.tokens`). The routes are in
:mod:`.routes` (``install(app)``).
"""
