"""Tests of the contract files: AsyncAPI, JSON Schemas, alert rules and the dashboard."""
