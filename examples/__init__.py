"""Example services for Parity: one learning-platform API, served by a Flask monolith and
by its Starlette rewrite, with a few deliberate divergences for Parity to find."""
