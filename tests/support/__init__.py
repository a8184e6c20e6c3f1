"""Test infrastructure shared across test packages: network fault injection and polling."""
