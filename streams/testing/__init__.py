"""Test doubles we ship: protocol-faithful local servers for the external services memlane calls."""
