"""The Flask shell: app factory, API and control blueprints, media route, fast path,
body parsing."""
