"""Local stand-ins of the LLM services and notification receivers, for the tests and the bench.

They answer with the shapes the real services send (recorded under tests/fixtures/llm/) and
import nothing from `tests` or `bench`, so both can use them without importing each other.
"""
