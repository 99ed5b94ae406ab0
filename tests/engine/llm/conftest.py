"""Fixtures for the language-model adapter tests."""

from tests.fakes.llm_fixtures import fake_llm  # noqa: F401
